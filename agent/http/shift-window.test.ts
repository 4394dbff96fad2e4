import { describe, expect, it } from 'vitest';
import { currentShift } from './shift-window.ts';
import { dailyOccurrences } from '../kpi/calendar.ts';

const SHIFTS = [
  { name: 'early', start: '06:00', end: '14:00' },
  { name: 'late', start: '14:00', end: '22:00' },
  { name: 'night', start: '22:00', end: '06:00' },
];
const Z = 'Europe/Berlin';

describe('currentShift', () => {
  it('finds the shift holding now, in the site time zone', () => {
    const s = currentShift(SHIFTS, Z, Date.parse('2026-06-10T10:00:00Z')); // 12:00 in Berlin (CEST)
    expect(s).toEqual({ name: 'early', start: Date.parse('2026-06-10T04:00:00Z'), end: Date.parse('2026-06-10T12:00:00Z') });
  });

  it('a night shift crossing midnight, seen after midnight', () => {
    const s = currentShift(SHIFTS, Z, Date.parse('2026-06-10T01:30:00Z')); // 03:30 Berlin
    expect(s.name).toBe('night');
    expect(new Date(s.start).toISOString()).toBe('2026-06-09T20:00:00.000Z');
    expect(new Date(s.end).toISOString()).toBe('2026-06-10T04:00:00.000Z');
  });

  it('a night shift across the autumn DST change lasts 9 hours', () => {
    const s = currentShift(SHIFTS, Z, Date.parse('2026-10-25T03:00:00Z'));
    expect(s.name).toBe('night');
    expect((s.end - s.start) / 3_600_000).toBe(9);
  });

  it('between shifts it is the one that ended last; without shifts, today', () => {
    const two = SHIFTS.slice(0, 2);
    const s = currentShift(two, Z, Date.parse('2026-06-10T21:00:00Z')); // 23:00 Berlin
    expect(s.name).toBe('late');
    const d = currentShift([], Z, Date.parse('2026-06-10T21:00:00Z'));
    expect(d).toEqual({ name: 'today', start: Date.parse('2026-06-09T22:00:00Z'), end: Date.parse('2026-06-10T22:00:00Z') });
  });

  it('respects the weekdays a shift runs on', () => {
    const weekdays = [{ name: 'day', start: '08:00', end: '16:00', days: [1, 2, 3, 4, 5] }];
    // Sunday 2026-06-14 12:00 Berlin: the last shift was Friday's
    const s = currentShift(weekdays, Z, Date.parse('2026-06-14T10:00:00Z'));
    expect(new Date(s.start).toISOString()).toBe('2026-06-12T06:00:00.000Z');
  });

  it('is the KPI engine\'s shift window (groupBy=shift), also on the days clocks change', () => {
    // every 20 minutes over the spring-forward and fall-back days in Berlin
    for (const day of ['2026-03-29', '2026-10-25']) {
      for (let t = Date.parse(`${day}T00:00:00Z`) - 3_600_000; t < Date.parse(`${day}T00:00:00Z`) + 86_400_000; t += 1_200_000) {
        const s = currentShift(SHIFTS, Z, t);
        const kpi = dailyOccurrences(SHIFTS, Z, t - 86_400_000, t + 86_400_000).find((c) => c.start <= t && t < c.end);
        expect({ name: s.name, start: s.start, end: s.end }, new Date(t).toISOString()).toEqual({ name: kpi?.label, start: kpi?.start, end: kpi?.end });
      }
    }
  });
});
