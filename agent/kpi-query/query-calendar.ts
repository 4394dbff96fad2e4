/**
 * The windows of a query, cut in the site's time zone (hours, days, shifts), and the calendar
 * arithmetic the components need (hour boundaries, price changes, planned time), memoised for
 * recent ranges: a dashboard asks the same ranges again and again.
 */
import {
  calendarCuts,
  CalendarError,
  dailyOccurrences,
  hourBoundaries,
  priceSegments,
  type Cut,
  type Interval,
  type PriceSegment,
  type Tariff,
} from '../kpi/index.ts';
import { KpiQueryError } from './kpi-query-error.ts';
import type { KpiPlant } from './ports.ts';
import type { KpiQuery } from './query-types.ts';

const MEMO_SIZE = 64;

export class QueryCalendar {
  private readonly memo = new Map<string, unknown>();

  constructor(
    private readonly plant: KpiPlant,
    private readonly maxWindows: number,
  ) {}

  /** The query's windows (any groupBy but order), a calendar error as a bad query. */
  cuts(q: KpiQuery): Cut[] {
    try {
      return this.cutsOf(q);
    } catch (e) {
      if (e instanceof CalendarError) throw new KpiQueryError(e.detail, { cause: e });
      throw e;
    }
  }

  /** The site's hour starts in `[lo, hi]`. */
  hours(lo: number, hi: number): number[] {
    return this.remember(`h${lo}|${hi}`, () => hourBoundaries(this.plant.site.timezone, lo, hi));
  }

  /** The same, as a set (a fine window on two of them is one full hour). */
  hourStarts(lo: number, hi: number): Set<number> {
    return this.remember(`hs${lo}|${hi}`, () => new Set(this.hours(lo, hi)));
  }

  /** The tariff's price segments over `[lo, hi)` (none without a tariff). */
  priceSegments(lo: number, hi: number): PriceSegment[] {
    const tariff = this.tariff();
    return tariff ? this.remember(`p${lo}|${hi}`, () => priceSegments(tariff, this.plant.site.timezone, lo, hi)) : [];
  }

  tariff(): Tariff | undefined {
    return this.plant.energy.tariff as Tariff | undefined;
  }

  /** Shifts make time outside them unplanned; without shifts every hour is planned. */
  plannedIntervals(from: number, to: number): Interval[] | undefined {
    if (this.plant.shifts.length === 0) return undefined;
    return this.remember(`s${from}|${to}`, () => dailyOccurrences(this.plant.shifts, this.plant.site.timezone, from, to).map((c): Interval => [c.start, c.end]));
  }

  /** The windows of a query, aligned to the site's wall clock. */
  private cutsOf(q: KpiQuery): Cut[] {
    const zone = this.plant.site.timezone;
    switch (q.groupBy) {
      case 'none':
        return [{ start: q.from, end: q.to }];
      case 'hour':
      case 'day':
        return this.remember(`c${q.groupBy}${q.from}|${q.to}`, () => calendarCuts(q.groupBy as 'hour' | 'day', zone, q.from, q.to, this.maxWindows));
      case 'shift':
        if (this.plant.shifts.length === 0) throw new KpiQueryError('groupBy=shift needs shifts[] in the config');
        return dailyOccurrences(this.plant.shifts, zone, q.from, q.to, this.maxWindows);
      case 'order':
        throw new KpiQueryError('groupBy=order has per-machine windows');
    }
  }

  private remember<T>(key: string, make: () => T): T {
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit as T;
    const v = make();
    if (this.memo.size >= MEMO_SIZE) this.memo.clear();
    this.memo.set(key, v);
    return v;
  }
}

/**
 * Planned ms of ranges, from the planned intervals (shifts; all of a range without them): a
 * binary search per range instead of a pass over a month of shifts for each of its hours.
 */
export class PlannedTime {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private longest = 0;

  constructor(private readonly planned: readonly Interval[] | undefined) {
    for (const [s, e] of [...(planned ?? [])].sort((x, y) => x[0] - y[0])) {
      this.starts.push(s);
      this.ends.push(e);
      this.longest = Math.max(this.longest, e - s);
    }
  }

  /** Planned ms of `[a, b)` (overlapping intervals count each, as a sum over them would). */
  ms(a: number, b: number): number {
    if (!this.planned) return b - a;
    // the intervals starting before b; of them, only those starting after a − longest can reach a
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.starts[mid] as number) < b) lo = mid + 1;
      else hi = mid;
    }
    let ms = 0;
    for (let i = lo - 1; i >= 0 && (this.starts[i] as number) > a - this.longest - 1; i--) {
      ms += Math.max(0, Math.min(b, this.ends[i] as number) - Math.max(a, this.starts[i] as number));
    }
    return ms;
  }
}
