/**
 * Faults between real agents and real fleet processes, each ending with every sample stored
 * exactly once in PostgreSQL (ids 1..n of each agent's instance, none twice):
 *   (a) an agent's uplink is cut for a while (a TCP proxy in front of Mosquitto refuses it),
 *       its backlog grows, and it replays the backlog when the uplink is back;
 *   (b) one of the two fleet processes sharing the subscription is killed with SIGKILL while
 *       batches flow: the other carries on, and what the killed one had received and not
 *       committed is resent by the agents from their confirmed id (`confirmTimeoutS`).
 * All along, each agent's retention (a tiny `retainDays`) deletes confirmed samples and never an
 * unconfirmed one: the agents' buffers are polled read-only for it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquitto, MOSQUITTO_URL, postgres, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { dropSchema, PG_TEST_URL, testSchema } from '../helpers/fleet-messages.ts';
import { endSession } from '../helpers/fleet-peers.ts';
import type { AgentChild } from './agent-child.ts';
import { startUplink, type Uplink } from './forward-helpers.ts';
import { agentBuffer, agentHealth, expectExactlyOnce, FleetChild, mqttClient, RetentionWatch, startAgent, waitConfirmed, type SiteSetup } from './fleet-agents-helpers.ts';
import { freePort } from './fleet-agents-ports.ts';

const SITES = ['site-1', 'site-2'];

let ready = false;
beforeAll(async () => {
  ready = (await mosquitto()).available && (await postgres()).available;
  if (!ready && process.env.CI === 'true') throw new Error('Mosquitto and PostgreSQL are required in CI');
});

describe('faults between agents and fleet processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-fleet-faults-'));
  const prefix = uniqueTopicPrefix('fleet-faults');
  const sourcePrefix = uniqueTopicPrefix('fleet-faults-src');
  const schema = testSchema('faults');
  const group = `g${Math.random().toString(36).slice(2, 10)}`;
  const fleetId = `ff-${process.pid}`;
  const agents: { s: SiteSetup; child: AgentChild; port: number; watch: RetentionWatch; instance: string }[] = [];
  const fleets = new Map<string, FleetChild>();
  const ports = new Map<string, number>();
  let uplink: Uplink | undefined;
  let db: pg.Client | undefined;
  /** samples published into each agent so far */
  let published = 0;

  const startFleet = (w: string): FleetChild => {
    const f = new FleetChild({ id: `${fleetId}-${w}`, brokerUrl: MOSQUITTO_URL, prefix, group, dataDir: join(dir, `fleet-${w}`), dbUrl: PG_TEST_URL, schema, port: ports.get(w) as number });
    fleets.set(w, f);
    return f;
  };

  /** `n` live readings (dated now: a tiny retainDays refuses older ones) of both machines into every agent */
  let tick = 0;
  const publish = async (n: number): Promise<void> => {
    const src = await mqttClient(MOSQUITTO_URL);
    try {
      for (let k = 0; k < n; k++, tick++) {
        for (const site of SITES) {
          for (const m of ['m1', 'm2']) {
            const reading = { ts: Date.now(), energy: tick / 10, total: tick, scrap: Math.floor(tick / 9), state: tick % 30 < 20 ? 'running' : 'idle' };
            await src.publishAsync(`${sourcePrefix}/${site}/${m}/telemetry`, JSON.stringify(reading), { qos: 1 });
          }
        }
      }
    } finally {
      await src.endAsync();
    }
    published += n * 2 * 4;
  };

  const committed = async (n: number): Promise<void> => {
    for (const a of agents) await waitFor(() => agentBuffer(a.s.dir).lastId === n, 20_000, `${a.s.site} committed ${n}`, 100);
  };

  afterAll(async () => {
    for (const a of agents) {
      a.watch.stop();
      await a.child.exitAfter('SIGTERM');
    }
    for (const f of fleets.values()) await f.kill('SIGTERM');
    await uplink?.close();
    await db?.end();
    if (ready) {
      for (const w of ['a', 'b']) await endSession(`${fleetId}-${w}`);
      const c = await mqttClient(MOSQUITTO_URL);
      for (const site of SITES) for (const t of ['status', 'plant', 'confirm']) await c.publishAsync(`${prefix}/${site}/edge-${site}/${t}`, '', { qos: 1, retain: true });
      await c.endAsync();
      await dropSchema(schema);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    if (!ready) return;
    for (const w of ['a', 'b']) ports.set(w, await freePort());
    startFleet('a');
    startFleet('b');
    await waitFor(async () => (await fleets.get('a')?.healthy()) && (await fleets.get('b')?.healthy()), 60_000, 'both fleets healthy', 200);
    uplink = await startUplink({ host: '127.0.0.1', port: Number(new URL(MOSQUITTO_URL).port || 1883) }, true);
    const started = await Promise.all(
      SITES.map((site, i) => {
        const upstreamUrl = i === 0 ? `mqtt://127.0.0.1:${uplink?.port}` : MOSQUITTO_URL;
        const s: SiteSetup = { site, agent: `edge-${site}`, dir: join(dir, site), upstreamUrl, prefix, sourceUrl: MOSQUITTO_URL, sourcePrefix, confirmTimeoutS: 2, retainDays: 0.00005, batchSize: 20 };
        return startAgent(s).then((r) => ({ s, ...r }));
      }),
    );
    for (const a of started) {
      await waitFor(async () => ((await agentHealth(a.port)) as unknown as { sources: { state: string }[] }).sources[0]?.state === 'connected', 20_000, 'source connected', 100);
      const watch = new RetentionWatch(a.s.dir);
      watch.start();
      agents.push({ ...a, watch, instance: agentBuffer(a.s.dir).instance });
    }
    db = new pg.Client({ connectionString: PG_TEST_URL });
    await db.connect();
  }, 90_000);

  const expectAllOnce = async (): Promise<void> => {
    for (const a of agents) await waitConfirmed(a.port, published, 40_000, `${a.s.site} confirmed ${published}`);
    for (const a of agents) await expectExactlyOnce(db as pg.Client, schema, a.instance, published, a.s.site);
    for (const a of agents) expect(a.watch.violations, a.s.site).toEqual([]);
  };

  it('(a) an agent replays its backlog after its uplink was down', { timeout: 60_000 }, async ({ skip }) => {
    if (!ready) skip();
    await publish(60);
    await committed(published);
    uplink?.down();
    await publish(60);
    await committed(published);
    // the cut agent holds its backlog, unconfirmed, while the other is confirmed to the end
    const cut = agents[0] as (typeof agents)[number];
    await waitConfirmed(agents[1]?.port as number, published, 20_000, 'the connected agent confirmed');
    // retention ticks while the backlog, unconfirmed, grows older than retainDays (~4 s)
    await new Promise((r) => setTimeout(r, 6000));
    const h = await agentHealth(cut.port);
    expect(h.upstream.state).not.toBe('connected');
    expect(h.upstream.confirmedId ?? 0).toBeLessThan(published);
    expect(agentBuffer(cut.s.dir).count).toBeGreaterThanOrEqual(published - (h.upstream.confirmedId ?? 0));
    uplink?.up();
    await expectAllOnce();
    // retention did delete: what was confirmed, only that
    for (const a of agents) expect(a.watch.deletedUpTo, a.s.site).toBeGreaterThan(0);
    for (const a of agents) expect(a.watch.checks).toBeGreaterThan(20);
  });

  it('(b) a fleet process killed with SIGKILL mid-stream: the other carries on', { timeout: 60_000 }, async ({ skip }) => {
    if (!ready) skip();
    const before = published;
    const publishing = publish(300);
    // killed while batches flow to both
    await waitFor(async () => ((await agentHealth(agents[1]?.port as number)).upstream.confirmedId ?? 0) > before + 200, 20_000, 'batches flowing', 20);
    await fleets.get('a')?.kill('SIGKILL');
    await publishing;
    await committed(published);
    await expectAllOnce();
    expect(fleets.get('a')?.proc.signalCode).toBe('SIGKILL');
    expect(await fleets.get('b')?.healthy()).toBe(true);
  });
});
