import { describe, expect, it } from 'vitest';
import { mergeComponents, ratiosFromComponents, sumComponents, ZERO_COMPONENTS, type KpiComponents } from './components.ts';

const c = (over: Partial<KpiComponents>): KpiComponents => ({ ...ZERO_COMPONENTS, ...over });

describe('components', () => {
  it('sums every field; an unmeasured count makes the sum unmeasured', () => {
    const a = c({ windowS: 3600, plannedS: 3600, runningS: 1800, energyKwh: 4, unitsTotal: 10, unitsGood: 9, unitsScrap: 1 });
    const b = c({ windowS: 3600, plannedS: 1800, runningS: 900, energyKwh: null, unitsTotal: 5, unitsGood: 5, unitsScrap: 0 });
    const m = mergeComponents(a, b);
    expect(m).toMatchObject({ windowS: 7200, plannedS: 5400, runningS: 2700, energyKwh: null, unitsTotal: 15, unitsGood: 14, unitsScrap: 1 });
    expect(ratiosFromComponents(m).energyPerUnitKwh).toBeNull();
  });

  it('has ZERO_COMPONENTS as identity', () => {
    const a = c({ windowS: 60, unitsGood: null, energyKwh: 2 });
    expect(mergeComponents(ZERO_COMPONENTS, a)).toEqual(a);
    expect(sumComponents([])).toEqual(ZERO_COMPONENTS);
    expect(sumComponents([a, a])).toEqual(mergeComponents(a, a));
  });

  it('computes ratios with null for zero denominators', () => {
    const r = ratiosFromComponents(ZERO_COMPONENTS);
    expect(r).toEqual({
      energyPerUnitKwh: null,
      scrapRate: null,
      availability: null,
      coverage: null,
      performance: null,
      performanceOver1: false,
      quality: null,
      oee: null,
      qaAccuracy: null,
      costPerUnit: null,
      co2ePerUnitKg: null,
    });
  });

  it('computes ratios from components', () => {
    // availability 2700/3600 = 0.75; performance 2400/2700; quality 95/100; epu 12.5/95; scrap 5/100
    const r = ratiosFromComponents(
      c({ windowS: 3600, plannedS: 3600, runningS: 2700, downS: 900, energyKwh: 12.5, unitsTotal: 100, unitsGood: 95, unitsScrap: 5, idealS: 2400 }),
    );
    expect(r.availability).toBeCloseTo(0.75, 12);
    expect(r.performance).toBeCloseTo(2400 / 2700, 12);
    expect(r.quality).toBeCloseTo(0.95, 12);
    expect(r.oee).toBeCloseTo(0.75 * (2400 / 2700) * 0.95, 12);
    expect(r.energyPerUnitKwh).toBeCloseTo(12.5 / 95, 12);
    expect(r.scrapRate).toBeCloseTo(0.05, 12);
  });

  it('computes availability over the measured part of planned time, and its coverage', () => {
    // planned 3600, of it 1200 unknown: measured 2400, running 1800 → availability 0.75, coverage 2/3
    const gap = c({ windowS: 3600, plannedS: 3600, runningS: 1800, downS: 600, unknownS: 1200, unitsTotal: 30, unitsGood: 30, idealS: 1440 });
    const r = ratiosFromComponents(gap);
    expect(r.availability).toBeCloseTo(0.75, 12);
    expect(r.coverage).toBeCloseTo(2 / 3, 12);
    expect(r.oee).toBeCloseTo(0.75 * (1440 / 1800) * 1, 12);
    // all unknown: nothing measured, availability and OEE null, coverage 0
    const none = ratiosFromComponents(c({ windowS: 3600, plannedS: 3600, unknownS: 3600, unitsTotal: 5, unitsGood: 5, idealS: 100 }));
    expect([none.availability, none.oee, none.coverage]).toEqual([null, null, 0]);
    // summed with a fully measured hour: (1800 + 3600) / (2400 + 3600), coverage 6000 / 7200
    const sum = ratiosFromComponents(mergeComponents(gap, c({ windowS: 3600, plannedS: 3600, runningS: 3600 })));
    expect(sum.availability).toBeCloseTo(5400 / 6000, 12);
    expect(sum.coverage).toBeCloseTo(6000 / 7200, 12);
  });
});
