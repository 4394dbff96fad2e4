/**
 * From machine rows to the rows a user sees: windows are cut finer where a price changes
 * (time-of-use tariff) or where the caller reads the buffer in chunks, each fine window gets
 * its cost and carbon, and the fine components are summed back into the user's windows.
 * Summing is exact: the components are additive (a counter delta belongs to one window, a
 * held value is clipped to each), which the property tests check.
 */
import { ratiosFromComponents, ZERO_COMPONENTS, type KpiComponents, type KpiRatios } from './components.ts';
import { leadTimeStats, mergeLeadTime, type LeadTimeStats } from './lead-time.ts';
import type { PriceSegment } from './calendar.ts';
import type { Interval } from './windows.ts';

export interface FineWindows {
  /** sorted by start */
  fine: Interval[];
  /** the index of the user's window each fine window belongs to */
  parent: number[];
}

/**
 * Splits each window at the boundaries strictly inside it. Windows may overlap (each gets its
 * own pieces); the result is sorted by start.
 */
export function splitWindows(windows: readonly Interval[], boundaries: readonly number[]): FineWindows {
  const b = [...new Set(boundaries)].sort((x, y) => x - y);
  const pieces: { iv: Interval; parent: number }[] = [];
  windows.forEach((w, i) => {
    let lo = 0;
    let hi = b.length;
    // first boundary > w[0]
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((b[mid] as number) <= w[0]) lo = mid + 1;
      else hi = mid;
    }
    let start = w[0];
    for (let k = lo; k < b.length && (b[k] as number) < w[1]; k++) {
      pieces.push({ iv: [start, b[k] as number], parent: i });
      start = b[k] as number;
    }
    if (w[1] > start) pieces.push({ iv: [start, w[1]], parent: i });
  });
  pieces.sort((x, y) => x.iv[0] - y.iv[0] || x.parent - y.parent);
  return { fine: pieces.map((p) => p.iv), parent: pieces.map((p) => p.parent) };
}

/** The price that holds over `[a, b)` (segments are contiguous; a fine window never spans two). */
export function priceAt(segments: readonly PriceSegment[], t: number): number | null {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = segments[mid] as PriceSegment;
    if (t < s.start) hi = mid - 1;
    else if (t >= s.end) lo = mid + 1;
    else return s.pricePerKwh;
  }
  return null;
}

/** Adds cost (energy × price) and carbon (energy × factor) to a fine window's components. */
export function withCostAndCarbon(c: Readonly<KpiComponents>, pricePerKwh: number | null, kgCo2ePerKwh: number | null): KpiComponents {
  const e = c.energyKwh;
  return {
    ...c,
    energyCost: e !== null && pricePerKwh !== null ? e * pricePerKwh : null,
    co2eKg: e !== null && kgCo2ePerKwh !== null ? e * kgCo2ePerKwh : null,
  };
}

/**
 * Accumulates fine components into their parents (`acc[parent]`, created on first use as a
 * copy the accumulator owns, then added to in place: the same sums as `mergeComponents`
 * without an object per step — this is the hot path of a month of cached hours).
 */
export function accumulate(acc: (KpiComponents | undefined)[], parent: number, c: Readonly<KpiComponents>): void {
  const cur = acc[parent];
  if (cur === undefined) {
    acc[parent] = { ...c, leadTimeHist: { ...c.leadTimeHist } };
    return;
  }
  cur.windowS += c.windowS;
  cur.plannedS += c.plannedS;
  cur.runningS += c.runningS;
  cur.idleS += c.idleS;
  cur.downS += c.downS;
  cur.plannedStopS += c.plannedStopS;
  cur.unknownS += c.unknownS;
  cur.unscheduledS += c.unscheduledS;
  cur.energyKwh = addKnown(cur.energyKwh, c.energyKwh);
  cur.unitsTotal = addKnown(cur.unitsTotal, c.unitsTotal);
  cur.unitsGood = addKnown(cur.unitsGood, c.unitsGood);
  cur.unitsScrap = addKnown(cur.unitsScrap, c.unitsScrap);
  cur.idealS = addKnown(cur.idealS, c.idealS);
  cur.qaInspected = addKnown(cur.qaInspected, c.qaInspected);
  cur.qaRejected = addKnown(cur.qaRejected, c.qaRejected);
  cur.qaEscaped = addKnown(cur.qaEscaped, c.qaEscaped);
  cur.qaFalseReject = addKnown(cur.qaFalseReject, c.qaFalseReject);
  cur.energyCost = addKnown(cur.energyCost, c.energyCost);
  cur.co2eKg = addKnown(cur.co2eKg, c.co2eKg);
  if (c.orders > 0) {
    const m = mergeLeadTime(cur, c);
    cur.orders = m.orders;
    cur.ordersFromRelease = m.ordersFromRelease;
    cur.leadTimeSumS = m.leadTimeSumS;
    cur.leadTimeMinS = m.leadTimeMinS;
    cur.leadTimeMaxS = m.leadTimeMaxS;
    cur.leadTimeHist = m.leadTimeHist;
  }
}

function addKnown(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a + b;
}

export interface KpiFigures extends KpiRatios {
  leadTime: LeadTimeStats;
}

/** Every ratio and the lead-time figures of a row, from its components only. */
export function figuresFromComponents(c: Readonly<KpiComponents>): KpiFigures {
  return { ...ratiosFromComponents(c), leadTime: leadTimeStats(c) };
}

export { ZERO_COMPONENTS };
