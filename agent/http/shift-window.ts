/**
 * "This shift" for the overview: the shift occurrence holding `now`, in the site's time zone
 * (a shift crossing midnight or a DST change has its real length). Between shifts it is the
 * one that ended last; without configured shifts it is the current calendar day.
 */
import { DateTime } from 'luxon';
import type { ShiftConfig } from '../../config/schema.ts';

export interface ShiftWindow {
  name: string;
  /** epoch ms */
  start: number;
  end: number;
}

export function shiftOccurrences(shifts: readonly ShiftConfig[], zone: string, from: number, to: number): ShiftWindow[] {
  const out: ShiftWindow[] = [];
  let day = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 1 });
  while (day.toMillis() < to) {
    for (const s of shifts) {
      if (s.days && !s.days.includes(day.weekday)) continue;
      const [sh, sm] = s.start.split(':').map(Number) as [number, number];
      const [eh, em] = s.end.split(':').map(Number) as [number, number];
      const start = day.set({ hour: sh, minute: sm });
      let end = day.set({ hour: eh, minute: em });
      if (end <= start) end = end.plus({ days: 1 });
      if (end.toMillis() > from && start.toMillis() < to) out.push({ name: s.name, start: start.toMillis(), end: end.toMillis() });
    }
    day = day.plus({ days: 1 });
  }
  return out.sort((a, b) => a.start - b.start);
}

export function currentShift(shifts: readonly ShiftConfig[], zone: string, now: number): ShiftWindow {
  const day = (): ShiftWindow => {
    const d = DateTime.fromMillis(now, { zone }).startOf('day');
    return { name: 'today', start: d.toMillis(), end: d.plus({ days: 1 }).toMillis() };
  };
  if (shifts.length === 0) return day();
  const around = shiftOccurrences(shifts, zone, now - 8 * 86_400_000, now + 1);
  const holding = around.filter((s) => s.start <= now && now < s.end);
  // overlapping shifts: the one that started last
  if (holding.length > 0) return holding[holding.length - 1] as ShiftWindow;
  const ended = around.filter((s) => s.end <= now).sort((a, b) => a.end - b.end);
  return ended[ended.length - 1] ?? day();
}
