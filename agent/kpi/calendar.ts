/**
 * Wall-clock calendars in the site's IANA time zone (luxon; no hand-written DST arithmetic):
 * the hours and days of a range, the occurrences of shifts, and the periods of a
 * time-of-use tariff. A shift across midnight or a DST change has its real length
 * (22:00 → 06:00 is 7 h on the night clocks go forward, 9 h when they go back).
 */
import { DateTime } from 'luxon';
import { AgentError } from '../errors.ts';
import type { Interval } from './windows.ts';

/** A wall-clock period that starts each day (on `days`, ISO weekdays 1 = Monday … 7 = Sunday). */
export interface DailyPeriod {
  name: string;
  /** "HH:MM" */
  start: string;
  /** "HH:MM"; at or before `start` means the next day */
  end: string;
  days?: readonly number[] | undefined;
}

/** A cut of time: `[start, end)` epoch ms plus the name of the period it comes from. */
export interface Cut {
  start: number;
  end: number;
  label?: string;
}

/** A calendar that cannot be computed: a bad zone or HH:MM, or more periods than the caller allows. */
export class CalendarError extends AgentError {
  constructor(detail: string) {
    super('SFA_ERR_CALENDAR', detail);
    this.name = 'CalendarError';
  }
}

function hhmm(s: string): [number, number] {
  const m = /^(\d{1,2}):(\d{2})$/.exec(s);
  if (!m) throw new CalendarError(`"${s}" is not a wall-clock time HH:MM`);
  return [Number(m[1]), Number(m[2])];
}

/** `[from, to)` cut at the site's hours or days (the first and last cut clipped). */
export function calendarCuts(unit: 'hour' | 'day', zone: string, from: number, to: number, maxCuts = Infinity): Cut[] {
  const out: Cut[] = [];
  let t = DateTime.fromMillis(from, { zone }).startOf(unit);
  if (!t.isValid) throw new CalendarError(`invalid time zone "${zone}"`);
  while (t.toMillis() < to) {
    const next: DateTime = unit === 'hour' ? t.plus({ hours: 1 }) : t.plus({ days: 1 }).startOf('day');
    out.push({ start: Math.max(t.toMillis(), from), end: Math.min(next.toMillis(), to) });
    if (out.length > maxCuts) throw new CalendarError(`more than ${maxCuts} ${unit}s: narrow from/to`);
    t = next;
  }
  return out;
}

const HOUR_MS = 3_600_000;

/**
 * The instants in `[from, to]` where a local hour starts. Where the zone's offset is a whole
 * number of hours throughout (checked once per local day, and at both ends), these are the UTC
 * hours, computed without a date library call per hour; otherwise luxon walks the hours.
 */
export function hourBoundaries(zone: string, from: number, to: number): number[] {
  let whole = true;
  for (let t = from; ; t += 12 * HOUR_MS) {
    const at = Math.min(t, to);
    const dt = DateTime.fromMillis(at, { zone });
    if (!dt.isValid) throw new CalendarError(`invalid time zone "${zone}"`);
    if (dt.offset % 60 !== 0) {
      whole = false;
      break;
    }
    if (at >= to) break;
  }
  const out: number[] = [];
  if (!whole) {
    let t = DateTime.fromMillis(from, { zone }).startOf('hour');
    if (t.toMillis() < from) t = t.plus({ hours: 1 });
    for (; t.toMillis() <= to; t = t.plus({ hours: 1 })) out.push(t.toMillis());
    return out;
  }
  for (let t = Math.ceil(from / HOUR_MS) * HOUR_MS; t <= to; t += HOUR_MS) out.push(t);
  return out;
}

/**
 * The occurrences of daily periods overlapping `[from, to)`, clipped to it, in time order.
 * A period starting at a wall-clock time that does not exist that day (inside a spring-forward
 * gap) starts at the first instant after the gap (luxon's rule).
 */
export function dailyOccurrences(periods: readonly DailyPeriod[], zone: string, from: number, to: number, maxCuts = Infinity): Cut[] {
  const parsed = periods.map((p) => ({ p, s: hhmm(p.start), e: hhmm(p.end) }));
  const out: Cut[] = [];
  // start a day early: a period of yesterday may run past midnight into the range
  let day = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 1 });
  if (!day.isValid) throw new CalendarError(`invalid time zone "${zone}"`);
  while (day.toMillis() < to) {
    for (const { p, s, e } of parsed) {
      if (p.days && !p.days.includes(day.weekday)) continue;
      const start = day.set({ hour: s[0], minute: s[1] });
      const crosses = e[0] * 60 + e[1] <= s[0] * 60 + s[1];
      const end = (crosses ? day.plus({ days: 1 }) : day).set({ hour: e[0], minute: e[1] });
      const a = Math.max(start.toMillis(), from);
      const b = Math.min(end.toMillis(), to);
      if (b > a) out.push({ start: a, end: b, label: p.name });
    }
    day = day.plus({ days: 1 }).startOf('day');
    if (out.length > maxCuts) throw new CalendarError(`more than ${maxCuts} periods: narrow from/to`);
  }
  return out.sort((x, y) => x.start - y.start);
}

/** A period of one price: `[start, end)` and the price per kWh. */
export interface PriceSegment {
  start: number;
  end: number;
  pricePerKwh: number;
}

export type Tariff =
  | { type: 'flat'; pricePerKwh: number }
  | { type: 'time-of-use'; pricePerKwh: number; periods: readonly (DailyPeriod & { pricePerKwh: number })[] };

/**
 * The tariff's prices over `[from, to)` as contiguous segments. Where time-of-use periods
 * overlap, the one listed first wins; time in no period has the tariff's own `pricePerKwh`.
 */
export function priceSegments(tariff: Tariff, zone: string, from: number, to: number): PriceSegment[] {
  if (tariff.type === 'flat') return to > from ? [{ start: from, end: to, pricePerKwh: tariff.pricePerKwh }] : [];
  const priceOf = new Map(tariff.periods.map((p, i) => [String(i), p.pricePerKwh]));
  const occ = dailyOccurrences(
    tariff.periods.map((p, i) => ({ ...p, name: String(i) })),
    zone,
    from,
    to,
  );
  // paint: split [from, to) at every boundary; each piece takes the first-listed period covering it
  const bounds = new Set<number>([from, to]);
  for (const o of occ) {
    bounds.add(o.start);
    bounds.add(o.end);
  }
  const points = [...bounds].sort((a, b) => a - b);
  const out: PriceSegment[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i] as number;
    const b = points[i + 1] as number;
    let best: number | undefined;
    for (const o of occ) {
      if (o.start <= a && o.end >= b) {
        const idx = Number(o.label);
        if (best === undefined || idx < best) best = idx;
      }
    }
    const price = best === undefined ? tariff.pricePerKwh : (priceOf.get(String(best)) as number);
    const last = out[out.length - 1];
    if (last && last.end === a && last.pricePerKwh === price) last.end = b;
    else out.push({ start: a, end: b, pricePerKwh: price });
  }
  return out;
}

/** Cuts as intervals. */
export function toIntervals(cuts: readonly Cut[]): Interval[] {
  return cuts.map((c): Interval => [c.start, c.end]);
}
