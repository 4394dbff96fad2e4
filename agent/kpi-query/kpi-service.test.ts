/**
 * The JSON text of whole past rows that `KpiService.queryJson` keeps (the HTTP route's path),
 * on a real buffer: it is the text `JSON.stringify(query(q))` gives, and late data (samples,
 * order events, order_id changes) changes exactly the rows it falls into: afterwards the rows
 * equal those of a service without any cache, and the rows it cannot reach stay as they were.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../config/schema.ts';
import { configIn, expectClose } from '../../test/helpers/kpi-fixtures.ts';
import { SqliteBuffer } from '../buffer/index.ts';
import type { Sample } from '../model/index.ts';
import { KpiService, type KpiQuery, type KpiRow } from './index.ts';
import { Plant } from '../plant/index.ts';

// midnight in Berlin, 6 May 2024 (CEST): days by the site's clock start here
const D0 = Date.UTC(2024, 4, 5, 22);
const H = 3_600_000;
const MIN = 60_000;
const DAYS = 3;
const CONFIG = `
site: { id: rows, timezone: Europe/Berlin }
agent: { id: rows }
machines:
  - { id: m1, line: l1, product: p, idealCycleTimeS: 30 }
  - { id: m2, line: l2, product: p, idealCycleTimeS: 30 }
shifts:
  - { name: early, start: "06:00", end: "14:00" }
  - { name: late, start: "14:00", end: "22:00" }
energy:
  tariff: { type: time-of-use, pricePerKwh: 0.18, periods: [{ name: peak, start: "08:00", end: "20:00", days: [1, 2, 3, 4, 5], pricePerKwh: 0.29 }] }
  gridEmissionFactorKgPerKwh: 0.38
`;
const DAY_Q: KpiQuery = { from: D0, to: D0 + DAYS * 24 * H, groupBy: 'day' };

const config = (dir: string): Config => configIn(CONFIG, 'rows.yaml', dir);

/** Energy every 10 min, parts every 5, a state change every 40, a new order every 7 h (machine-dependent offset). */
function plant(machine: string, offsetMin: number): Sample[] {
  const out: Sample[] = [];
  for (let m = 0; m < DAYS * 24 * 60; m += 5) {
    const ts = D0 + m * MIN;
    if (m % 10 === 0) out.push({ machine, signal: 'energy_kwh', ts, value: m * 0.2, quality: 'good' });
    out.push({ machine, signal: 'parts_total', ts, value: m, quality: 'good' });
    out.push({ machine, signal: 'parts_scrap', ts, value: Math.floor(m / 50), quality: 'good' });
    if (m % 40 === 0) out.push({ machine, signal: 'state', ts, value: m % 120 === 80 ? 'idle' : 'running', quality: 'good' });
    if ((m + offsetMin) % 420 === 0) out.push({ machine, signal: 'order_id', ts, value: `${machine}-o${(m + offsetMin) / 420}`, quality: 'good' });
  }
  return out;
}

/** Each row's own text, so unchanged rows can be compared character for character. */
function rowTexts(json: string): string[] {
  return (JSON.parse(json) as unknown[]).map((r) => JSON.stringify(r));
}

function rowIndex(rows: readonly KpiRow[], machine: string, day: number): number {
  return rows.findIndex((r) => r.machine === machine && Date.parse(r.periodStart) === D0 + day * 24 * H);
}

describe('KpiService row text', () => {
  let dir: string;
  let n = 0;
  const open = (): { buffer: SqliteBuffer; cfg: Config } => {
    const d = join(dir, `b${n++}`);
    const cfg = config(d);
    const buffer = new SqliteBuffer({ dataDir: d, rollupSeries: new Plant(cfg) });
    buffer.commit([...plant('m1', 0), ...plant('m2', 150)]);
    return { buffer, cfg };
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-rows-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('read-only beside a writer: hours the writer has not flushed to its rollups yet come from raw rows', () => {
    const d = join(dir, `b${n++}`);
    const cfg = config(d);
    // a writer that flushes its rollups only when asked (as a running agent between flushes)
    const writer = new SqliteBuffer({ dataDir: d, rollupSeries: new Plant(cfg), rollupFlushMs: 3_600_000 });
    try {
      const all = [...plant('m1', 0), ...plant('m2', 150)];
      const cut = D0 + 30 * H;
      writer.commit(all.filter((x) => x.ts < cut));
      writer.rollups.flush();
      writer.commit(all.filter((x) => x.ts >= cut)); // in the writer's memory only
      const reader = new SqliteBuffer({ dataDir: d, readonly: true, rollupSeries: new Plant(cfg) });
      try {
        expect(reader.rollups.coveredUntil(true)).toBe(cut);
        const q: KpiQuery = { ...DAY_Q, groupBy: 'hour' };
        expectClose(new KpiService(new Plant(cfg), reader).query(q), new KpiService(new Plant(cfg), writer, { cache: false }).query(q));
      } finally {
        reader.close();
      }
      writer.rollups.flush();
      expect(writer.rollups.coveredUntil(true)).toBe(Infinity);
    } finally {
      writer.close();
    }
  });

  it('read-only beside a writer: a state and power held from a flushed sample to one not flushed yet count in full', () => {
    const d = join(dir, `b${n++}`);
    const cfg = config(d);
    const writer = new SqliteBuffer({ dataDir: d, rollupSeries: new Plant(cfg), rollupFlushMs: 3_600_000 });
    const at = (ts: number, signal: string, value: string | number): Sample => ({ machine: 'm1', signal, ts, value, quality: 'good' });
    try {
      // running at 10 kW from 07:50, flushed; idle at 2 kW from 09:10, still in the writer's memory
      writer.commit([at(D0 + 7 * H + 50 * 60_000, 'state', 'running'), at(D0 + 7 * H + 50 * 60_000, 'power_kw', 10)]);
      writer.rollups.flush();
      writer.commit([at(D0 + 9 * H + 10 * 60_000, 'state', 'idle'), at(D0 + 9 * H + 10 * 60_000, 'power_kw', 2)]);
      const reader = new SqliteBuffer({ dataDir: d, readonly: true, rollupSeries: new Plant(cfg) });
      try {
        const q: KpiQuery = { from: D0 + 7 * H, to: D0 + 10 * H, groupBy: 'hour', machine: 'm1' };
        const rows = new KpiService(new Plant(cfg), reader).query(q);
        // the hold lasts maxHoldS (3600 s) from 07:50: 07:00 holds 600 s running at 10 kW
        // (1.667 kWh), 08:00 holds 3000 s (8.333 kWh), 09:00 nothing until idle at 09:10
        expect(rows.map((r) => r.components.runningS)).toEqual([600, 3000, 0]);
        expect(rows[1]?.energyKwh).toBeCloseTo(10 * (3000 / 3600), 9);
        expectClose(rows, new KpiService(new Plant(cfg), writer, { cache: false }).query(q));
      } finally {
        reader.close();
      }
    } finally {
      writer.close();
    }
  });

  it('is the text JSON.stringify gives for the rows, first computed and then kept', () => {
    const { buffer, cfg } = open();
    try {
      const kpis = new KpiService(new Plant(cfg), buffer);
      const other = new KpiService(new Plant(cfg), buffer);
      const today = Date.now() - (Date.now() % (24 * H));
      const queries: KpiQuery[] = [
        DAY_Q,
        { ...DAY_Q, groupBy: 'hour' },
        { ...DAY_Q, groupBy: 'shift' },
        { ...DAY_Q, groupBy: 'none' },
        { ...DAY_Q, machine: 'm2' },
        { ...DAY_Q, line: 'l1', groupBy: 'shift' },
        { ...DAY_Q, scope: 'line' },
        { ...DAY_Q, scope: 'site', groupBy: 'hour' },
        { ...DAY_Q, groupBy: 'order' },
        { from: D0 + 90 * MIN, to: D0 + 30 * H + 17 * MIN, groupBy: 'day' },
        // today cannot be kept (not past yet): it is computed each time, the days before are kept
        { from: today - 2 * 24 * H, to: today + 24 * H, groupBy: 'day' },
      ];
      for (const q of queries) {
        const first = kpis.queryJson(q);
        expect(first, JSON.stringify(q)).toBe(JSON.stringify(other.query(q)));
        expect(kpis.queryJson(q), JSON.stringify(q)).toBe(first);
      }
      expect(kpis.cachedRows).toBeGreaterThanOrEqual(2 * (DAYS + DAYS * 24 + DAYS * 2));
      expect(kpis.queryJson({ ...DAY_Q, machine: 'nope' })).toBe('[]');
    } finally {
      buffer.close();
    }
  });

  it('a late sample changes the kept rows of its own windows only, which then equal a cache-less service', () => {
    const { buffer, cfg } = open();
    try {
      const kpis = new KpiService(new Plant(cfg), buffer);
      const before = kpis.queryJson(DAY_Q);
      expect(kpis.queryJson(DAY_Q)).toBe(before); // from the kept rows
      expect(kpis.cachedRows).toBe(2 * DAYS);
      // m1 was down 10:02–10:12 on day 2 (the news arrives late)
      buffer.commit([
        { machine: 'm1', signal: 'state', ts: D0 + 24 * H + 10 * H + 2 * MIN, value: 'down', quality: 'good' },
        { machine: 'm1', signal: 'state', ts: D0 + 24 * H + 10 * H + 12 * MIN, value: 'running', quality: 'good' },
      ]);
      const after = kpis.queryJson(DAY_Q);
      const rows = JSON.parse(after) as KpiRow[];
      const changed = rowTexts(after)
        .map((r, i) => (r !== rowTexts(before)[i] ? i : -1))
        .filter((i) => i >= 0);
      const day2 = rowIndex(rows, 'm1', 1);
      expect(changed).toEqual([day2]);
      expect((JSON.parse(before) as KpiRow[])[day2]?.components.downS).toBe(0);
      expect(rows[day2]?.components.downS).toBe(10 * 60);
      expectClose(rows, new KpiService(new Plant(cfg), buffer, { cache: false }).query(DAY_Q));
      // the rows are kept again
      expect(kpis.queryJson(DAY_Q)).toBe(after);
      expect(kpis.cachedRows).toBe(2 * DAYS);
    } finally {
      buffer.close();
    }
  });

  it('a late order event changes the lead times of the rows its order completed in, and no others', () => {
    const { buffer, cfg } = open();
    try {
      const kpis = new KpiService(new Plant(cfg), buffer);
      const before = kpis.queryJson(DAY_Q);
      const old = JSON.parse(before) as KpiRow[];
      // m2-o3 started on day 1 at 18:30 (order_id) and completed on day 2 at 01:30; the MES
      // says it was released on day 1 at 00:30: its lead time is then measured from release
      const released = D0 + 30 * MIN;
      buffer.commit([{ machine: 'm2', signal: 'order_event', ts: released, value: JSON.stringify({ orderId: 'm2-o3', event: 'released' }), quality: 'good' }]);
      const after = kpis.queryJson(DAY_Q);
      const rows = JSON.parse(after) as KpiRow[];
      const changed = rowTexts(after)
        .map((r, i) => (r !== rowTexts(before)[i] ? i : -1))
        .filter((i) => i >= 0);
      const day2 = rowIndex(rows, 'm2', 1);
      expect(changed).toEqual([day2]);
      expect(old[day2]?.leadTime.basis).toBe('started');
      expect(rows[day2]?.leadTime.basis).toBe('mixed');
      expect(rows[day2]?.components.leadTimeSumS).toBeGreaterThan(old[day2]?.components.leadTimeSumS ?? Infinity);
      expectClose(rows, new KpiService(new Plant(cfg), buffer, { cache: false }).query(DAY_Q));
    } finally {
      buffer.close();
    }
  });

  it('a late order_id change moves an order\'s completion: the rows from then on follow', () => {
    const { buffer, cfg } = open();
    try {
      const kpis = new KpiService(new Plant(cfg), buffer);
      const before = kpis.queryJson({ ...DAY_Q, groupBy: 'shift' });
      // m1 moved on from m1-o1 (started 07:00 day 1) at 13:00 day 1, not at 14:00 (to m1-x until 14:00)
      buffer.commit([{ machine: 'm1', signal: 'order_id', ts: D0 + 13 * H, value: 'm1-x', quality: 'good' }]);
      const q: KpiQuery = { ...DAY_Q, groupBy: 'shift' };
      const after = kpis.queryJson(q);
      const rows = JSON.parse(after) as KpiRow[];
      const changed = rowTexts(after)
        .map((r, i) => (r !== rowTexts(before)[i] ? i : -1))
        .filter((i) => i >= 0);
      // day 1's early shift now holds m1-o1's completion (6 h) too, the late shift m1-x's (1 h)
      // instead of m1-o1's (7 h)
      const early = rows.findIndex((r) => r.machine === 'm1' && r.period === 'early' && Date.parse(r.periodStart) === D0 + 6 * H);
      expect(changed).toEqual([early, early + 1]);
      expect(rows[early]?.components).toMatchObject({ orders: 2, leadTimeMinS: 6 * 3600 });
      expect(rows[early + 1]?.components).toMatchObject({ leadTimeMinS: 3600 });
      expectClose(rows, new KpiService(new Plant(cfg), buffer, { cache: false }).query(q));
    } finally {
      buffer.close();
    }
  });

  it('any late samples, orders included, leave the kept rows equal to a cache-less service', () => {
    const signals = ['energy_kwh', 'parts_total', 'parts_scrap', 'state', 'order_id', 'order_event'] as const;
    const late = fc.record({
      machine: fc.constantFrom('m1', 'm2'),
      signal: fc.constantFrom(...signals),
      minute: fc.integer({ min: 0, max: DAYS * 24 * 60 - 1 }),
      v: fc.integer({ min: 0, max: 2000 }),
    });
    const { buffer, cfg } = open();
    try {
      const kpis = new KpiService(new Plant(cfg), buffer);
      const queries: KpiQuery[] = [DAY_Q, { ...DAY_Q, groupBy: 'shift' }, { ...DAY_Q, groupBy: 'hour', machine: 'm1' }];
      for (const q of queries) kpis.queryJson(q);
      fc.assert(
        fc.property(fc.array(late, { minLength: 1, maxLength: 4 }), (batch) => {
          buffer.commit(
            batch.map(({ machine, signal, minute, v }): Sample => {
              const ts = D0 + minute * MIN + 17_000; // between the plant's samples
              const value =
                signal === 'state'
                  ? (['running', 'idle', 'down', 'planned_stop'][v % 4] as string)
                  : signal === 'order_id'
                    ? `${machine}-o${v % 12}`
                    : signal === 'order_event'
                      ? JSON.stringify({ orderId: `${machine}-o${v % 12}`, event: (['released', 'started', 'completed'] as const)[v % 3] })
                      : v;
              return { machine, signal, ts, value, quality: 'good' };
            }),
          );
          const cold = new KpiService(new Plant(cfg), buffer, { cache: false });
          for (const q of queries) {
            const json = kpis.queryJson(q);
            expectClose(JSON.parse(json), cold.query(q));
            expect(kpis.queryJson(q)).toBe(json);
          }
        }),
        { numRuns: 15 },
      );
    } finally {
      buffer.close();
    }
  });
});
