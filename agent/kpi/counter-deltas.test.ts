import { describe, expect, it } from 'vitest';
import type { Quality, SampleValue } from '../model/index.ts';
import { accumulateCounterDeltas, counterDelta } from './counter-deltas.ts';
import { sortSamplesInPlace, type KpiSample } from './sample-order.ts';
import { toWindowSet } from './windows.ts';

const F = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const H = 3_600_000;

function c(ts: number, value: SampleValue, quality: Quality = 'good'): KpiSample {
  return { machine: 'm1', signal: 'parts_total', ts, value, quality };
}

function deltas(samples: KpiSample[], windows: [number, number][], rollover = 0): number[] {
  const out = new Float64Array(windows.length);
  accumulateCounterDeltas(sortSamplesInPlace([...samples]), toWindowSet(windows), rollover, out);
  return [...out];
}

describe('counterDelta', () => {
  it('is the increase when the counter goes up or stays', () => {
    expect(counterDelta(10, 15, 0)).toBe(5);
    expect(counterDelta(10, 10, 0)).toBe(0);
  });

  it('reads a drop without rollover as a reset: delta = new value', () => {
    // 100 → 7: the counter restarted from 0 and counted 7
    expect(counterDelta(100, 7, 0)).toBe(7);
    expect(counterDelta(100, 0, 0)).toBe(0);
    // a negative reading after a reset counts nothing
    expect(counterDelta(100, -3, 0)).toBe(0);
  });

  it('reads a drop from the upper part of the range as a wrap when rollover is set', () => {
    // N = 65536: 65530 → 10 wraps: 65536 − 65530 + 10 = 16 (< 32768)
    expect(counterDelta(65530, 10, 65536)).toBe(16);
    // 1000 → 0 with N = 1000 (prev at the top edge): 1000 − 1000 + 0 = 0
    expect(counterDelta(1000, 0, 1000)).toBe(0);
  });

  it('reads an implausible wrap as a reset even with rollover set', () => {
    // N = 65536: 30000 → 5 would be 65536 − 30000 + 5 = 35541 ≥ 32768: a reset, delta 5
    expect(counterDelta(30000, 5, 65536)).toBe(5);
    // prev above N cannot wrap at N: reset, delta 10
    expect(counterDelta(70000, 10, 65536)).toBe(10);
  });
});

describe('accumulateCounterDeltas', () => {
  it('attributes the delta to the window of the later sample, baseline before from', () => {
    const samples = [
      c(F - 10 * MIN, 100), // baseline before from: sets prev, no delta
      c(F + 5 * MIN, 110), // +10
      c(F + 20 * MIN, 125), // +15
      c(F + 30 * MIN, 4), // reset: +4
      c(F + H, 9), // at `to`: belongs to the next window
    ];
    // 10 + 15 + 4 = 29
    expect(deltas(samples, [[F, F + H]])).toEqual([29]);
  });

  it('puts a delta spanning a boundary in the later window', () => {
    const samples = [c(F - MIN, 0), c(F + 59 * MIN, 5), c(F + 61 * MIN, 8), c(F + 2 * H + MIN, 20)];
    // window 0: 0 → 5 = 5; window 1: 5 → 8 = 3; 8 → 20 is at 2h+1m, outside both
    expect(
      deltas(samples, [
        [F, F + H],
        [F + H, F + 2 * H],
      ]),
    ).toEqual([5, 3]);
  });

  it('skips uncertain/bad and non-numeric samples: the next good one is compared with the last good one', () => {
    const samples = [
      c(F - MIN, 100),
      c(F + 10 * MIN, 999, 'bad'),
      c(F + 11 * MIN, 0, 'uncertain'), // would read as a reset if used
      c(F + 12 * MIN, 'abc'),
      c(F + 13 * MIN, null),
      c(F + 14 * MIN, Number.NaN),
      c(F + 20 * MIN, 130),
    ];
    // only 100 → 130 counts: 30
    expect(deltas(samples, [[F, F + H]])).toEqual([30]);
  });

  it('wraps with rollover', () => {
    // N = 1000: 990 → 5 wraps: 1000 − 990 + 5 = 15; then 5 → 20: +15; total 30
    expect(deltas([c(F - MIN, 990), c(F + MIN, 5), c(F + 2 * MIN, 20)], [[F, F + H]], 1000)).toEqual([30]);
  });

  it('counts nothing without a baseline before the first in-window sample', () => {
    // first good sample only sets the baseline: 50 → 60 = 10
    expect(deltas([c(F + MIN, 50), c(F + 2 * MIN, 60)], [[F, F + H]])).toEqual([10]);
  });
});
