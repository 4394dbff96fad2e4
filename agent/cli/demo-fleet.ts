/**
 * `npm run demo:fleet`: the fleet on one machine. Three simulated sites (the demo plant of
 * config/demo.yaml with a seed, a site id and ports of their own, each an agent with `upstream`
 * set and `confirm: fleet`), an embedded MQTT broker (aedes, as the demo plant uses; MQTT 3.1.1
 * without shared subscriptions, so one fleet process) and the fleet with its embedded default
 * store (SQLite in the data folder). Prints the fleet dashboard's URL; SIGTERM or Ctrl-C stops
 * everything and exits 0.
 *
 *   node agent/cli/run-ts.mjs agent/cli/demo-fleet.ts [--data DIR] [--fleet-port 8090] [--port-base 8100]
 *
 * Ports: site n (1..3) serves HTTP on base+n, its demo plant OPC UA on base+10+n and MQTT on
 * base+20+n; the central broker listens on base+30.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import { parse, stringify } from 'yaml';
import { loadConfigText } from '../../config/index.ts';
import { loadFleetConfigText } from '../../config/fleet-schema.ts';
import { Fleet } from '../fleet/index.ts';
import { Agent } from '../runtime/agent.ts';
import { createLogger } from '../runtime/logger.ts';
import { startDemoPlant } from './simulator-hook.ts';
import { backfillDemoHistory } from './demo-history.ts';

export const DEMO_FLEET_DEFAULTS = { data: './data/demo-fleet', fleetPort: 8090, portBase: 8100, sites: 3, seed: 42, topicPrefix: 'shopfloor' } as const;

const DEMO_YAML = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));

/** The demo plant's config for site n: its own ids, seed, ports and data folder, forwarding upstream. */
export function siteConfigText(n: number, o: { data: string; portBase: number; brokerUrl: string }): string {
  const c = parse(readFileSync(DEMO_YAML, 'utf8')) as Record<string, Record<string, unknown> & { [k: string]: unknown }>;
  const opcuaPort = o.portBase + 10 + n;
  const mqttPort = o.portBase + 20 + n;
  const agentId = `demo-edge-${n}`;
  c.site = { ...c.site, id: `demo-site-${n}`, name: `Demo site ${n}` };
  c.agent = { ...c.agent, id: agentId, dataDir: join(o.data, `site-${n}`) };
  c.http = { ...c.http, host: '127.0.0.1', port: o.portBase + n };
  // the sources that read the demo plant point at its ports: they move with the site's ports
  const sim = c.simulator as { opcuaPort: number; mqttPort: number };
  const moved = new Map([
    [`opc.tcp://127.0.0.1:${sim.opcuaPort}`, `opc.tcp://127.0.0.1:${opcuaPort}`],
    [`mqtt://127.0.0.1:${sim.mqttPort}`, `mqtt://127.0.0.1:${mqttPort}`],
  ]);
  c.simulator = { ...c.simulator, opcuaPort, mqttPort, seed: DEMO_FLEET_DEFAULTS.seed + 1000 * n };
  const sources = c.sources as unknown as Record<string, unknown>[];
  for (const s of sources) {
    for (const key of ['endpoint', 'url'] as const) {
      const to = typeof s[key] === 'string' ? moved.get(s[key]) : undefined;
      if (to === undefined) continue;
      s[key] = to;
      // an MQTT source's client id must differ between the three sites on one broker
      if (key === 'url') s.clientId = `${agentId}-${String(s.id)}`;
    }
  }
  c.upstream = { url: o.brokerUrl, topicPrefix: DEMO_FLEET_DEFAULTS.topicPrefix, clientId: agentId, confirm: 'fleet', kpiIntervalS: 60 };
  return stringify(c);
}

export function fleetConfigText(o: { data: string; fleetPort: number; brokerUrl: string }): string {
  return stringify({
    fleet: { id: 'demo-fleet', dataDir: join(o.data, 'fleet'), logLevel: 'warn' },
    // aedes speaks MQTT 3.1.1 and has no shared subscriptions: one fleet process
    broker: { url: o.brokerUrl, topicPrefix: DEMO_FLEET_DEFAULTS.topicPrefix, mqttVersion: 4, shared: false },
    http: { host: '127.0.0.1', port: o.fleetPort },
  });
}

/** The central broker: aedes on a plain TCP port of loopback. */
async function startBroker(port: number): Promise<{ url: string; close(): Promise<void> }> {
  const broker = await Aedes.createBroker({ id: 'shopfloor-demo-fleet' });
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    broker.handle(s);
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, '127.0.0.1', () => res());
  });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((res) => broker.close(() => res()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { data: { type: 'string' }, 'fleet-port': { type: 'string' }, 'port-base': { type: 'string' } } });
  const data = resolve(values.data ?? DEMO_FLEET_DEFAULTS.data);
  const fleetPort = Number(values['fleet-port'] ?? DEMO_FLEET_DEFAULTS.fleetPort);
  const portBase = Number(values['port-base'] ?? DEMO_FLEET_DEFAULTS.portBase);
  const log = createLogger('warn', { name: 'demo-fleet' });
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stoppers.reverse()) await s().catch((err: unknown) => log.error({ err }, 'stopping a part of the demo failed'));
  };
  const stopped = new Promise<NodeJS.Signals>((res) => {
    process.once('SIGTERM', () => res('SIGTERM'));
    process.once('SIGINT', () => res('SIGINT'));
  });
  try {
    const broker = await startBroker(portBase + 30);
    stoppers.push(() => broker.close());
    const fc = loadFleetConfigText(fleetConfigText({ data, fleetPort, brokerUrl: broker.url }), { file: 'demo-fleet.yaml' });
    if (!fc.ok) throw new Error(`fleet config: ${JSON.stringify(fc.problems)}`);
    const fleet = new Fleet(fc.config, log);
    stoppers.push(() => fleet.stop());
    await fleet.start();
    for (let n = 1; n <= DEMO_FLEET_DEFAULTS.sites; n++) {
      const res = loadConfigText(siteConfigText(n, { data, portBase, brokerUrl: broker.url }), { file: `demo-site-${n}.yaml` });
      if (!res.ok) throw new Error(`site ${n} config: ${JSON.stringify(res.problems)}`);
      const history = backfillDemoHistory(res.config);
      const agent = new Agent(res.config, log.child({ site: res.config.site.id }), { startSimulator: startDemoPlant });
      stoppers.push(() => agent.stop());
      const { httpPort } = await agent.start();
      process.stdout.write(`site ${res.config.site.id}: agent on http://127.0.0.1:${httpPort}${history > 0 ? ` (${history} samples of history from the demo plant's model)` : ''}\n`);
    }
    process.stdout.write(`fleet dashboard: http://127.0.0.1:${fleet.port}/ (broker ${broker.url}, store ${join(data, 'fleet')})\n`);
  } catch (err) {
    log.fatal({ err }, `the fleet demo did not start: ${(err as Error).message}`);
    await stopAll();
    return 1;
  }
  const sig = await stopped;
  process.stdout.write(`${sig}: stopping the fleet demo\n`);
  await stopAll();
  log.flush();
  return 0;
}

// every part is stopped: nothing left should hold the process (a library timer would keep a demo hanging)
process.exit(await main());
