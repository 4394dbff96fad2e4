/**
 * Late data through the real buffer and KpiService (whose cache of full hours is warm when the
 * late samples are committed, as in a running agent):
 *   - a sample arriving hours late changes the KPIs of its own windows and nothing else;
 *   - whatever the arrival order and however queries interleave with arrivals, the KPIs equal
 *     those computed from scratch over the final data.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../config/schema.ts';
import { configIn, expectClose } from '../helpers/kpi-fixtures.ts';
import { SqliteBuffer } from '../../agent/buffer/index.ts';
import { KpiService } from '../../agent/kpi-query/index.ts';
import type { Quality, Sample } from '../../agent/model/index.ts';
import { Plant } from '../../agent/plant/index.ts';

const F = Date.UTC(2024, 4, 6, 0);
const H = 3_600_000;
const MIN = 60_000;
const CONFIG = `
site: { id: late, timezone: Europe/Berlin }
agent: { id: late }
machines:
  - { id: m1, line: l, product: p, idealCycleTimeS: 30 }
  - { id: m2, line: l, product: p, idealCycleTimeS: 30 }
energy: { tariff: { type: flat, pricePerKwh: 0.2 }, gridEmissionFactorKgPerKwh: 0.3 }
`;

const config = (dir: string): Config => configIn(CONFIG, 'late.yaml', dir);

/** A machine reporting by exception: energy every 10 min, parts every 5, a state change every 40. */
function day(machine: string, hours: number): Sample[] {
  const out: Sample[] = [];
  for (let m = 0; m < hours * 60; m += 5) {
    const ts = F + m * MIN;
    if (m % 10 === 0) out.push({ machine, signal: 'energy_kwh', ts, value: m * 0.2, quality: 'good' });
    out.push({ machine, signal: 'parts_total', ts, value: m, quality: 'good' });
    out.push({ machine, signal: 'parts_scrap', ts, value: Math.floor(m / 50), quality: 'good' });
    if (m % 40 === 0) out.push({ machine, signal: 'state', ts, value: m % 120 === 80 ? 'idle' : 'running', quality: 'good' });
  }
  return out;
}

describe('late data', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-late-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a sample arriving hours late changes the KPIs of its own windows and nothing else', () => {
    const d = join(dir, 'one');
    const buffer = new SqliteBuffer({ dataDir: d, rollupSeries: new Plant(config(d)) });
    try {
      const kpis = new KpiService(new Plant(config(d)), buffer);
      buffer.commit([...day('m1', 12), ...day('m2', 12)]);
      const q = { from: F, to: F + 12 * H, groupBy: 'hour' as const };
      const before = kpis.query(q);
      expect(kpis.cachedEntries).toBe(48); // 2 machines × 12 hours, as hours and as windows
      // 9 hours later, two samples of 03:xx UTC arrive: m1 (running 03:00–03:20, then idle) was
      // down 03:02–03:12
      buffer.commit([
        { machine: 'm1', signal: 'state', ts: F + 3 * H + 2 * MIN, value: 'down', quality: 'good' },
        { machine: 'm1', signal: 'state', ts: F + 3 * H + 12 * MIN, value: 'running', quality: 'good' },
      ]);
      const after = kpis.query(q);
      // unchanged rows are identical (the same cached or recomputed hours), changed ones differ
      const changed = after.map((r, i) => JSON.stringify(r) !== JSON.stringify(before[i]));
      const hour3 = before.findIndex((r) => r.machine === 'm1' && Date.parse(r.periodStart) === F + 3 * H);
      expect(changed.map((c, i) => (c ? i : -1)).filter((i) => i >= 0)).toEqual([hour3]);
      expect(before[hour3]?.runningS).toBe(20 * 60);
      expect(after[hour3]?.runningS).toBe(10 * 60);
      expect(after[hour3]?.components.downS).toBe(10 * 60);
      // the answer equals a computation from scratch
      const cold = new KpiService(new Plant(config(d)), buffer, { cache: false });
      expectClose(after, cold.query(q));
    } finally {
      buffer.close();
    }
  });

  it('any arrival order, with queries in between, ends with the KPIs of the final data', () => {
    const all = [...day('m1', 6), ...day('m2', 6)];
    let run = 0;
    fc.assert(
      fc.property(
        fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
        fc.array(fc.integer({ min: 1, max: all.length - 1 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.constantFrom<Quality>('good', 'bad'), { minLength: 1, maxLength: 1 }),
        (shuffled, cutsRaw, [quality]) => {
          const d = join(dir, `p${run++}`);
          const buffer = new SqliteBuffer({ dataDir: d, rollupSeries: new Plant(config(d)) });
          try {
            const kpis = new KpiService(new Plant(config(d)), buffer);
            // one extra sample of either quality: a bad one ends holds
            const data = [...shuffled, { machine: 'm2', signal: 'state', ts: F + 2 * H + 7 * MIN, value: null, quality: quality ?? 'bad' }];
            const cuts = [...new Set(cutsRaw)].sort((a, b) => a - b);
            const qs = [
              { from: F, to: F + 6 * H, groupBy: 'hour' as const },
              { from: F, to: F + 6 * H, groupBy: 'day' as const },
              { from: F + 30 * MIN, to: F + 5 * H + 10 * MIN, groupBy: 'none' as const, scope: 'site' as const },
            ];
            let start = 0;
            for (const c of [...cuts, data.length]) {
              buffer.commit(data.slice(start, c));
              start = c;
              for (const q of qs) kpis.query(q); // warm the cache with partial data
            }
            // warm cache, a cold cache filled from the hour rollups, and raw rows agree
            const cold = new KpiService(new Plant(config(d)), buffer, { cache: false });
            const fromRollups = new KpiService(new Plant(config(d)), buffer);
            for (const q of qs) {
              const want = cold.query(q);
              expectClose(kpis.query(q), want);
              expectClose(fromRollups.query(q), want);
            }
            // most hours came from the rollup tables (those after a machine's last state
            // sample hold an open state and are computed from raw rows)
            expect(fromRollups.hoursFromRollupTables).toBeGreaterThanOrEqual(6);
          } finally {
            buffer.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
