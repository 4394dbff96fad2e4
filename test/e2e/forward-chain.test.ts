/**
 * The upstream additions for the fleet through Mosquitto, `confirm: broker` (the default):
 * samples batches chain (`instance`, `prevLastId`) across batches, across ids dropped at the
 * size cap, across a reconnect that resends unacknowledged batches and across a plain
 * reconnect, so the fleet's rule (advance C over a batch when prevLastId ≤ C) ends with every
 * stored id contiguous; the plant description is retained and published before the backlog;
 * hourly KPI components arrive once per closed hour and machine, equal to the agent's own
 * `/api/kpis?groupBy=hour` components.
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
import { FakeFleet } from './fake-fleet.ts';
import { Recorder, startUplink, type Uplink } from './forward-helpers.ts';

const req = await mosquitto();
const H = 3_600_000;

describe.skipIf(!req.available)('chained samples, plant description and hourly components upstream', () => {
  let dir: string;
  let prefix: string;
  let base: string;
  let uplink: Uplink;
  let recorder: Recorder;
  let fleet: FakeFleet;
  let agent: Agent;
  // three hours ago, on an hour: samples fill closed hours
  const t0 = Math.floor((Date.now() - 3 * H) / H) * H;
  let n = 0;
  const commit = (count: number): void => {
    const batch: Sample[] = Array.from({ length: count }, () => {
      const i = n++;
      return i % 3 === 0
        ? { machine: i % 2 ? 'm1' : 'm2', signal: 'state', ts: t0 + i * 1000, value: i % 9 === 0 ? 'idle' : 'running', quality: 'good' }
        : { machine: i % 2 ? 'm1' : 'm2', signal: 'parts_total', ts: t0 + i * 1000, value: i, quality: 'good' };
    });
    agent.buffer.commit(batch);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-chain-'));
    prefix = uniqueTopicPrefix('forward-chain');
    base = `${prefix}/plant-k/edge-k`;
    const broker = new URL(MOSQUITTO_URL);
    uplink = await startUplink({ host: broker.hostname, port: Number(broker.port || 1883) }, false);
    recorder = new Recorder(MOSQUITTO_URL, prefix);
    await recorder.start();
    fleet = new FakeFleet(MOSQUITTO_URL, base);
    await fleet.start();
    const res = loadConfigText(
      `
site: { id: plant-k, name: Plant K, timezone: Europe/Berlin }
agent: { id: edge-k, dataDir: ${join(dir, 'data')} }
http: { port: 0 }
machines:
  - { id: m1, name: Press 1, line: l1, product: bracket, idealCycleTimeS: 12 }
  - { id: m2, line: l2 }
shifts: [{ name: day, start: "06:00", end: "22:00", days: [1, 2, 3, 4, 5] }]
upstream: { url: "mqtt://127.0.0.1:${uplink.port}", topicPrefix: ${prefix}, batchSize: 1000, inFlight: 4, kpiIntervalS: 0 }
`,
      { file: 'chain.yaml' },
    );
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    agent = new Agent(res.config, pino({ level: 'silent' }));
    await agent.start();
  }, 30_000);

  afterAll(async () => {
    await agent?.stop();
    await fleet?.stop();
    await recorder?.stop();
    await uplink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('chains batches across drops at the cap, a reconnect with unacknowledged batches and a plain reconnect', async () => {
    const fwd = agent.forwarder;
    if (!fwd) throw new Error('no forwarder');
    commit(2500);
    // the size cap drops ids 1001–1500 before they were forwarded (retention's own call, counted)
    agent.buffer.deleteIds(1000, 1500, true);
    expect(agent.buffer.droppedSamples()).toBe(500);
    uplink.up();
    await waitFor(() => fwd.cursor === 2500, 20_000, 'the first backlog acknowledged');
    await waitFor(() => fleet.contiguous(fwd.instance) === 2500, 10_000, 'the fleet past the dropped ids');
    const link = (b: { firstId: number; lastId: number; prevLastId?: number }): number[] => [b.firstId, b.lastId, b.prevLastId ?? -1];
    expect(fleet.batches.map(link)).toEqual([
      [1, 1000, 0],
      [1501, 2500, 1000],
    ]);

    // the link stalls: batches go out and are never acknowledged; then it is cut and restored
    uplink.stall();
    commit(3000);
    await new Promise((r) => setTimeout(r, 300));
    expect(fwd.cursor).toBe(2500);
    uplink.down();
    await waitFor(() => fwd.state === 'disconnected', 10_000, 'the cut noticed');
    uplink.up();
    await waitFor(() => fwd.cursor === 5500, 20_000, 'the resend acknowledged');
    // resent from the cursor: the first batch after the reconnect links to it
    expect(link(fleet.batches[2] as (typeof fleet.batches)[number])).toEqual([2501, 3500, 2500]);

    // a plain reconnect with everything acknowledged: the next batch links to the cursor
    uplink.down();
    await waitFor(() => fwd.state === 'disconnected', 10_000, 'the second cut noticed');
    commit(500);
    uplink.up();
    await waitFor(() => fwd.cursor === 6000, 20_000, 'the last batch acknowledged');
    await waitFor(() => fleet.contiguous(fwd.instance) === 6000, 10_000, 'the fleet contiguous to the end');
    expect(link(fleet.batches.at(-1) as (typeof fleet.batches)[number])).toEqual([5501, 6000, 5500]);
    // every batch links to the one before it in arrival order, or to a cursor at or below it
    for (let i = 1; i < fleet.batches.length; i++) {
      const b = fleet.batches[i] as (typeof fleet.batches)[number];
      expect(b.prevLastId).toBeLessThanOrEqual((fleet.batches[i - 1] as (typeof fleet.batches)[number]).lastId);
    }
    const ids = fleet.stored.get(fwd.instance) ?? new Set<number>();
    expect(ids.size).toBe(5500);
    for (let id = 1; id <= 6000; id++) expect(ids.has(id), `id ${id}`).toBe(id <= 1000 || id > 1500);
    // with confirm: broker the fleet's confirmation is reported, and only the PUBACK counts for retention
    expect(agent.health().upstream).toMatchObject({ confirm: 'broker', ackedId: 6000, confirmedId: 6000 });
    expect(agent.forwarder?.retainableUpTo).toBe(6000);
  }, 90_000);

  it('publishes the plant description retained, before the backlog, on every connect', async () => {
    const topics = recorder.messages.map((m) => m.topic);
    const connects = recorder.messages.flatMap((m, i) => (m.topic === `${base}/status` && m.payload === 'online' ? [i] : []));
    expect(connects.length).toBeGreaterThanOrEqual(3);
    for (const c of connects) {
      const plant = topics.indexOf(`${base}/plant`, c);
      const samples = topics.indexOf(`${base}/samples`, c);
      expect(plant).toBeGreaterThan(c);
      if (samples >= 0) expect(plant).toBeLessThan(samples);
    }
    const late = new Recorder(MOSQUITTO_URL, base);
    await late.start();
    const msg = await waitFor(() => late.messages.find((m) => m.topic === `${base}/plant`), 10_000, 'the retained plant description');
    await late.stop();
    expect(msg.retain).toBe(true);
    const d = JSON.parse(msg.payload) as Record<string, unknown>;
    expect(d).toMatchObject({
      agent: 'edge-k',
      site: 'plant-k',
      instance: agent.forwarder?.instance,
      siteName: 'Plant K',
      timezone: 'Europe/Berlin',
      machines: [
        { id: 'm1', name: 'Press 1', line: 'l1', product: 'bracket', idealCycleTimeS: 12 },
        { id: 'm2', name: 'm2', line: 'l2', product: null, idealCycleTimeS: null },
      ],
      shifts: [{ name: 'day', start: '06:00', end: '22:00', days: [1, 2, 3, 4, 5] }],
      products: ['bracket'],
      lines: ['l1', 'l2'],
    });
    expect(Date.parse(d.at as string)).toBeGreaterThan(Date.now() - 120_000);
  }, 30_000);

  it('publishes each closed hour of each machine, revised by later commits, ending with the components of /api/kpis?groupBy=hour', async () => {
    const instance = agent.forwarder?.instance;
    // the samples span t0 … t0 + 100 min; hours close up to now (minus the grace)
    const closed = Math.floor((Date.now() - 120_000) / H) * H;
    const expected = (closed - t0) / H;
    type HourMsg = { agent: string; site: string; instance: string; machine: string; hourStart: number; revision: number; components: Record<string, unknown> };
    const hours = (): HourMsg[] => recorder.messages.filter((m) => m.topic.startsWith(`${base}/hours/`)).map((m) => JSON.parse(m.payload) as HourMsg);
    await waitFor(() => new Set(hours().map((h) => `${h.machine}@${h.hourStart}`)).size >= 2 * expected, 20_000, 'every closed hour of both machines');
    // the first test's later commits fell into hours published by then: those were revised
    await new Promise((r) => setTimeout(r, 2500)); // one more tick: nothing new
    const got = hours();
    const count = got.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(hours()).toHaveLength(count);
    for (const m of ['m1', 'm2']) {
      const rows = agent.kpis.kpis({ from: t0, to: closed, machine: m, groupBy: 'hour' });
      expect(rows).toHaveLength(expected);
      for (const r of rows) {
        const all = got.filter((x) => x.machine === m && x.hourStart === Date.parse(r.periodStart));
        // a revision in flight at a cut is sent again after the reconnect, the same message
        const revs = all.filter((x, i) => all.findIndex((y) => y.revision === x.revision) === i);
        for (const x of all) expect(x).toEqual(revs.find((y) => y.revision === x.revision));
        expect(revs.map((x) => x.revision), `${m} ${r.periodStart}`).toEqual(revs.map((_, i) => i + 1));
        expect(revs.at(-1)).toMatchObject({ agent: 'edge-k', site: 'plant-k', instance });
        expect(revs.at(-1)?.components).toEqual(r.components);
        // a revision is sent only when the components changed
        for (let i = 1; i < revs.length; i++) expect(revs[i]?.components).not.toEqual(revs[i - 1]?.components);
      }
    }
    expect(recorder.messages.filter((m) => m.topic === `${base}/hours/m1`).every((m) => !m.retain)).toBe(true);
  }, 40_000);
});
