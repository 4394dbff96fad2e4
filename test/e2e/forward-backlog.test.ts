/**
 * Store-and-forward with Mosquitto as the central broker: the uplink (a TCP proxy the test
 * controls) is down while 200,000 samples arrive, then up — and cut once more mid-drain. A
 * subscriber that records everything must end with every id exactly once after
 * de-duplication, in order per agent; status and KPI snapshots arrive before the backlog.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import type { Sample } from '../../agent/model/index.ts';
import { mosquitto, MOSQUITTO_URL, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { Recorder, startUplink, type Uplink } from './forward-helpers.ts';

const N = 200_000;
const req = await mosquitto();

describe.skipIf(!req.available)('forwarding a backlog after the uplink was down', () => {
  let dir: string;
  let uplink: Uplink;
  let recorder: Recorder;
  let agent: Agent;
  let prefix: string;
  const t0 = Date.now() - 3_600_000;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-fwd-'));
    prefix = uniqueTopicPrefix('forward-backlog');
    const broker = new URL(MOSQUITTO_URL);
    uplink = await startUplink({ host: broker.hostname, port: Number(broker.port || 1883) }, false);
    recorder = new Recorder(MOSQUITTO_URL, prefix);
    await recorder.start();
    const res = loadConfigText(
      `
site: { id: plant-t }
agent: { id: edge-t, dataDir: ${join(dir, 'data')} }
http: { port: 0 }
machines:
  - { id: m1 }
  - { id: m2 }
upstream: { url: "mqtt://127.0.0.1:${uplink.port}", topicPrefix: ${prefix}, batchSize: 1000, inFlight: 8, kpiIntervalS: 0 }
`,
      { file: 'forward.yaml' },
    );
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    agent = new Agent(res.config, pino({ level: 'silent' }));
    await agent.start();
  }, 30_000);

  afterAll(async () => {
    await agent?.stop();
    await recorder?.stop();
    await uplink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps 200,000 samples while the uplink is down, then delivers every id exactly once after de-dup, in order', async () => {
    // 200,000 samples arrive while upstream is unreachable
    const signals = ['energy_kwh', 'parts_total', 'state', 'temp_c'];
    for (let i = 0; i < N; i += 1000) {
      const batch: Sample[] = Array.from({ length: 1000 }, (_, k) => {
        const n = i + k;
        return { machine: n % 2 ? 'm1' : 'm2', signal: signals[n % 4] as string, ts: t0 + n * 10, value: signals[n % 4] === 'state' ? 'running' : n, quality: 'good' };
      });
      agent.buffer.commit(batch);
      if (i % 20_000 === 0) await new Promise((r) => setImmediate(r));
    }
    const down = agent.health();
    expect(down.upstream.state).toBe('disconnected');
    expect(down.buffer.backlog).toBe(N);
    expect(down.status).toBe('degraded');
    expect(recorder.distinct('edge-t').size).toBe(0);

    // the uplink comes back; mid-drain it is cut once more, then restored
    uplink.up();
    await waitFor(() => recorder.distinct('edge-t').size >= N / 4, 60_000, 'a quarter of the backlog upstream');
    uplink.down();
    await waitFor(() => agent.health().upstream.state === 'disconnected', 20_000, 'the forwarder to notice the cut');
    uplink.up();
    await waitFor(() => recorder.distinct('edge-t').size >= N, 120_000, 'every id upstream');
    await waitFor(() => agent.health().buffer.backlog === 0, 20_000, 'the cursor to reach the last id');

    const ids = recorder.distinct('edge-t');
    expect(ids.size).toBe(N);
    for (let id = 1; id <= N; id++) if (!ids.has(id)) expect.fail(`id ${id} missing upstream`);
    // in order per agent: first arrivals are strictly increasing (resends only repeat old ids)
    const first = recorder.firstArrivals('edge-t');
    expect(first.every((id, i) => i === 0 || id > (first[i - 1] as number))).toBe(true);
    // batches of at most batchSize samples, each carrying agent, site, firstId, lastId
    const batches = recorder.messages.filter((m) => m.topic === `${prefix}/plant-t/edge-t/samples`).map((m) => JSON.parse(m.payload) as { agent: string; site: string; firstId: number; lastId: number; samples: { id: number; machine: string; signal: string; ts: number; value: unknown; quality: string }[] });
    expect(batches.every((b) => b.samples.length <= 1000 && b.agent === 'edge-t' && b.site === 'plant-t' && b.firstId === b.samples[0]?.id && b.lastId === b.samples.at(-1)?.id)).toBe(true);
    expect(batches[0]?.samples[0]).toEqual({ id: 1, machine: 'm2', signal: 'energy_kwh', ts: t0, value: 0, quality: 'good' });

    // status 'online' and the KPI snapshots of both machines come before the backlog, on every connect
    const topics = recorder.messages.map((m) => m.topic);
    const firstSamples = topics.indexOf(`${prefix}/plant-t/edge-t/samples`);
    const firstOnline = recorder.messages.findIndex((m) => m.topic === `${prefix}/plant-t/edge-t/status` && m.payload === 'online');
    expect(firstOnline).toBeGreaterThanOrEqual(0);
    expect(firstOnline).toBeLessThan(firstSamples);
    for (const m of ['m1', 'm2']) {
      const k = topics.indexOf(`${prefix}/plant-t/edge-t/kpi/${m}`);
      expect(k, `kpi snapshot of ${m}`).toBeGreaterThan(firstOnline);
      expect(k).toBeLessThan(firstSamples);
    }
    const snap = JSON.parse(recorder.messages.find((x) => x.topic.endsWith('/kpi/m1'))?.payload ?? '{}') as { machine: string; day: { components: object } | null };
    expect(snap.machine).toBe('m1');
    expect(snap.day?.components).toBeDefined();

    const h = agent.health();
    expect(h.upstream.state).toBe('connected');
    expect(h.upstream.lastAckAt).not.toBeNull();
    const metrics = await agent.metrics.registry.metrics();
    expect(metrics).toMatch(/shopfloor_agent_buffer_backlog_samples\{[^}]*\} 0/);
    expect(metrics).toMatch(/shopfloor_agent_upstream_connected\{[^}]*\} 1/);
  }, 240_000);

  it('leaves a retained status: online while running, offline after a cut (Last Will)', async () => {
    const late = new Recorder(MOSQUITTO_URL, prefix);
    await late.start();
    await waitFor(() => late.messages.find((m) => m.topic.endsWith('/status')), 10_000, 'the retained status');
    expect(late.messages.find((m) => m.topic.endsWith('/status'))).toMatchObject({ retain: true, payload: 'online' });
    expect(late.messages.some((m) => m.topic.endsWith('/kpi/m1') && m.retain)).toBe(true);
    // the cable is pulled: the broker publishes the Will once its keepalive expires; here the
    // proxy closes the broker-side socket at once, which the broker treats as an unclean loss
    uplink.down();
    await waitFor(() => late.messages.find((m) => m.topic.endsWith('/status') && m.payload === 'offline'), 20_000, 'the Last Will');
    uplink.up();
    await waitFor(() => late.messages.filter((m) => m.topic.endsWith('/status')).at(-1)?.payload === 'online', 20_000, 'online again');
    await late.stop();
  }, 60_000);
});
