/**
 * Property: through the real buffer and KpiService (time-of-use tariff, emission factor,
 * shifts, orders), the rows of a window's hours, shifts or days sum to the row of the whole
 * window: every additive component, cost and carbon included, and the lead-time components.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../../config/index.ts';
import { SqliteBuffer } from '../../agent/buffer/index.ts';
import { KpiService, type GroupBy } from '../../agent/kpi-query/index.ts';
import { sumComponents, type KpiComponents } from '../../agent/kpi/index.ts';
import type { Quality, Sample } from '../../agent/model/index.ts';
import { Plant } from '../../agent/plant/index.ts';

const F = Date.parse('2024-03-30T20:00:00+01:00'); // across Berlin's spring-forward night
const MIN = 60_000;
const SPAN_MIN = 20 * 60;
const CONFIG = `
site: { id: split, timezone: Europe/Berlin }
agent: { id: split }
machines:
  - { id: m1, line: l, product: p, idealCycleTimeS: 30, maxHoldS: 5400 }
shifts:
  - { name: early, start: "06:00", end: "14:00" }
  - { name: late, start: "14:00", end: "23:30" }
energy:
  tariff: { type: time-of-use, pricePerKwh: 0.1, periods: [{ name: peak, start: "07:15", end: "19:45", pricePerKwh: 0.35 }] }
  gridEmissionFactorKgPerKwh: 0.42
`;

const sampleArb = fc.record({
  min: fc.integer({ min: -90, max: SPAN_MIN + 30 }),
  kind: fc.constantFrom('energy_kwh', 'power_kw', 'parts_total', 'parts_scrap', 'state', 'order_id'),
  v: fc.integer({ min: 0, max: 400 }),
  quality: fc.constantFrom<Quality>('good', 'good', 'good', 'good', 'bad'),
});

function toSamples(raw: { min: number; kind: string; v: number; quality: Quality }[]): Sample[] {
  return raw.map(({ min, kind, v, quality }) => ({
    machine: 'm1',
    signal: kind,
    ts: F + min * MIN,
    value: kind === 'state' ? (['running', 'idle', 'down', 'planned_stop'][v % 4] as string) : kind === 'order_id' ? `o${v % 7}` : v,
    quality,
  }));
}

const ADDITIVE: (keyof KpiComponents)[] = ['windowS', 'plannedS', 'runningS', 'idleS', 'downS', 'plannedStopS', 'unknownS', 'unscheduledS', 'energyKwh', 'unitsTotal', 'unitsGood', 'unitsScrap', 'idealS', 'energyCost', 'co2eKg', 'orders', 'ordersFromRelease', 'leadTimeSumS', 'leadTimeMaxS'];

describe('splitting a window', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-split-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the rows of its hours / days sum to the row of the whole window (cost, carbon and lead times too)', () => {
    let run = 0;
    fc.assert(
      fc.property(fc.array(sampleArb, { minLength: 1, maxLength: 80 }), fc.constantFrom<GroupBy>('hour', 'day'), fc.integer({ min: 0, max: 59 }), (raw, groupBy, offsetMin) => {
        const res = loadConfigText(CONFIG, { file: 'split.yaml' });
        if (!res.ok) throw new Error(JSON.stringify(res.problems));
        const d = join(dir, String(run++));
        const buffer = new SqliteBuffer({ dataDir: d, rollupSeries: new Plant(res.config) });
        try {
          const kpis = new KpiService(new Plant({ ...res.config, agent: { ...res.config.agent, dataDir: d } }), buffer);
          // every tag has a first sample before the window (as in a running plant)
          const base = ['energy_kwh', 'power_kw', 'parts_total', 'parts_scrap', 'state'].map((signal) => ({ machine: 'm1', signal, ts: F - 200 * MIN, value: signal === 'state' ? 'running' : 0, quality: 'good' as const }));
          buffer.commit([...base, ...toSamples(raw)]);
          const from = F + offsetMin * MIN;
          const to = F + SPAN_MIN * MIN - offsetMin * MIN;
          const [whole] = kpis.query({ from, to, groupBy: 'none' });
          const parts = kpis.query({ from, to, groupBy });
          const sum = sumComponents(parts.map((p) => p.components));
          for (const k of ADDITIVE) {
            const a = sum[k] as number | null;
            const e = whole?.components[k] as number | null;
            if (k === 'leadTimeMaxS') {
              expect(Math.max(...parts.map((p) => p.components.leadTimeMaxS ?? -1))).toBe(e ?? -1);
            } else if (a === null || e === null || e === undefined) {
              expect({ [k]: a }).toEqual({ [k]: e });
            } else if (Math.abs(a - e) > 1e-6 * Math.max(1, Math.abs(e))) {
              expect.fail(`${k}: Σ ${groupBy} rows ${a} ≠ whole ${e}`);
            }
          }
          expect(sum.leadTimeHist).toEqual(whole?.components.leadTimeHist);
        } finally {
          buffer.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
