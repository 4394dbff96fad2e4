import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leadTimeComponents, leadTimeStats, mergeLeadTime, ZERO_LEAD_TIME } from './lead-time.ts';

const items = (xs: number[], fromRelease = true) => xs.map((leadTimeS) => ({ leadTimeS, fromRelease }));
const exact = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.ceil(q * xs.length) - 1] as number;

describe('lead-time components', () => {
  it('gives count, mean, p50, p90, max and the basis', () => {
    // 5 orders: 60, 120, 180, 3600, 7200 s; mean 11160 / 5 = 2232; p50 = 3rd = 180; p90 = 5th = 7200
    const c = leadTimeComponents([...items([60, 120, 180], true), ...items([3600, 7200], false)]);
    const s = leadTimeStats(c);
    expect(s).toMatchObject({ orders: 5, meanS: 2232, maxS: 7200, basis: 'mixed' });
    expect(Math.abs((s.p50S as number) - 180)).toBeLessThanOrEqual(0.9);
    expect(s.p90S).toBe(7200);
    expect(leadTimeStats(ZERO_LEAD_TIME)).toEqual({ orders: 0, meanS: null, p50S: null, p90S: null, maxS: null, basis: null });
    expect(leadTimeStats(leadTimeComponents(items([42]))).p50S).toBe(42); // one order: exact
  });

  it('merges exactly: merged parts give the stats of the union, percentiles within ±0.5 %', () => {
    const lt = fc.double({ min: 0.5, max: 3e7, noNaN: true });
    fc.assert(
      fc.property(fc.array(lt, { maxLength: 40 }), fc.array(lt, { minLength: 1, maxLength: 40 }), (a, b) => {
        const merged = mergeLeadTime(leadTimeComponents(items(a)), leadTimeComponents(items(b)));
        const union = leadTimeComponents(items([...a, ...b]));
        expect(merged.orders).toBe(union.orders);
        expect(merged.leadTimeHist).toEqual(union.leadTimeHist);
        expect(merged.leadTimeMaxS).toBe(union.leadTimeMaxS);
        expect(merged.leadTimeSumS).toBeCloseTo(union.leadTimeSumS, 3);
        const all = [...a, ...b];
        for (const q of [0.5, 0.9]) {
          const got = leadTimeStats(merged)[q === 0.5 ? 'p50S' : 'p90S'] as number;
          const want = exact(all, q);
          expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.max(0.005 * want, 0.5));
        }
      }),
      { numRuns: 300 },
    );
  });
});
