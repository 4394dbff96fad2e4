/**
 * The buffer's reads for the KPI service (agent/kpi-query), on the buffer's own connection:
 *   - hour rows of many series at once, only the columns the KPIs read, into typed arrays (a
 *     month of 50 machines is ~150,000 rows: a row object each would cost more than the read);
 *     a writer adds the open holds of its newest samples, so every past hour is complete;
 *   - every sample of a few rare signals (order events, order_id changes), found through the
 *     rollup tables instead of a scan of the whole samples table (indexed by time only): a
 *     bucket that counts one sample holds it (time, value, quality), only buckets of several
 *     are read from raw rows, by time range.
 */
import { QUALITY_NAME } from './quality-codes.ts';
import type Database from 'better-sqlite3';
import { isCounterSignal, type Sample, type SampleValue } from '../model/index.ts';
import { HOUR_MS, type OpenHoldHour } from './rollups.ts';
import type { RollupStore } from './rollup-store.ts';

/** One series' hour rows in [from, to), ascending by hour. */
export interface HourSeries {
  machine: string;
  signal: string;
  bucket: Float64Array;
  /** counters: Σ deltas; other gauges: ∫ value dt (value·ms); `state`: empty */
  value: Float64Array;
  /** `state`: ms in each state (MACHINE_STATES order: running, idle, down, planned_stop); else none */
  stateMs: Float64Array[];
}

/** A sample found through the rollups: its id only where the order of equal times needs it. */
export type LocatedSample = Sample & { id?: number };

type DbValue = number | string | null;
type SeriesRow = { id: number; machine: string; signal: string };
/** bucket, n, first_ts, last_ts, last_value, last_quality */
type CountRow = [number, number, number, number, DbValue, number];

/** the state columns, in MACHINE_STATES order */
const STATE_COLUMNS = ['hourRunning', 'hourIdle', 'hourDown', 'hourPlannedStop'] as const;
/** raw reads (buckets of several samples) past this share of the data's time span: one scan is cheaper */
const MAX_RAW_SHARE = 0.05;
/** times per statement when ids of tied samples are looked up (bound parameters: SQLite allows 32,766) */
const TIMES_PER_READ = 500;

export class KpiReads {
  private stmtCache: ReturnType<KpiReads['prepare']> | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly rollups: RollupStore,
  ) {}

  /** Hour rows of the series of `machines` whose signal is in `signals` (the caller flushed). */
  hourSeries(machines: readonly string[], signals: ReadonlySet<string>, from: number, to: number, openHolds: boolean): HourSeries[] {
    const wanted = new Set(machines);
    const out: HourSeries[] = [];
    for (const s of this.stmt.series.all() as SeriesRow[]) {
      if (!wanted.has(s.machine) || !signals.has(s.signal)) continue;
      const state = s.signal === 'state';
      // one column at a time: a plain array of numbers each, no array per row to collect
      const column = (q: Database.Statement<[number, number, number]>): number[] => q.all(s.id, from, to) as number[];
      const values = (state ? STATE_COLUMNS.map((c) => this.stmt[c]) : [isCounterSignal(s.signal) ? this.stmt.hourDelta : this.stmt.hourIntegral]).map(column);
      // a row for every hour of the range (the usual case): the hours need not be read
      const dense = (values[0] as number[]).length === (to - from) / HOUR_MS;
      const cols = [dense ? undefined : column(this.stmt.hourBucket), ...values];
      const tail = openHolds && !isCounterSignal(s.signal) ? this.rollups.openHoldHours(s.id, from, to) : [];
      out.push(withOpenHold(s, from, cols, state, tail));
    }
    return out;
  }

  /**
   * Every sample of `signals` with ts ≥ `oldest` (older hour rows outlive their raw rows), from
   * the flushed and complete rollup tables; undefined when raw reads would cover so much of the
   * data that one scan of the samples table is cheaper.
   */
  samplesOfSignals(signals: readonly string[], ordered: ReadonlySet<string>, oldest: number, newest: number): LocatedSample[] | undefined {
    const wanted = new Set(signals);
    const out: LocatedSample[] = [];
    const ranges: { series: SeriesRow; lo: number; hi: number }[] = [];
    const series = new Map<number, SeriesRow>();
    for (const s of this.stmt.series.all() as SeriesRow[]) {
      if (!wanted.has(s.signal)) continue;
      series.set(s.id, s);
      for (const h of this.stmt.countHours.all(s.id, oldest) as CountRow[]) {
        if (h[1] === 1) {
          out.push(located(s, h));
          continue;
        }
        const minutes = this.stmt.countMinutes.all(s.id, h[0], h[0] + HOUR_MS) as CountRow[];
        // minute rows are kept for fewer days than hour rows: without all of them, the hour's raw rows
        if (minutes.reduce((n, m) => n + m[1], 0) !== h[1]) ranges.push({ series: s, lo: h[2], hi: h[3] });
        else {
          for (const m of minutes) {
            if (m[1] === 1) out.push(located(s, m));
            else ranges.push({ series: s, lo: m[2], hi: m[3] });
          }
        }
      }
    }
    const rawMs = ranges.reduce((ms, r) => ms + r.hi - r.lo + 1, 0);
    if (rawMs > MAX_RAW_SHARE * Math.max(0, newest - oldest)) return undefined;
    for (const r of ranges) {
      for (const x of this.stmt.rawRange.all(r.lo, r.hi, r.series.id) as { id: number; ts: number; value: SampleValue; quality: number }[]) {
        out.push({ id: x.id, machine: r.series.machine, signal: r.series.signal, ts: x.ts, value: x.value, quality: QUALITY_NAME[x.quality] ?? 'bad' });
      }
    }
    this.idsOfTies(out.filter((x) => ordered.has(x.signal)), series);
    return out;
  }

  /**
   * Samples of one signal at equal times are ordered by id (agent/kpi/sample-order.ts): those
   * found without one get theirs from the raw rows at those times, a few hundred times per
   * statement (rare: a time seldom holds two order events).
   */
  private idsOfTies(samples: LocatedSample[], series: ReadonlyMap<number, SeriesRow>): void {
    const byKey = new Map<string, LocatedSample[]>();
    for (const s of samples) {
      const k = `${s.signal}\u0000${s.ts}`;
      const list = byKey.get(k);
      if (list) list.push(s);
      else byKey.set(k, [s]);
    }
    const tied = new Map<string, LocatedSample>();
    for (const list of byKey.values()) {
      if (list.length < 2) continue;
      for (const s of list) if (s.id === undefined) tied.set(`${s.machine}\u0000${s.signal}\u0000${s.ts}`, s);
    }
    if (tied.size === 0) return;
    const times = [...new Set([...tied.values()].map((s) => s.ts))];
    for (let i = 0; i < times.length; i += TIMES_PER_READ) {
      const chunk = times.slice(i, i + TIMES_PER_READ);
      const rows = this.db
        .prepare(`SELECT id, series, ts FROM samples WHERE ts IN (${chunk.map(() => '?').join(', ')})`)
        .raw(true)
        .all(...chunk) as [number, number, number][];
      for (const [id, sid, ts] of rows) {
        const s = series.get(sid);
        const hit = s && tied.get(`${s.machine}\u0000${s.signal}\u0000${ts}`);
        if (hit) hit.id = id;
      }
    }
  }

  private get stmt(): ReturnType<KpiReads['prepare']> {
    this.stmtCache ??= this.prepare();
    return this.stmtCache;
  }

  private prepare() {
    const hours = (col: string): Database.Statement<[number, number, number]> =>
      this.db.prepare<[number, number, number]>(`SELECT ${col} FROM rollup_hour WHERE series = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`).pluck();
    const counts = 'bucket, n, first_ts, last_ts, last_value, last_quality';
    return {
      series: this.db.prepare('SELECT id, machine, signal FROM series'),
      hourBucket: hours('bucket'),
      hourDelta: hours('delta'),
      hourIntegral: hours('integral'),
      hourRunning: hours('running_ms'),
      hourIdle: hours('idle_ms'),
      hourDown: hours('down_ms'),
      hourPlannedStop: hours('planned_stop_ms'),
      countHours: this.db.prepare<[number, number]>(`SELECT ${counts} FROM rollup_hour WHERE series = ? AND n > 0 AND last_ts >= ? ORDER BY bucket`).raw(true),
      countMinutes: this.db.prepare<[number, number, number]>(`SELECT ${counts} FROM rollup_minute WHERE series = ? AND bucket >= ? AND bucket < ? AND n > 0`).raw(true),
      rawRange: this.db.prepare<[number, number, number]>('SELECT id, ts, value, quality FROM samples WHERE ts >= ? AND ts <= ? AND series = ?'),
    };
  }
}

/** The one sample a bucket counts: its last (and only) one. */
function located(s: SeriesRow, r: CountRow): LocatedSample {
  return { machine: s.machine, signal: s.signal, ts: r[3], value: r[4], quality: QUALITY_NAME[r[5]] ?? 'bad' };
}

/**
 * The columns read (hour starts first; undefined: every hour from `from`) as typed arrays, with
 * the open hold added: it begins in or after the newest row's hour (no row follows a series'
 * newest sample).
 */
function withOpenHold(s: SeriesRow, from: number, cols: (number[] | undefined)[], state: boolean, tail: readonly OpenHoldHour[]): HourSeries {
  const rows = (cols[1] as number[]).length;
  const n = rows + tail.length; // at most: a tail hour may be the newest row's hour
  const typed = cols.map((c) => {
    const a = new Float64Array(n);
    if (c) a.set(c);
    return a;
  });
  const bucket = typed[0] as Float64Array;
  // undefined: a row for every hour from `from` on
  if (!cols[0]) for (let i = 0; i < rows; i++) bucket[i] = from + i * HOUR_MS;
  let k = rows;
  for (const t of tail) {
    if (k === 0 || bucket[k - 1] !== t.bucket) bucket[k++] = t.bucket;
    for (let j = 1; j < typed.length; j++) {
      const col = typed[j] as Float64Array;
      col[k - 1] = (col[k - 1] as number) + (state ? (t.stateMs[j - 1] as number) : t.integral);
    }
  }
  const [b, ...rest] = k === n ? typed : typed.map((a) => a.subarray(0, k));
  return { machine: s.machine, signal: s.signal, bucket: b as Float64Array, value: state ? new Float64Array(0) : (rest[0] as Float64Array), stateMs: state ? rest : [] };
}
