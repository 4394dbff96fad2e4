/**
 * Windows and intervals: half-open `[start, end)` in epoch milliseconds.
 * The engine walks time-ordered spans (held values) against a sorted list of windows with a
 * pointer that only moves forward, so one pass serves any number of windows.
 */

/** A half-open interval `[start, end)`, epoch ms. */
export type Interval = readonly [start: number, end: number];

/** Sorted, disjoint windows as flat arrays (prepared once per call; read on the hot path). */
export interface WindowSet {
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  readonly count: number;
}

/** An interval's end, with an end before its start read as an empty interval. */
export function intervalEnd(interval: Interval): number {
  return interval[1] > interval[0] ? interval[1] : interval[0];
}

/** True when each window starts at or after the end of the one before (adjacent is fine). */
export function areSortedDisjoint(windows: readonly Interval[]): boolean {
  for (let i = 1; i < windows.length; i++) {
    const prev = windows[i - 1] as Interval;
    const cur = windows[i] as Interval;
    if (cur[0] < intervalEnd(prev)) return false;
  }
  return true;
}

/** Flattens windows that `areSortedDisjoint` accepted. */
export function toWindowSet(windows: readonly Interval[]): WindowSet {
  const count = windows.length;
  const starts = new Float64Array(count);
  const ends = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const w = windows[i] as Interval;
    starts[i] = w[0];
    ends[i] = intervalEnd(w);
  }
  return { starts, ends, count };
}

/** Sorts intervals, merges overlapping and adjacent ones, drops empty ones. */
export function normalizeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((iv) => iv[1] > iv[0]).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && start <= last[1]) {
      if (end > last[1]) last[1] = end;
    } else {
      out.push([start, end]);
    }
  }
  return out;
}

/**
 * Adds `weight × overlap(ms)` of the span `[a, b)` to `out[w]` for every window `w` it overlaps.
 * `wi` is the first window that may still overlap; the returned pointer is the next call's
 * `wi` (spans of one signal come in time order, so it only moves forward).
 */
export function addSpan(ws: WindowSet, wi: number, a: number, b: number, weight: number, out: Float64Array): number {
  const { starts, ends, count } = ws;
  while (wi < count && (ends[wi] as number) <= a) wi++;
  for (let j = wi; j < count; j++) {
    const ws0 = starts[j] as number;
    if (ws0 >= b) break;
    const we = ends[j] as number;
    const lo = a > ws0 ? a : ws0;
    const hi = b < we ? b : we;
    if (hi > lo) out[j] = (out[j] as number) + weight * (hi - lo);
  }
  return wi;
}
