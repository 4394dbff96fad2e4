import { describe, expect, it } from 'vitest';
import { CalendarError, calendarCuts, dailyOccurrences, hourBoundaries, priceSegments } from './calendar.ts';
import { isAgentError } from '../errors.ts';

const H = 3_600_000;

describe('calendar (site time zone)', () => {
  it('days and hours have their real length on DST days', () => {
    // Berlin 2024-03-31: 23 h; 2024-10-27: 25 h
    const spring = calendarCuts('day', 'Europe/Berlin', Date.parse('2024-03-31T00:00:00+01:00'), Date.parse('2024-04-01T00:00:00+02:00'));
    expect(spring.map((c) => (c.end - c.start) / H)).toEqual([23]);
    const fall = calendarCuts('day', 'Europe/Berlin', Date.parse('2024-10-27T00:00:00+02:00'), Date.parse('2024-10-28T00:00:00+01:00'));
    expect(fall.map((c) => (c.end - c.start) / H)).toEqual([25]);
    expect(calendarCuts('hour', 'Europe/Berlin', fall[0]?.start ?? 0, fall[0]?.end ?? 0)).toHaveLength(25);
  });

  it('shifts across midnight and DST have their real length; weekdays filter the start day', () => {
    const shifts = [{ name: 'night', start: '22:00', end: '06:00', days: [6] }]; // Saturday nights only
    const occ = dailyOccurrences(shifts, 'Europe/Berlin', Date.parse('2024-03-25T00:00:00+01:00'), Date.parse('2024-04-02T00:00:00+02:00'));
    expect(occ.map((o) => [new Date(o.start).toISOString(), (o.end - o.start) / H])).toEqual([['2024-03-30T21:00:00.000Z', 7]]);
  });

  it('says what cannot be computed with the catalogue code SFA_ERR_CALENDAR: a bad zone, a bad HH:MM, too many periods', () => {
    const failure = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const cases: [() => unknown, RegExp][] = [
      [() => calendarCuts('day', 'Mars/Olympus', 0, 86_400_000), /invalid time zone "Mars\/Olympus"/],
      [() => dailyOccurrences([{ name: 'x', start: '6 am', end: '14:00' }], 'UTC', 0, 86_400_000), /"6 am" is not a wall-clock time HH:MM/],
      [() => calendarCuts('hour', 'UTC', 0, 10 * H, 5), /more than 5 hours: narrow from\/to/],
      [() => hourBoundaries('Mars/Olympus', 0, H), /invalid time zone/],
    ];
    for (const [f, detail] of cases) {
      const e = failure(f);
      expect(e).toBeInstanceOf(CalendarError);
      expect(isAgentError(e) && e.code).toBe('SFA_ERR_CALENDAR');
      expect((e as CalendarError).detail).toMatch(detail);
      expect((e as CalendarError).message).toMatch(/ \[SFA_ERR_CALENDAR\]$/);
    }
  });

  it('hour boundaries: UTC hours in whole-hour zones, local hours in half-hour zones', () => {
    const from = Date.parse('2024-03-30T20:10:00Z');
    const to = Date.parse('2024-03-31T03:00:00Z');
    expect(hourBoundaries('Europe/Berlin', from, to)).toEqual(calendarCuts('hour', 'Europe/Berlin', from, to).slice(1).map((c) => c.start).concat([to]));
    // India +05:30: local hours start at :30 UTC
    const ist = hourBoundaries('Asia/Kolkata', Date.parse('2024-01-01T00:00:00Z'), Date.parse('2024-01-01T03:00:00Z'));
    expect(ist.map((t) => new Date(t).toISOString().slice(11, 16))).toEqual(['00:30', '01:30', '02:30']);
  });

  it('time-of-use tariffs: periods, the default price between them, the first listed wins', () => {
    const tariff = {
      type: 'time-of-use' as const,
      pricePerKwh: 0.1,
      periods: [
        { name: 'peak', start: '08:00', end: '12:00', pricePerKwh: 0.3 },
        { name: 'shoulder', start: '11:00', end: '14:00', pricePerKwh: 0.2 },
      ],
    };
    const seg = priceSegments(tariff, 'UTC', Date.parse('2024-01-15T06:00:00Z'), Date.parse('2024-01-15T16:00:00Z'));
    expect(seg.map((x) => [new Date(x.start).toISOString().slice(11, 16), new Date(x.end).toISOString().slice(11, 16), x.pricePerKwh])).toEqual([
      ['06:00', '08:00', 0.1],
      ['08:00', '12:00', 0.3],
      ['12:00', '14:00', 0.2],
      ['14:00', '16:00', 0.1],
    ]);
  });
});
