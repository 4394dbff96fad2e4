/**
 * Hourly KPI components on a real buffer and KPI service: each closed hour is published once per
 * machine with revision 1 and the components of `/api/kpis?groupBy=hour`; a late sample gives
 * exactly its hour revision 2 with changed components; the published state, the late-data marks
 * and unacknowledged revisions survive a restart; hours a broker acknowledged and lost are
 * published again; work per tick is bounded.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configIn } from '../../test/helpers/kpi-fixtures.ts';
import { SqliteBuffer } from '../buffer/index.ts';
import { KpiService } from '../kpi-query/index.ts';
import type { Sample } from '../model/index.ts';
import { Plant } from '../plant/index.ts';
import { HourPublisher, type HourPublisherOptions } from './hour-publisher.ts';

const H = 3_600_000;
const MIN = 60_000;
// 6 whole hours of data, then "now" is 20 min into the 7th
const T0 = Date.UTC(2026, 10, 2, 6);
const NOW = T0 + 6 * H + 20 * MIN;
const CONFIG = `
site: { id: s1, timezone: Europe/Berlin }
agent: { id: a1 }
machines:
  - { id: m1, line: l1, product: p, idealCycleTimeS: 30 }
  - { id: m2, line: l1, product: p, idealCycleTimeS: 30 }
`;

interface Msg {
  machine: string;
  payload: { agent: string; site: string; instance: string; machine: string; hourStart: number; revision: number; components: Record<string, unknown> };
  done: (err?: Error) => void;
}

function data(machine: string): Sample[] {
  const out: Sample[] = [];
  for (let m = 0; m <= 6 * 60 + 15; m++) {
    const ts = T0 + m * MIN;
    out.push({ machine, signal: 'parts_total', ts, value: m * 2, quality: 'good' });
    out.push({ machine, signal: 'state', ts, value: 'running', quality: 'good' });
    if (m % 5 === 0) out.push({ machine, signal: 'energy_kwh', ts, value: m * 0.5, quality: 'good' });
  }
  return out;
}

let dir: string;
let buffer: SqliteBuffer;
let kpis: KpiService;
let sent: Msg[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sfa-hours-'));
  open();
  buffer.commit([...data('m1'), ...data('m2')]);
});
afterEach(() => {
  buffer.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(): void {
  const plant = new Plant(configIn(CONFIG, 'hours.yaml', dir));
  buffer = new SqliteBuffer({ dataDir: dir, rollupSeries: plant });
  kpis = new KpiService(plant, buffer);
  sent = [];
}

function publisher(opts: Partial<HourPublisherOptions> = {}, ack = true): HourPublisher {
  const p = new HourPublisher(
    buffer,
    kpis,
    '"agent":"a1","site":"s1","instance":"i-1"',
    (machine, payload, done) => {
      const msg: Msg = { machine, payload: JSON.parse(payload) as Msg['payload'], done };
      sent.push(msg);
      if (ack) setImmediate(() => done());
      return true;
    },
    { warn: () => {} },
    { timezone: 'Europe/Berlin', now: () => NOW, inFlight: 1000, ...opts },
  );
  buffer.onCommit((s) => p.committed(s));
  return p;
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('HourPublisher', () => {
  it('publishes each closed hour once per machine with the KPI rows’ components, and a late sample’s hour again as revision 2', async () => {
    const pub = publisher();
    pub.tick();
    await settle();
    // six whole hours closed 20 min ago (grace 2 min), the seventh is still open
    expect(sent.map((m) => [m.machine, (m.payload.hourStart - T0) / H, m.payload.revision]).sort()).toEqual(
      [0, 1, 2, 3, 4, 5].flatMap((h) => [['m1', h, 1], ['m2', h, 1]]).sort(),
    );
    const rows = kpis.kpis({ from: T0, to: T0 + 6 * H, machine: 'm1', groupBy: 'hour' });
    for (const r of rows) {
      const m = sent.find((s) => s.machine === 'm1' && s.payload.hourStart === Date.parse(r.periodStart));
      expect(m?.payload.components).toEqual(r.components);
    }
    expect(sent[0]?.payload).toMatchObject({ agent: 'a1', site: 's1', instance: 'i-1' });
    expect(sent.find((s) => s.machine === 'm1' && s.payload.hourStart === T0 + 2 * H)?.payload.components).toMatchObject({ runningS: 3600, unitsTotal: 120 });
    // nothing changed: nothing is sent again
    sent.length = 0;
    pub.tick();
    await settle();
    expect(sent).toEqual([]);

    // a late sample in hour 2 of m1: the machine was down for one minute
    const before = kpis.kpis({ from: T0, to: T0 + 6 * H, machine: 'm1', groupBy: 'hour' });
    buffer.commit([{ machine: 'm1', signal: 'state', ts: T0 + 2 * H + 30 * MIN + 10_000, value: 'down', quality: 'good' }]);
    pub.tick();
    await settle();
    expect(sent.map((m) => [m.machine, (m.payload.hourStart - T0) / H, m.payload.revision])).toEqual([['m1', 2, 2]]);
    const after = kpis.kpis({ from: T0, to: T0 + 6 * H, machine: 'm1', groupBy: 'hour' });
    expect(sent[0]?.payload.components).toEqual(after[2]?.components);
    expect(after[2]?.components.downS).toBeCloseTo(50, 6);
    expect(after[2]?.components).not.toEqual(before[2]?.components);
    // the other hours did not change
    for (const h of [0, 1, 3, 4, 5]) expect(after[h]?.components).toEqual(before[h]?.components);
  });

  it('publishes an hour once it closes (after the grace), and bounds the machine-hours computed per tick', async () => {
    let now = T0 + 3 * H + MIN; // hour 2 closed 1 min ago: within the grace
    const pub = publisher({ now: () => now, hoursPerTick: 4 });
    pub.tick(); // hours 0, 1 of both machines: 4 machine-hours
    await settle();
    expect(new Set(sent.map((m) => (m.payload.hourStart - T0) / H))).toEqual(new Set([0, 1]));
    now = T0 + 3 * H + 3 * MIN;
    pub.tick();
    await settle();
    expect(sent.map((m) => (m.payload.hourStart - T0) / H).sort()).toEqual([0, 0, 1, 1, 2, 2]);
    now = NOW;
    pub.tick(); // 2 hours of 2 machines
    await settle();
    expect(sent).toHaveLength(10);
    pub.tick();
    await settle();
    expect(sent).toHaveLength(12);
    expect(new Set(sent.map((m) => `${m.machine}@${m.payload.hourStart}`)).size).toBe(12);
  });

  it('publishes again, as a new revision, the hours a broker acknowledged since a given time (it lost them)', async () => {
    const pub = publisher();
    pub.tick();
    await settle();
    expect(sent).toHaveLength(12);
    const first = new Map(sent.map((m) => [`${m.machine}@${m.payload.hourStart}`, m.payload.components]));
    sent.length = 0;
    pub.resendAckedSince(Date.now() + 60_000); // nothing acknowledged since then
    pub.tick();
    await settle();
    expect(sent).toEqual([]);
    pub.resendAckedSince(0);
    pub.tick();
    await settle();
    expect(sent.map((m) => m.payload.revision)).toEqual(new Array<number>(12).fill(2));
    for (const m of sent) expect(m.payload.components).toEqual(first.get(`${m.machine}@${m.payload.hourStart}`));
  });

  it('keeps revisions, late-data marks and unacknowledged messages across a restart', async () => {
    const first = publisher({}, false);
    first.tick();
    await settle();
    expect(sent).toHaveLength(12);
    // acknowledge only m2's hours; m1's stay unacknowledged
    for (const m of sent) if (m.machine === 'm2') m.done();
    await settle();
    // a late sample while the agent runs, then a restart before the next tick
    buffer.commit([{ machine: 'm2', signal: 'state', ts: T0 + 4 * H + 10 * MIN + 10_000, value: 'idle', quality: 'good' }]);
    first.stop();
    buffer.close();
    open();
    const second = publisher();
    second.connected();
    await settle();
    // m1's six unacknowledged hours are sent again, unchanged
    expect(sent.map((m) => [m.machine, (m.payload.hourStart - T0) / H, m.payload.revision]).sort()).toEqual([0, 1, 2, 3, 4, 5].map((h) => ['m1', h, 1]).sort());
    sent.length = 0;
    second.tick();
    await settle();
    // the late sample's hour, found from the mark kept in meta: revision 2, nothing else
    expect(sent.map((m) => [m.machine, (m.payload.hourStart - T0) / H, m.payload.revision])).toEqual([['m2', 4, 2]]);
    expect(sent[0]?.payload.components.idleS).toBeCloseTo(50, 6);
    expect(buffer.publishedHours.unsentCount()).toBe(0);
  });
});
