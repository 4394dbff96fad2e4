import { describe, expect, it } from 'vitest';
import { addSpan, areSortedDisjoint, normalizeIntervals, toWindowSet } from './windows.ts';

describe('windows', () => {
  it('normalizes intervals: sorted, merged when overlapping or adjacent, empty ones dropped', () => {
    expect(
      normalizeIntervals([
        [50, 60],
        [0, 10],
        [10, 20],
        [15, 30],
        [40, 40],
        [45, 44],
      ]),
    ).toEqual([
      [0, 30],
      [50, 60],
    ]);
  });

  it('accepts adjacent windows as sorted and disjoint, not overlapping or unsorted ones', () => {
    expect(areSortedDisjoint([[0, 10], [10, 20]])).toBe(true);
    expect(areSortedDisjoint([[0, 10], [5, 20]])).toBe(false);
    expect(areSortedDisjoint([[10, 20], [0, 10]])).toBe(false);
  });

  it('adds a span to every window it overlaps, weighted by the overlap', () => {
    const ws = toWindowSet([
      [0, 10],
      [10, 20],
      [30, 40],
    ]);
    const out = new Float64Array(3);
    // [5, 35) × 2: window 0 gets 5 × 2, window 1 10 × 2, window 2 5 × 2
    const next = addSpan(ws, 0, 5, 35, 2, out);
    expect([...out]).toEqual([10, 20, 10]);
    expect(next).toBe(0);
    // a later span skips the windows that ended before it
    expect(addSpan(ws, next, 25, 31, 1, out)).toBe(2);
    expect([...out]).toEqual([10, 20, 11]);
  });
});
