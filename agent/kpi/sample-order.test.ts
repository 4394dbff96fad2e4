import { describe, expect, it } from 'vitest';
import { compareSamples, sortSamplesInPlace, type KpiSample } from './sample-order.ts';

const base: KpiSample = { machine: 'm', signal: 'parts_total', ts: 1000, value: 1, quality: 'good' };

describe('sample order', () => {
  it('orders by ts, then id, then quality (bad last), then value', () => {
    expect(compareSamples({ ...base, ts: 1 }, base)).toBeLessThan(0);
    expect(compareSamples({ ...base, id: 2 }, { ...base, id: 1, value: 0 })).toBeGreaterThan(0);
    expect(compareSamples({ ...base, quality: 'bad' }, { ...base, quality: 'good', value: 9 })).toBeGreaterThan(0);
    expect(compareSamples({ ...base, value: 2 }, { ...base, value: 3 })).toBeLessThan(0);
    expect(compareSamples({ ...base, value: null }, { ...base, value: 'x' })).toBeLessThan(0);
    expect(compareSamples(base, { ...base })).toBe(0);
  });

  it('sorts only when out of order and keeps the same array', () => {
    const list = [{ ...base, ts: 3 }, { ...base, ts: 1 }, { ...base, ts: 2 }];
    expect(sortSamplesInPlace(list).map((s) => s.ts)).toEqual([1, 2, 3]);
    const ordered = [{ ...base, ts: 1 }, { ...base, ts: 2 }];
    expect(sortSamplesInPlace(ordered)).toBe(ordered);
  });
});
