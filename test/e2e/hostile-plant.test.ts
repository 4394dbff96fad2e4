/**
 * A hostile plant against the real program (a child process) with upstream set, through
 * Mosquitto: timestamps out of range (1e17, negative, a day ahead, not a number), names with
 * wildcards, control characters, 10 kB and empty, 10,000 distinct topic captures, a 5 MB payload
 * and a Sparkplug birth dated at UInt64's maximum. Afterwards the process is alive, every
 * dashboard route answers 200, the real machine's tile shows its real state, forwarding drains
 * the backlog and no upstream topic carries a wildcard — and the same after a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { SparkplugCodec } from '../../drivers/sparkplug/index.ts';
import { MOSQUITTO_URL, mosquitto, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { Recorder } from './forward-helpers.ts';

const broker = await mosquitto();
const CLI = fileURLToPath(new URL('../../agent/cli/shopfloor-agent.mjs', import.meta.url));
const CAPTURES = 10_000;
const UINT64_MAX = { low: -1, high: -1, unsigned: true };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

describe.skipIf(!broker.available)('a hostile plant (agent in its own process, upstream set)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-hostile-plant-'));
  const prefix = uniqueTopicPrefix('hostile-plant');
  const upPrefix = uniqueTopicPrefix('hostile-up');
  const group = `sfa-hp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const recorder = new Recorder(MOSQUITTO_URL, upPrefix);
  let child: ChildProcess | undefined;
  let stderr = '';
  let base = '';
  let pub: mqtt.MqttClient;

  async function startAgent(): Promise<void> {
    const p = spawn(process.execPath, [CLI, 'run', '-c', join(dir, 'agent.yaml')], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODEOPCUA_LOG_LEVEL: '3' } });
    p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child = p;
    await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200, 30_000, `agent up (${stderr.slice(-500)})`, 200);
    await waitFor(
      async () => {
        await realSample();
        const machines = (await (await fetch(`${base}/api/machines`)).json()) as { id: string; state: string | null }[];
        return machines.find((m) => m.id === 'press-1')?.state === 'running';
      },
      20_000,
      'the real machine running',
      300,
    );
  }

  async function stopAgent(): Promise<void> {
    const p = child;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }

  const realSample = (): Promise<unknown> => pub.publishAsync(`${prefix}/press-1/telemetry`, JSON.stringify({ ts: Date.now(), p: 7.5, st: 'running' }), { qos: 1 });

  async function everyRouteAnswers(): Promise<void> {
    expect(child?.exitCode).toBe(null);
    for (const route of ['/', '/healthz', '/metrics', '/api/machines', '/api/overview', '/api/diagnostics', '/api/kpis', '/api/benchmarks', '/api/site', '/api/series?machine=press-1&signal=power_kw']) {
      const res = await fetch(base + route);
      expect(res.status, route).toBe(200);
      await res.arrayBuffer();
    }
    const machines = (await (await fetch(`${base}/api/machines`)).json()) as { id: string; state: string | null }[];
    expect(machines.find((m) => m.id === 'press-1')?.state).toBe('running');
    expect(machines.map((m) => m.id)).not.toContain('evil/#');
  }

  async function backlogDrains(): Promise<void> {
    await realSample();
    await waitFor(
      async () => {
        const h = (await (await fetch(`${base}/healthz`)).json()) as { buffer: { backlog: number }; upstream: { state: string } };
        return h.upstream.state === 'connected' && h.buffer.backlog === 0;
      },
      30_000,
      'the backlog forwarded',
      250,
    );
    // no upstream topic level carries a wildcard or a name that was refused
    for (const m of recorder.messages) expect(m.topic.slice(upPrefix.length + 1)).toMatch(/^[^+#\u0000-\u001f]+$/);
    expect(recorder.messages.some((m) => m.topic.endsWith('/kpi/press-1'))).toBe(true);
  }

  beforeAll(async () => {
    base = `http://127.0.0.1:${await freePort()}`;
    writeFileSync(
      join(dir, 'agent.yaml'),
      `
site: { id: hostile-site }
agent: { id: hostile-plant, dataDir: ${join(dir, 'data')}, logLevel: warn }
http: { port: ${base.split(':')[2]} }
machines: [{ id: press-1 }]
sources:
  - id: plant
    type: mqtt
    url: ${MOSQUITTO_URL}
    clientId: sfa-hp-${process.pid}-${Date.now().toString(36)}
    clean: true
    maxSeries: 500
    topics:
      - { filter: "${prefix}/+/telemetry", machine: "{1}", timestamp: { field: ts, unit: ms }, fields: { power_kw: p, state: st } }
      - { filter: "${prefix}/mes/orders", format: order-events }
    sparkplug:
      groups: [${group}]
      rebirth: false
      metrics: [{ metric: "*", machine: "{node}", signal: "m_{1}" }]
upstream: { url: ${MOSQUITTO_URL}, topicPrefix: ${upPrefix} }
`,
    );
    await recorder.start();
    pub = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `sfa-hp-pub-${process.pid}-${Date.now().toString(36)}` });
    await startAgent();
  }, 60_000);

  afterAll(async () => {
    await pub?.endAsync();
    await stopAgent().catch(() => child?.kill('SIGKILL'));
    await recorder.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('survives the hostile plant: alive, every route 200, the real tile real, the backlog forwarded', async () => {
    const now = Date.now();
    const telemetry: [string, unknown][] = [
      ['press-1', { ts: 1e17, p: 1, st: 'down' }],
      ['press-1', { ts: -1, p: 2, st: 'down' }],
      ['press-1', { ts: now + 86_400_000, p: 3, st: 'idle' }],
      ['press-1', { ts: 'soon', p: 4 }],
      ['x'.repeat(10_000), { ts: now, p: 6 }],
      ['', { ts: now, p: 7 }],
    ];
    for (const [machine, body] of telemetry) await pub.publishAsync(`${prefix}/${machine}/telemetry`, JSON.stringify(body), { qos: 1 });
    for (const machine of ['evil/#', 'evil+', 'nul\u0000l', 'ctl\u0001name']) {
      await pub.publishAsync(`${prefix}/mes/orders`, JSON.stringify({ orderId: 'O-1', event: 'started', machine }), { qos: 1 });
    }
    await pub.publishAsync(`${prefix}/press-1/telemetry`, Buffer.alloc(5 * 1024 * 1024, 0x20), { qos: 1 });
    const codec = new SparkplugCodec();
    await pub.publishAsync(`spBv1.0/${group}/NBIRTH/press-2`, Buffer.from(codec.encode({ timestamp: UINT64_MAX as never, seq: 0, metrics: [{ name: 'Temp', type: 'Double', value: 21.5, timestamp: UINT64_MAX as never }] })), { qos: 1 });
    const ts = Date.now();
    for (let i = 0; i < CAPTURES; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, k) => pub.publishAsync(`${prefix}/cap-${i + k}/telemetry`, JSON.stringify({ ts, p: 1 }), { qos: 1 })));
    }
    let last = '';
    await waitFor(
      async () => {
        last = await (await fetch(`${base}/healthz`)).text();
        const h = JSON.parse(last) as { sources: { seriesCapped: number; deadLetters: number }[] };
        return (h.sources[0]?.seriesCapped ?? 0) > 0 && (h.sources[0]?.deadLetters ?? 0) >= 14;
      },
      60_000,
      'the cap counted',
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${last} ${stderr.slice(-2000)}`);
    });
    const diag = (await (await fetch(`${base}/api/diagnostics`)).json()) as { deadLetters: { reason: string }[] };
    const reasons = diag.deadLetters.map((d) => d.reason);
    expect(reasons.some((r) => r.includes('reached maxSeries 500'))).toBe(true);
    await everyRouteAnswers();
    await backlogDrains();
  }, 120_000);

  it('the same after a restart', async () => {
    await stopAgent();
    await startAgent();
    await everyRouteAnswers();
    await backlogDrains();
    const text = await (await fetch(`${base}/healthz`)).text();
    expect(text).not.toContain('evil/#');
  }, 90_000);
});
