/**
 * Cumulative counters (energy_kwh, parts_*, qa_*): the delta between two consecutive
 * good-quality numeric samples belongs to the window holding the later sample (DESIGN.md §4).
 */
import type { KpiSample } from './sample-order.ts';
import type { WindowSet } from './windows.ts';

/**
 * The increase from `prev` to `next`.
 *
 * A drop is a reset (the counter restarted from 0 and counted up to `next`), so the delta is
 * `next` (0 if `next` is negative). With `rollover` N (the value at which the counter wraps
 * to 0, in stored units, i.e. after `scale`) a drop is read as a wrap, delta `N − prev + next`,
 * when that is plausible: `0 ≤ next`, `prev ≤ N` and `N − prev + next < N / 2` (which means
 * `prev` was in the upper half of the range and the counter advanced less than half a
 * revolution). Otherwise it is a reset. A reset from near the top of the range to a small
 * value cannot be told from a wrap; it is counted as a wrap.
 *
 * `rollover` 0 (or any value ≤ 0) means the counter does not wrap.
 */
export function counterDelta(prev: number, next: number, rollover: number): number {
  if (next >= prev) return next - prev;
  if (rollover > 0 && next >= 0 && prev <= rollover) {
    const wrapped = rollover - prev + next;
    if (wrapped < rollover / 2) return wrapped;
  }
  return next > 0 ? next : 0;
}

/**
 * Adds each delta of one counter tag to `out[w]`, `w` the window holding the later sample.
 *
 * `sorted`: the tag's samples in `compareSamples` order. Uncertain/bad samples and
 * non-numeric or non-finite values are skipped: the next good one is compared with the
 * previous good one. The first good sample only sets the baseline (that is why the caller
 * passes the last good sample before the first window).
 */
export function accumulateCounterDeltas(
  sorted: readonly KpiSample[],
  ws: WindowSet,
  rollover: number,
  out: Float64Array,
): void {
  const { starts, ends, count } = ws;
  const n = sorted.length;
  let prev = 0;
  let hasPrev = false;
  let wi = 0;
  for (let i = 0; i < n; i++) {
    const s = sorted[i] as KpiSample;
    if (s.quality !== 'good') continue;
    const v = s.value;
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (hasPrev) {
      const t = s.ts;
      while (wi < count && (ends[wi] as number) <= t) wi++;
      if (wi === count) return;
      if ((starts[wi] as number) <= t) out[wi] = (out[wi] as number) + counterDelta(prev, v, rollover);
    }
    prev = v;
    hasPrev = true;
  }
}
