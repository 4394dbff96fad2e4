/**
 * The order the engine reads samples in: by `ts`, then by the buffer's `id` when both have
 * one, then by fields that make the order total, so a shuffled input gives identical results.
 */
import type { Quality, Sample, SampleValue } from '../model/index.ts';

/** A sample as the engine takes it: a plain `Sample` or a `StoredSample` with its `id`. */
export type KpiSample = Sample & { readonly id?: number };

// At equal ts (and no ids) a bad sample sorts last: a hold ends rather than integrating a
// value that may already be gone.
const QUALITY_RANK: Readonly<Record<Quality, number>> = { good: 0, uncertain: 1, bad: 2 };

function valueRank(v: SampleValue): number {
  if (v === null) return 0;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
      return Number.isNaN(v) ? 2 : 3;
    default:
      return 4;
  }
}

function compareValues(a: SampleValue, b: SampleValue): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra - rb;
  if (a === b || ra === 0 || ra === 2) return 0;
  // Ascending: two counter readings with the same timestamp are read as counting up.
  return (a as number | string | boolean) < (b as number | string | boolean) ? -1 : 1;
}

/** Total order of samples of one tag. */
export function compareSamples(a: KpiSample, b: KpiSample): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  const ai = a.id;
  const bi = b.id;
  if (ai !== bi) {
    if (ai === undefined) return -1;
    if (bi === undefined) return 1;
    return ai < bi ? -1 : 1;
  }
  if (a.quality !== b.quality) return QUALITY_RANK[a.quality] - QUALITY_RANK[b.quality];
  return compareValues(a.value, b.value);
}

/**
 * Sorts in place unless already in order (the buffer returns them ordered by ts, id).
 * Out of order, it sorts an index array by a copy of the timestamps: the comparator then
 * reads a flat array instead of chasing objects, 2–3× faster on shuffled input, and
 * Array#sort (TimSort) keeps nearly sorted input (late samples) cheap.
 */
export function sortSamplesInPlace<T extends KpiSample>(samples: T[]): T[] {
  const n = samples.length;
  let i = 1;
  while (i < n && compareSamples(samples[i - 1] as T, samples[i] as T) <= 0) i++;
  if (i >= n) return samples;
  const ts = new Float64Array(n);
  const order = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    ts[k] = (samples[k] as T).ts;
    order[k] = k;
  }
  // NaN (infinite timestamps) is falsy and falls through to the full comparison.
  order.sort((a, b) => (ts[a] as number) - (ts[b] as number) || compareSamples(samples[a] as T, samples[b] as T));
  const copy = samples.slice();
  for (let k = 0; k < n; k++) samples[k] = copy[order[k] as number] as T;
  return samples;
}
