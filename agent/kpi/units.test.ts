import { describe, expect, it } from 'vitest';
import type { SampleValue } from '../model/index.ts';
import { computeMachineKpis } from './machine-kpis.ts';
import type { KpiSample } from './sample-order.ts';
import { completeUnits } from './units.ts';

const F = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const H = 3_600_000;

describe('completeUnits: any two give the third', () => {
  it('total and good give scrap', () => {
    // 100 − 93 = 7
    expect(completeUnits(100, 93, null)).toEqual({ unitsTotal: 100, unitsGood: 93, unitsScrap: 7 });
  });
  it('total and scrap give good', () => {
    // 100 − 7 = 93
    expect(completeUnits(100, null, 7)).toEqual({ unitsTotal: 100, unitsGood: 93, unitsScrap: 7 });
  });
  it('good and scrap give total', () => {
    // 93 + 7 = 100
    expect(completeUnits(null, 93, 7)).toEqual({ unitsTotal: 100, unitsGood: 93, unitsScrap: 7 });
  });
  it('uses all three as measured', () => {
    expect(completeUnits(100, 90, 7)).toEqual({ unitsTotal: 100, unitsGood: 90, unitsScrap: 7 });
  });
  it('leaves what one counter cannot give unknown', () => {
    expect(completeUnits(100, null, null)).toEqual({ unitsTotal: 100, unitsGood: null, unitsScrap: null });
    expect(completeUnits(null, null, null)).toEqual({ unitsTotal: null, unitsGood: null, unitsScrap: null });
  });
});

describe('units in a machine row', () => {
  const s = (signal: string, ts: number, value: SampleValue): KpiSample => ({ machine: 'm1', signal, ts, value, quality: 'good' });

  it('derives good from total and scrap deltas', () => {
    const row = computeMachineKpis({
      machine: 'm1',
      from: F,
      to: F + H,
      samples: [
        s('parts_total', F - MIN, 1000),
        s('parts_total', F + 30 * MIN, 1040), // +40
        s('parts_scrap', F - MIN, 50),
        s('parts_scrap', F + 30 * MIN, 52), // +2
      ],
    });
    // good = 40 − 2 = 38; scrap rate 2 / 40 = 0.05; quality 38 / 40 = 0.95
    expect([row.unitsTotal, row.unitsGood, row.unitsScrap]).toEqual([40, 38, 2]);
    expect(row.scrapRate).toBeCloseTo(0.05, 12);
    expect(row.quality).toBeCloseTo(0.95, 12);
  });

  it('has null scrap rate and quality when no units were produced', () => {
    const row = computeMachineKpis({
      machine: 'm1',
      from: F,
      to: F + H,
      samples: [s('parts_total', F - MIN, 5), s('parts_good', F - MIN, 5)],
    });
    expect([row.unitsTotal, row.unitsGood, row.unitsScrap]).toEqual([0, 0, 0]);
    expect(row.scrapRate).toBeNull();
    expect(row.quality).toBeNull();
  });
});
