/**
 * Lead-time components: additive (count, sum, min, max) plus a fixed logarithmic histogram,
 * so a line, a site or a day is the sum of its parts and its percentiles are recomputed from
 * the merged histogram, never averaged (DESIGN.md §4).
 *
 * Buckets are 1 % wide: bucket k (k ≥ 1) holds lead times in (1.01^(k−1), 1.01^k] seconds,
 * bucket 0 everything ≤ 1 s. A percentile is reported as its bucket's geometric middle,
 * clamped to the measured min and max, so it is within ±0.5 % of the exact order statistic
 * (exact when the rank is the first or the last, or all orders fall in one bucket).
 */

export const LEAD_TIME_BUCKET_RATIO = 1.01;
const LN_RATIO = Math.log(LEAD_TIME_BUCKET_RATIO);

/** Sparse histogram: bucket index (as a string key, JSON-friendly) → orders. */
export type LeadTimeHistogram = Readonly<Record<string, number>>;

export interface LeadTimeComponents {
  /** orders completed in the window */
  orders: number;
  /** of them, measured from release (the rest from start) */
  ordersFromRelease: number;
  leadTimeSumS: number;
  /** null when no order */
  leadTimeMinS: number | null;
  leadTimeMaxS: number | null;
  leadTimeHist: LeadTimeHistogram;
}

export const ZERO_LEAD_TIME: Readonly<LeadTimeComponents> = Object.freeze({
  orders: 0,
  ordersFromRelease: 0,
  leadTimeSumS: 0,
  leadTimeMinS: null,
  leadTimeMaxS: null,
  leadTimeHist: Object.freeze({}),
});

/** What a KPI row shows (DESIGN.md §6 `leadTime`). */
export interface LeadTimeStats {
  orders: number;
  meanS: number | null;
  p50S: number | null;
  p90S: number | null;
  maxS: number | null;
  /** what the lead times are measured from: release, start, or some of each */
  basis: 'released' | 'started' | 'mixed' | null;
}

export function leadTimeBucket(seconds: number): number {
  if (!(seconds > 1)) return 0;
  // the small epsilon keeps exact powers (e.g. 1.01^k computed in floating point) in bucket k
  return Math.max(1, Math.ceil(Math.log(seconds) / LN_RATIO - 1e-9));
}

function bucketMiddle(k: number): number {
  return k === 0 ? 1 : Math.exp((k - 0.5) * LN_RATIO);
}

function minKnown(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
function maxKnown(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

/** The components of a list of lead times (`fromRelease[i]`: measured from release). */
export function leadTimeComponents(items: readonly { leadTimeS: number; fromRelease: boolean }[]): LeadTimeComponents {
  const hist: Record<string, number> = {};
  let sum = 0;
  let min: number | null = null;
  let max: number | null = null;
  let fromRelease = 0;
  for (const it of items) {
    const v = it.leadTimeS;
    sum += v;
    min = minKnown(min, v);
    max = maxKnown(max, v);
    if (it.fromRelease) fromRelease++;
    const k = String(leadTimeBucket(v));
    hist[k] = (hist[k] ?? 0) + 1;
  }
  return { orders: items.length, ordersFromRelease: fromRelease, leadTimeSumS: sum, leadTimeMinS: min, leadTimeMaxS: max, leadTimeHist: hist };
}

export function mergeLeadTime(a: Readonly<LeadTimeComponents>, b: Readonly<LeadTimeComponents>): LeadTimeComponents {
  const hist: Record<string, number> = { ...a.leadTimeHist };
  for (const [k, n] of Object.entries(b.leadTimeHist)) hist[k] = (hist[k] ?? 0) + n;
  return {
    orders: a.orders + b.orders,
    ordersFromRelease: a.ordersFromRelease + b.ordersFromRelease,
    leadTimeSumS: a.leadTimeSumS + b.leadTimeSumS,
    leadTimeMinS: minKnown(a.leadTimeMinS, b.leadTimeMinS),
    leadTimeMaxS: maxKnown(a.leadTimeMaxS, b.leadTimeMaxS),
    leadTimeHist: hist,
  };
}

/** Nearest-rank percentile (q in (0, 1]) from the histogram. */
export function leadTimePercentile(c: Readonly<LeadTimeComponents>, q: number, sortedKeys?: readonly number[]): number | null {
  if (c.orders <= 0 || c.leadTimeMinS === null || c.leadTimeMaxS === null) return null;
  const rank = Math.max(1, Math.ceil(q * c.orders));
  // the extremes are known exactly
  if (rank >= c.orders) return c.leadTimeMaxS;
  if (rank === 1) return c.leadTimeMinS;
  const keys =
    sortedKeys ??
    Object.keys(c.leadTimeHist)
      .map(Number)
      .sort((x, y) => x - y);
  let cum = 0;
  for (const k of keys) {
    cum += c.leadTimeHist[String(k)] ?? 0;
    if (cum >= rank) return Math.min(c.leadTimeMaxS, Math.max(c.leadTimeMinS, bucketMiddle(k)));
  }
  return c.leadTimeMaxS;
}

export function leadTimeStats(c: Readonly<LeadTimeComponents>): LeadTimeStats {
  if (c.orders <= 0) return { orders: 0, meanS: null, p50S: null, p90S: null, maxS: null, basis: null };
  const keys = c.orders > 2 ? Object.keys(c.leadTimeHist).map(Number).sort((x, y) => x - y) : [];
  return {
    orders: c.orders,
    meanS: c.leadTimeSumS / c.orders,
    p50S: leadTimePercentile(c, 0.5, keys),
    p90S: leadTimePercentile(c, 0.9, keys),
    maxS: c.leadTimeMaxS,
    basis: c.ordersFromRelease === c.orders ? 'released' : c.ordersFromRelease === 0 ? 'started' : 'mixed',
  };
}
