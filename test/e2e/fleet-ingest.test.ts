/**
 * The fleet against Mosquitto and PostgreSQL (a topic prefix and a schema per test): batches
 * published like an agent's are stored exactly once — duplicates and out-of-order batches
 * included —, a gap holds the confirmation until the missing batch arrives, deliberate id skips
 * do not, the confirmation is retained, bad messages are dead-lettered, and two fleet processes
 * sharing the subscription store everything exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../../agent/fleet/index.ts';
import { mosquitto, postgres, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { dropSchema, PG_TEST_URL, samplesMessage, testSchema } from '../helpers/fleet-messages.ts';
import { agentClient, clearRetained, endSession, startFleet, type FleetTestSetup } from '../helpers/fleet-peers.ts';

let ready = false;
beforeAll(async () => {
  ready = (await mosquitto()).available && (await postgres()).available;
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(name: string): Promise<{ s: FleetTestSetup; agent: MqttClient; confirms: Map<string, { instance: string; confirmedId: number }[]> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-fleet-e2e-'));
  const prefix = uniqueTopicPrefix(`fleet-${name}`);
  const s: FleetTestSetup = { id: `t-${name}-${process.pid}`, prefix, group: `g${Math.random().toString(36).slice(2, 10)}`, dataDir: dir, schema: testSchema(name) };
  const agent = await agentClient();
  const confirms = new Map<string, { instance: string; confirmedId: number }[]>();
  agent.on('message', (topic, p) => {
    if (!topic.endsWith('/confirm') || p.length === 0) return;
    confirms.set(topic, [...(confirms.get(topic) ?? []), JSON.parse(p.toString()) as { instance: string; confirmedId: number }]);
  });
  await agent.subscribeAsync(`${prefix}/+/+/confirm`, { qos: 1 });
  cleanups.push(async () => {
    await clearRetained(agent, [`${prefix}/site-a/edge-1/confirm`, `${prefix}/site-a/edge-1/status`, `${prefix}/site-b/edge-2/confirm`]);
    await agent.endAsync();
    await dropSchema(s.schema as string);
    rmSync(dir, { recursive: true, force: true });
  });
  return { s, agent, confirms };
}

async function fleetOf(s: FleetTestSetup, id = s.id): Promise<Fleet> {
  const f = await startFleet({ ...s, id });
  cleanups.push(async () => {
    await f.stop();
    await endSession(id);
  });
  return f;
}

const pub = (c: MqttClient, topic: string, payload: unknown): Promise<unknown> => c.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });

describe('fleet ingest (Mosquitto, PostgreSQL)', () => {
  it('stores out-of-order and duplicate batches exactly once; a gap holds the retained confirmation until it is filled', async ({ skip }) => {
    if (!ready) skip();
    const { s, agent, confirms } = await setup('order');
    const fleet = await fleetOf(s);
    const store = fleet.fleetStore;
    if (!store) throw new Error('no store');
    await waitFor(() => fleet.health().status === 'ok', 10_000, 'the fleet connected');
    const topic = `${s.prefix}/site-a/edge-1/samples`;
    const confirmTopic = `${s.prefix}/site-a/edge-1/confirm`;
    const b = (prev: number, first: number, last: number, keep?: (id: number) => boolean): unknown => samplesMessage({ instance: 'inst-1', prevLastId: prev, firstId: first, lastId: last, ...(keep ? { keep } : {}) });
    // batch 2 and 3 before 1: stored, but nothing is confirmed past the gap
    await pub(agent, topic, b(100, 101, 200));
    await pub(agent, topic, b(200, 201, 300));
    await waitFor(async () => (await store.sampleCount()) === 200, 10_000, 'batches 2 and 3 stored');
    await waitFor(() => confirms.get(confirmTopic)?.length, 5000, 'a confirmation');
    expect(confirms.get(confirmTopic)?.at(-1)).toMatchObject({ instance: 'inst-1', confirmedId: 0 });
    const held = (await (await fetch(`http://127.0.0.1:${fleet.port}/api/agents`)).json()) as { confirmedId: number; lastId: number; backlog: number; lagS: number }[];
    expect(held).toEqual([expect.objectContaining({ confirmedId: 0, lastId: 300, backlog: 300 })]);
    expect(held[0]?.lagS).toBeGreaterThan(0);
    await pub(agent, topic, b(0, 1, 100));
    await waitFor(() => confirms.get(confirmTopic)?.at(-1)?.confirmedId === 300, 10_000, 'confirmed 300');
    // a resend of everything changes nothing; a batch after ids the agent dropped (301…399) passes
    for (const m of [b(0, 1, 100), b(100, 101, 200), b(200, 201, 300)]) await pub(agent, topic, m);
    await pub(agent, topic, b(300, 400, 450, (id) => id % 7 === 0));
    await waitFor(() => confirms.get(confirmTopic)?.at(-1)?.confirmedId === 450, 10_000, 'confirmed 450 over the dropped ids');
    const kept = 2 + [...Array(51).keys()].map((i) => 400 + i).filter((id) => id % 7 === 0 && id !== 400 && id !== 450).length;
    expect(await store.sampleCount()).toBe(300 + kept);
    const dupes = await fleet.metrics.duplicates.get();
    expect(dupes.values[0]?.value).toBe(300);
    // the confirmation is retained: a client subscribing now gets it
    const late = await agentClient();
    const got = new Promise<string>((resolve) => late.on('message', (_t, p) => resolve(p.toString())));
    await late.subscribeAsync(confirmTopic, { qos: 1 });
    expect(JSON.parse(await got)).toMatchObject({ instance: 'inst-1', confirmedId: 450 });
    await late.endAsync();
    const [a] = await store.agents();
    expect(a).toMatchObject({ instance: 'inst-1', confirmedId: 450, lastId: 450 });
  });

  it('dead-letters bad messages, acknowledges them and carries on', async ({ skip }) => {
    if (!ready) skip();
    const { s, agent } = await setup('bad');
    const fleet = await fleetOf(s);
    const store = fleet.fleetStore;
    if (!store) throw new Error('no store');
    await waitFor(() => fleet.health().status === 'ok', 10_000, 'the fleet connected');
    const base = `${s.prefix}/site-a/edge-1`;
    await pub(agent, `${base}/samples`, '{not json');
    await pub(agent, `${base}/samples`, { agent: 'edge-1', site: 'site-a', instance: 'i', firstId: 5, lastId: 1, prevLastId: 0, samples: [] });
    await pub(agent, `${base}/samples`, { ...samplesMessage({ instance: 'i', prevLastId: 0, firstId: 1, lastId: 3 }), site: 'elsewhere' });
    await pub(agent, `${base}/hours/m1`, { agent: 'edge-1', site: 'site-a', instance: 'i', machine: 'm1', hourStart: 123, revision: 1, components: {} });
    await agent.publishAsync(`${base}/status`, 'maybe', { qos: 1, retain: true });
    await pub(agent, `${base}/samples`, samplesMessage({ instance: 'i', prevLastId: 0, firstId: 1, lastId: 3 }));
    await waitFor(async () => (await store.sampleCount()) === 3, 10_000, 'the good batch stored');
    await waitFor(async () => (await store.deadLetters(10)).length === 5, 10_000, 'five dead letters');
    const reasons = (await store.deadLetters(10)).map((d) => d.reason).reverse();
    expect(reasons[0]).toMatch(/^not JSON/);
    expect(reasons[1]).toMatch(/prevLastId < firstId|samples/);
    expect(reasons[2]).toMatch(/differ from the topic/);
    expect(reasons[3]).toMatch(/hourStart|components/);
    expect(reasons[4]).toMatch(/status must be/);
    expect(fleet.health().status).toBe('ok');
  });

  it('two fleet processes sharing the subscription store every sample exactly once, and both take a share', async ({ skip }) => {
    if (!ready) skip();
    const { s, agent, confirms } = await setup('share');
    const f1 = await fleetOf(s, `${s.id}-1`);
    const f2 = await fleetOf(s, `${s.id}-2`);
    await waitFor(() => f1.health().status === 'ok' && f2.health().status === 'ok', 10_000, 'both connected');
    const store = f1.fleetStore;
    if (!store) throw new Error('no store');
    const agents = [
      { site: 'site-a', agent: 'edge-1', instance: 'ia' },
      { site: 'site-b', agent: 'edge-2', instance: 'ib' },
    ];
    const n = 60;
    for (let i = 0; i < n; i++) {
      for (const a of agents) {
        const m = samplesMessage({ ...a, prevLastId: i * 50, firstId: i * 50 + 1, lastId: (i + 1) * 50 });
        await pub(agent, `${s.prefix}/${a.site}/${a.agent}/samples`, m);
        // every tenth batch twice, as after a reconnect
        if (i % 10 === 0) await pub(agent, `${s.prefix}/${a.site}/${a.agent}/samples`, m);
      }
    }
    await waitFor(async () => (await store.sampleCount()) === 2 * n * 50, 20_000, 'every sample stored');
    // two processes' confirmations can cross (confirmer.ts): an agent keeps the highest it received
    for (const a of agents) await waitFor(() => Math.max(0, ...(confirms.get(`${s.prefix}/${a.site}/${a.agent}/confirm`) ?? []).map((c) => c.confirmedId)) === n * 50, 10_000, `${a.agent} confirmed`);
    const batches = async (f: Fleet): Promise<number> => (await f.metrics.batches.get()).values[0]?.value ?? 0;
    expect(await batches(f1)).toBeGreaterThan(0);
    expect(await batches(f2)).toBeGreaterThan(0);
    const stored = async (f: Fleet): Promise<number> => (await f.metrics.rowsStored.get()).values[0]?.value ?? 0;
    expect((await stored(f1)) + (await stored(f2))).toBe(2 * n * 50);
  });

  it('acknowledges each batch after its commit: 60 messages pass a window of 5 unacknowledged', async ({ skip }) => {
    if (!ready) skip();
    const { s, agent, confirms } = await setup('window');
    const fleet = await fleetOf({ ...s, ingest: 'batchMs: 200, maxPending: 5, confirmIntervalMs: 0' });
    const store = fleet.fleetStore;
    if (!store) throw new Error('no store');
    await waitFor(() => fleet.health().status === 'ok', 10_000, 'the fleet connected');
    for (let i = 0; i < 60; i++) await pub(agent, `${s.prefix}/site-a/edge-1/samples`, samplesMessage({ instance: 'w', prevLastId: i * 10, firstId: i * 10 + 1, lastId: (i + 1) * 10 }));
    await waitFor(async () => (await store.sampleCount()) === 600, 20_000, 'all 600 samples');
    await waitFor(() => confirms.get(`${s.prefix}/site-a/edge-1/confirm`)?.at(-1)?.confirmedId === 600, 5000, 'confirmed 600');
    // the broker sends no more once its in-flight window (Receive Maximum; Mosquitto refills up to
    // its max_inflight_messages, 20) is unacknowledged: 60 messages arrive only if PUBACKs flow
    expect((await fleet.metrics.batches.get()).values[0]?.value).toBeGreaterThanOrEqual(3);
  });

  it('keeps its session while it is down: what was published meanwhile is stored after the restart', async ({ skip }) => {
    if (!ready) skip();
    const { s, agent } = await setup('session');
    const first = await startFleet(s);
    await waitFor(() => first.health().status === 'ok', 10_000, 'the fleet connected');
    await first.stop();
    for (let i = 0; i < 20; i++) await pub(agent, `${s.prefix}/site-a/edge-1/samples`, samplesMessage({ instance: 'q', prevLastId: i * 10, firstId: i * 10 + 1, lastId: (i + 1) * 10 }));
    const again = await fleetOf(s);
    const store = again.fleetStore;
    if (!store) throw new Error('no store');
    await waitFor(async () => (await store.sampleCount()) === 200, 15_000, 'the queued batches stored');
    expect((await store.agents())[0]).toMatchObject({ instance: 'q', confirmedId: 200 });
  });

  it('loses nothing when its PostgreSQL connections are cut mid-stream: commits are retried, PUBACK waits', async ({ skip }) => {
    if (!ready) skip();
    const { s, agent, confirms } = await setup('pgcut');
    const fleet = await fleetOf({ ...s, ingest: 'batchMs: 10, confirmIntervalMs: 50' });
    const store = fleet.fleetStore;
    if (!store) throw new Error('no store');
    await waitFor(() => fleet.health().status === 'ok', 10_000, 'the fleet connected');
    const admin = new pg.Client({ connectionString: PG_TEST_URL });
    await admin.connect();
    let cuts = 0;
    try {
      for (let i = 0; i < 80; i++) {
        await pub(agent, `${s.prefix}/site-a/edge-1/samples`, samplesMessage({ instance: 'c', prevLastId: i * 50, firstId: i * 50 + 1, lastId: (i + 1) * 50 }));
        if (i % 10 === 5) {
          const r = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`shopfloor-fleet-${s.id}`]);
          cuts += r.rowCount ?? 0;
          await new Promise((r2) => setTimeout(r2, 30));
        }
      }
      await waitFor(async () => (await store.sampleCount()) === 4000, 30_000, 'all 4000 samples');
      await waitFor(() => confirms.get(`${s.prefix}/site-a/edge-1/confirm`)?.at(-1)?.confirmedId === 4000, 10_000, 'confirmed 4000');
    } finally {
      await admin.end();
    }
    expect(cuts).toBeGreaterThan(0);
    expect(fleet.health().status).toBe('ok');
  });

  it('reads the retained status and plant published before it started (not on the shared subscription)', async ({ skip }) => {
    if (!ready) skip();
    const { s, agent } = await setup('retained');
    const base = `${s.prefix}/site-a/edge-1`;
    await agent.publishAsync(`${base}/status`, 'online', { qos: 1, retain: true });
    await agent.publishAsync(`${base}/plant`, JSON.stringify({ agent: 'edge-1', site: 'site-a', instance: 'r1', siteName: 'Plant A', timezone: 'Europe/Berlin', machines: [{ id: 'p1', line: 'additive' }], shifts: [], at: new Date().toISOString() }), { qos: 1, retain: true });
    cleanups.push(() => clearRetained(agent, [`${base}/plant`]));
    const fleet = await fleetOf(s);
    const store = fleet.fleetStore;
    if (!store) throw new Error('no store');
    await waitFor(async () => (await store.agents())[0]?.status === 'online', 10_000, 'the retained status and plant');
    expect(await store.sites()).toEqual([{ id: 'site-a', name: 'Plant A', timezone: 'Europe/Berlin' }]);
    expect((await store.machines()).map((m) => [m.id, m.line])).toEqual([['p1', 'additive']]);
    const [view] = (await (await fetch(`http://127.0.0.1:${fleet.port}/api/agents`)).json()) as { online: boolean; instance: string }[];
    expect(view).toMatchObject({ online: true, instance: 'r1' });
  });
});
