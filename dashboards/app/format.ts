/**
 * Numbers, dates and durations in the site's locale and time zone (served by /api/site),
 * never the browser's: a tablet set to another language still shows the plant's clock.
 */
export class Fmt {
  private readonly nums = new Map<string, Intl.NumberFormat>();
  private readonly clock: Intl.DateTimeFormat;
  private readonly hm: Intl.DateTimeFormat;
  private readonly dateTime: Intl.DateTimeFormat;
  private readonly dayHm: Intl.DateTimeFormat;
  private readonly day: Intl.DateTimeFormat;

  constructor(
    readonly locale: string,
    readonly timeZone: string,
  ) {
    this.clock = new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit' });
    this.hm = new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit' });
    this.dateTime = new Intl.DateTimeFormat(locale, { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    this.dayHm = new Intl.DateTimeFormat(locale, { timeZone, weekday: 'short', day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' });
    this.day = new Intl.DateTimeFormat(locale, { timeZone, weekday: 'short', day: '2-digit', month: '2-digit' });
  }

  private nf(min: number, max: number, style: 'decimal' | 'percent' = 'decimal'): Intl.NumberFormat {
    const k = `${style}:${min}:${max}`;
    let f = this.nums.get(k);
    if (!f) {
      f = new Intl.NumberFormat(this.locale, { style, minimumFractionDigits: min, maximumFractionDigits: max });
      this.nums.set(k, f);
    }
    return f;
  }

  /** "–" for a value that does not exist (no good units yet, no data) */
  num(v: number | null | undefined, digits = 0): string {
    return v === null || v === undefined || !Number.isFinite(v) ? '–' : this.nf(digits, digits).format(v);
  }

  /** a ratio 0–1 as a percentage, the locale's way ("72.4%", "72,4 %") */
  pct(v: number | null | undefined, digits = 1): string {
    return v === null || v === undefined || !Number.isFinite(v) ? '–' : this.nf(digits, digits, 'percent').format(v);
  }

  /** a ratio 0–1 as a bare percentage number, for "<number> %" layouts */
  pctNum(v: number | null | undefined, digits = 1): string {
    return v === null || v === undefined || !Number.isFinite(v) ? '–' : this.nf(digits, digits).format(v * 100);
  }

  time(ms: number): string {
    return this.clock.format(ms);
  }

  hourMinute(ms: number): string {
    return this.hm.format(ms);
  }

  dayTime(ms: number): string {
    return this.dayHm.format(ms);
  }

  /** "Tue 17/11" */
  weekday(ms: number): string {
    return this.day.format(ms);
  }

  /** a bucket length: "5 min", "1 h", "6 h" */
  step(s: number): string {
    return s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`;
  }

  stamp(ms: number | string | null | undefined): string {
    if (ms === null || ms === undefined) return '–';
    const t = typeof ms === 'string' ? Date.parse(ms) : ms;
    return Number.isFinite(t) ? this.dateTime.format(t) : '–';
  }

  /** seconds as "45 s", "12 min 05 s", "3 h 07 min", "2 d 04 h" */
  duration(s: number | null | undefined): string {
    if (s === null || s === undefined || !Number.isFinite(s)) return '–';
    const t = Math.max(0, Math.floor(s));
    const two = (n: number): string => String(n).padStart(2, '0');
    if (t < 60) return `${t} s`;
    if (t < 3600) return `${Math.floor(t / 60)} min ${two(t % 60)} s`;
    if (t < 86_400) return `${Math.floor(t / 3600)} h ${two(Math.floor((t % 3600) / 60))} min`;
    return `${Math.floor(t / 86_400)} d ${two(Math.floor((t % 86_400) / 3600))} h`;
  }

  bytes(n: number | null | undefined): string {
    if (n === null || n === undefined || !Number.isFinite(n)) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${this.num(v, i === 0 ? 0 : 1)} ${units[i] ?? 'B'}`;
  }
}
