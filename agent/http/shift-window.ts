/**
 * "This shift" for the overview: the shift occurrence holding `now`, in the site's time zone
 * (a shift crossing midnight or a DST change has its real length). Between shifts it is the
 * one that ended last; without configured shifts it is the current calendar day. Occurrences
 * are the KPI engine's own (agent/kpi/calendar.ts), so the tile and `groupBy=shift` rows
 * always agree on where a shift starts and ends.
 */
import { DateTime } from 'luxon';
import type { ShiftConfig } from '../../config/schema.ts';
import { dailyOccurrences } from '../kpi/calendar.ts';

export interface ShiftWindow {
  name: string;
  /** epoch ms */
  start: number;
  end: number;
}

const DAY_MS = 86_400_000;

export function currentShift(shifts: readonly ShiftConfig[], zone: string, now: number): ShiftWindow {
  const day = (): ShiftWindow => {
    const d = DateTime.fromMillis(now, { zone }).startOf('day');
    return { name: 'today', start: d.toMillis(), end: d.plus({ days: 1 }).toMillis() };
  };
  if (shifts.length === 0) return day();
  // a week back (a shift on one weekday only) and two days ahead: the occurrences that hold
  // or last ended before `now` are never cut at the range's edges
  const around = dailyOccurrences(shifts, zone, now - 8 * DAY_MS, now + 2 * DAY_MS).map((c): ShiftWindow => ({ name: c.label ?? '', start: c.start, end: c.end }));
  const holding = around.filter((s) => s.start <= now && now < s.end);
  // overlapping shifts: the one that started last
  if (holding.length > 0) return holding[holding.length - 1] as ShiftWindow;
  const ended = around.filter((s) => s.end <= now).sort((a, b) => a.end - b.end);
  return ended[ended.length - 1] ?? day();
}
