/**
 * Minute and hour rollups per series (machine, signal), kept incrementally as samples are
 * committed, so that KPI queries over weeks read ~168 rows per series and week instead of
 * millions of raw rows (DESIGN.md §2, §4).
 *
 * READ API (for the KPI engine):
 *   buffer.rollups.rollups(machines, from, to, 'minute' | 'hour') → RollupRow[]
 *     one row per (machine, signal, bucket) with start ∈ [from, to) (align from/to to the
 *     resolution), ordered by machine, signal, start. Per row:
 *     - `samples`, `goodSamples`: counts of raw samples (any quality / good) in the bucket;
 *     - gauges: `numericCount`, `sum`, `min`, `max` over good finite numeric values;
 *     - `delta`: counters (energy_kwh, parts_*, qa_*): Σ deltas between consecutive good numeric
 *       samples, each in the bucket of the LATER sample, reset/rollover rule of
 *       agent/kpi/counter-deltas.ts (`rollover` per tag from config, stored units);
 *     - `stateMs`: signal `state`: ms in each state in the bucket; a good sample whose value maps
 *       to a state (canonical names or the machine's stateMap) holds until the next sample of
 *       the series, a bad/uncertain or unmapped sample, or maxHoldS (agent/kpi/state-time.ts);
 *     - `integral`, `heldMs`: other numeric gauges: ∫ value dt in value·ms with the same
 *       zero-order hold (for `power_kw`: kW·ms, divide by 3.6e6 for kWh — energy of machines
 *       without a meter), and the ms a value was held;
 *     - `last*` / `lastGood*`: the last sample (by ts, id) in the bucket and the last good one:
 *       the baselines of the next bucket.
 *     The hold of the newest sample of a series is still open: it is included up to maxHoldS
 *     (as the KPI engine counts it), and shortened when the next sample arrives.
 *   buffer.rollups.baselines(machine, t) → per signal the last sample and the last good sample
 *     with ts < t (t aligned to an hour; reads hour rollups, O(signals)).
 *   buffer.hourRollups(machines, signals, from, to) → the KPI columns (delta, ms per state, ∫)
 *     of hour rows, per series in typed arrays (agent/buffer/kpi-reads.ts, for agent/kpi-query).
 *
 * Buckets are epoch-aligned (UTC) minutes and hours, `start` in epoch ms. A window that does
 * not fall on hour boundaries in UTC (a shift starting at :30, a zone with a :30/:45 offset)
 * is read as whole hours in the middle plus minute rows at its edges; sums (deltas, ms, ∫)
 * are additive over buckets, min/max combine, `last*` of the latest bucket wins.
 *
 * Equal to a recomputation from raw rows with the agent/kpi functions, including after late
 * (out-of-order) samples: a series receiving a sample older than its newest is recomputed
 * from raw rows over the minutes the sample can affect (the previous sample's hold up to the
 * next good counter value), then its hours are re-derived from its minutes
 * (rollups.property.test.ts).
 *
 * Durability: contributions are accumulated in memory and written at most every `flushMs`
 * together with meta 'rollup_id' (all samples with id ≤ it are in the tables). After a crash
 * the samples above it are replayed by recomputing their ranges, so rollups never miss or
 * double-count a committed sample. Reads flush first.
 */
import { QUALITY_CODE, QUALITY_NAME } from './quality-codes.ts';
import { MACHINE_DEFAULTS } from '../../config/machine-defaults.ts';
import { setById } from './by-id.ts';
import type Database from 'better-sqlite3';
import { counterDelta } from '../kpi/counter-deltas.ts';
import { decodeState, makeStateDecoder, STATE_COUNT, type StateDecoder } from '../kpi/state-time.ts';
import { isCounterSignal, MACHINE_STATES, type MachineState, type Quality, type SampleValue, type StoredSample } from '../model/index.ts';

export type Resolution = 'minute' | 'hour';
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
// series * BUCKET_KEY + minute index: unique below 2^53; divisible by 60, so key / 60 keys the hour
const BUCKET_KEY = 1.2e9;

export interface RollupSeriesConfig {
  /** counters: the value at which the counter wraps (stored units); 0 = none */
  rollover(machine: string, signal: string): number;
  /** holds (state, gauges) end after this long without a sample */
  maxHoldMs(machine: string): number;
  /**
   * raw state codes → state, per machine. The agent's buffer holds canonical names (the Plant
   * maps codes before the buffer), so the agent gives none; a buffer of raw codes may.
   */
  stateMap?(machine: string): Readonly<Record<string, string>> | undefined;
}

export const ROLLUP_SERIES_DEFAULTS: RollupSeriesConfig = {
  rollover: () => 0,
  maxHoldMs: () => MACHINE_DEFAULTS.maxHoldS * 1000,
};

export interface RollupOptions {
  series: RollupSeriesConfig;
  /** write accumulated contributions at most this often (ms) */
  flushMs: number;
  /** …or when this many minute buckets are pending */
  maxPending: number;
}

// maxPending above twice the tag count of a large source (50,000 tags, two minutes pending): a flush per commit otherwise
export const ROLLUP_DEFAULTS: RollupOptions = { series: ROLLUP_SERIES_DEFAULTS, flushMs: 60_000, maxPending: 150_000 };

export interface RollupRow {
  machine: string;
  signal: string;
  start: number;
  end: number;
  samples: number;
  goodSamples: number;
  numericCount: number;
  sum: number;
  min: number | null;
  max: number | null;
  delta: number;
  stateMs: Record<MachineState, number>;
  integral: number;
  heldMs: number;
  firstTs: number | null;
  lastTs: number | null;
  lastValue: SampleValue;
  lastQuality: Quality | null;
  lastGoodTs: number | null;
  lastGoodValue: SampleValue;
}

/** One hour of an open hold (RollupStore.openHoldHours): ms per state slot, or ∫ value dt. */
export interface OpenHoldHour {
  bucket: number;
  /** running, idle, down, planned_stop (MACHINE_STATES order) */
  stateMs: [number, number, number, number];
  integral: number;
}

export interface Baseline {
  signal: string;
  last: { ts: number; value: SampleValue; quality: Quality } | null;
  lastGood: { ts: number; value: SampleValue } | null;
}

type Kind = 'counter' | 'state' | 'gauge';

/**
 * One (series, bucket) accumulator, also the row shape in memory. It lives for its minute, in
 * the old generation: every field a sample writes holds a plain double (NaN: none) or a small
 * integer, which V8 updates in place.
 * A field that may hold null or a string would box each new number in a fresh heap object that
 * then lives for a second, promoted by every scavenge (≈ 50 bytes a sample at 50,000 series).
 * A value (number, string or null) is kept as two fields: `…Num` (NaN when the value is not a
 * number: stored numbers are finite) and `…Text` (the string, or null).
 */
interface Acc {
  series: number;
  bucket: number;
  n: number;
  nGood: number;
  numN: number;
  numSum: number;
  numMin: number;
  numMax: number;
  delta: number;
  /** ms per state slot (running, idle, down, planned_stop): plain fields, no array per bucket */
  st0: number;
  st1: number;
  st2: number;
  st3: number;
  integral: number;
  heldMs: number;
  firstTs: number;
  lastTs: number;
  lastNum: number;
  lastText: string | null;
  /** -1: none */
  lastQuality: number;
  lastGoodTs: number;
  lastGoodNum: number;
  lastGoodText: string | null;
}

/** What the incremental path remembers per series: the newest sample and the counter baseline. */
interface SeriesState {
  id: number;
  machine: string;
  signal: string;
  kind: Kind;
  rollover: number;
  maxHold: number;
  decoder: StateDecoder;
  hasLast: boolean;
  lastTs: number;
  /** state slot held by the newest sample (-1: none) */
  holdSlot: number;
  /** gauge value held by the newest sample (NaN: none) */
  holdValue: number;
  hasGood: boolean;
  lastGood: number;
  /** cache of the accumulator of the newest minute */
  acc: Acc | undefined;
  /** the ingest call that last saw this series, and the newest ts up to there in that call */
  batch: number;
  batchNewest: number;
}

type DbValue = number | string | null;
interface RawRow {
  id: number;
  ts: number;
  value: DbValue;
  quality: number;
}
interface DbRollupRow {
  series: number;
  bucket: number;
  n: number;
  n_good: number;
  num_n: number;
  num_sum: number;
  num_min: number | null;
  num_max: number | null;
  delta: number;
  running_ms: number;
  idle_ms: number;
  down_ms: number;
  planned_stop_ms: number;
  integral: number;
  held_ms: number;
  first_ts: number | null;
  last_ts: number | null;
  last_value: DbValue;
  last_quality: number | null;
  last_good_ts: number | null;
  last_good_value: DbValue;
}

/** the decoder of series that are not `state` (never consulted: their holds are values) */
const NO_STATES: StateDecoder = makeStateDecoder(undefined);
const REPLAY_CHUNK = 20_000;
const COLUMNS =
  'series, bucket, n, n_good, num_n, num_sum, num_min, num_max, delta, running_ms, idle_ms, down_ms, planned_stop_ms, integral, held_ms, first_ts, last_ts, last_value, last_quality, last_good_ts, last_good_value';

function newAcc(series: number, bucket: number): Acc {
  return {
    series,
    bucket,
    n: 0,
    nGood: 0,
    numN: 0,
    numSum: 0,
    numMin: NaN,
    numMax: NaN,
    delta: 0,
    st0: 0,
    st1: 0,
    st2: 0,
    st3: 0,
    integral: 0,
    heldMs: 0,
    firstTs: NaN,
    lastTs: NaN,
    lastNum: NaN,
    lastText: null,
    lastQuality: -1,
    lastGoodTs: NaN,
    lastGoodNum: NaN,
    lastGoodText: null,
  };
}

/** null for "none" (NaN), as the tables and the read API have it */
const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);
/** the value a `…Num` / `…Text` pair holds */
const valueOf = (num: number, text: string | null): DbValue => (Number.isNaN(num) ? text : num);

/** `into` += `a` (a is newer or disjoint in time; ties in last_ts go to `a`). */
function mergeAcc(into: Acc, a: Acc): void {
  into.n += a.n;
  into.nGood += a.nGood;
  into.numN += a.numN;
  into.numSum += a.numSum;
  // NaN (none) on either side: a comparison with it is false
  if (!Number.isNaN(a.numMin) && !(a.numMin >= into.numMin)) into.numMin = a.numMin;
  if (!Number.isNaN(a.numMax) && !(a.numMax <= into.numMax)) into.numMax = a.numMax;
  into.delta += a.delta;
  addStates(into, a);
  into.integral += a.integral;
  into.heldMs += a.heldMs;
  if (!Number.isNaN(a.firstTs) && !(a.firstTs >= into.firstTs)) into.firstTs = a.firstTs;
  if (!Number.isNaN(a.lastTs) && !(a.lastTs < into.lastTs)) {
    into.lastTs = a.lastTs;
    into.lastNum = a.lastNum;
    into.lastText = a.lastText;
    into.lastQuality = a.lastQuality;
  }
  if (!Number.isNaN(a.lastGoodTs) && !(a.lastGoodTs < into.lastGoodTs)) {
    into.lastGoodTs = a.lastGoodTs;
    into.lastGoodNum = a.lastGoodNum;
    into.lastGoodText = a.lastGoodText;
  }
}

// the accumulator has one field per state slot
const FOUR_SLOTS: 4 = STATE_COUNT;

function addStates(into: Acc, a: Acc): void {
  into.st0 += a.st0;
  into.st1 += a.st1;
  into.st2 += a.st2;
  into.st3 += a.st3;
}

/** slot: index in MACHINE_STATES (agent/kpi/state-time.ts decodes to it) */
function addStateMs(a: Acc, slot: number, ms: number): void {
  if (slot >= FOUR_SLOTS) throw new Error(`state slot ${slot}`);
  if (slot === 0) a.st0 += ms;
  else if (slot === 1) a.st1 += ms;
  else if (slot === 2) a.st2 += ms;
  else a.st3 += ms;
}

function fromDb(r: DbRollupRow): Acc {
  const a = newAcc(r.series, r.bucket);
  a.n = r.n;
  a.nGood = r.n_good;
  a.numN = r.num_n;
  a.numSum = r.num_sum;
  a.numMin = r.num_min ?? NaN;
  a.numMax = r.num_max ?? NaN;
  a.delta = r.delta;
  a.st0 = r.running_ms;
  a.st1 = r.idle_ms;
  a.st2 = r.down_ms;
  a.st3 = r.planned_stop_ms;
  a.integral = r.integral;
  a.heldMs = r.held_ms;
  a.firstTs = r.first_ts ?? NaN;
  a.lastTs = r.last_ts ?? NaN;
  setLast(a, r.last_value);
  a.lastQuality = r.last_quality ?? -1;
  a.lastGoodTs = r.last_good_ts ?? NaN;
  setLastGood(a, r.last_good_value);
  return a;
}

function setLast(a: Acc, v: DbValue): void {
  if (typeof v === 'number') {
    a.lastNum = v;
    a.lastText = null;
  } else {
    a.lastNum = NaN;
    a.lastText = v;
  }
}

function setLastGood(a: Acc, v: DbValue): void {
  if (typeof v === 'number') {
    a.lastGoodNum = v;
    a.lastGoodText = null;
  } else {
    a.lastGoodNum = NaN;
    a.lastGoodText = v;
  }
}

/** The row's parameters, written into `out` from index `at` (one array reused for every upsert). */
function accParams(a: Acc, out: DbValue[], at = 0): DbValue[] {
  out[at] = a.series;
  out[at + 1] = a.bucket;
  out[at + 2] = a.n;
  out[at + 3] = a.nGood;
  out[at + 4] = a.numN;
  out[at + 5] = a.numSum;
  out[at + 6] = orNull(a.numMin);
  out[at + 7] = orNull(a.numMax);
  out[at + 8] = a.delta;
  out[at + 9] = a.st0;
  out[at + 10] = a.st1;
  out[at + 11] = a.st2;
  out[at + 12] = a.st3;
  out[at + 13] = a.integral;
  out[at + 14] = a.heldMs;
  out[at + 15] = orNull(a.firstTs);
  out[at + 16] = orNull(a.lastTs);
  out[at + 17] = valueOf(a.lastNum, a.lastText);
  out[at + 18] = a.lastQuality < 0 ? null : a.lastQuality;
  out[at + 19] = orNull(a.lastGoodTs);
  out[at + 20] = valueOf(a.lastGoodNum, a.lastGoodText);
  return out;
}

/** rows per upsert statement in a flush: the crossing into SQLite and the statement set-up are paid per statement */
const ROWS_PER_UPSERT = 25;
const ACC_COLUMNS = 21;

function upsertSql(table: string, rows = 1): string {
  const add = (c: string): string => `${c} = ${c} + excluded.${c}`;
  const newer = (c: string, ts: string): string =>
    `${c} = CASE WHEN excluded.${ts} IS NOT NULL AND (${ts} IS NULL OR excluded.${ts} >= ${ts}) THEN excluded.${c} ELSE ${c} END`;
  const row = `(${COLUMNS.split(',').map(() => '?').join(', ')})`;
  return `INSERT INTO ${table} (${COLUMNS}) VALUES ${Array.from({ length: rows }, () => row).join(', ')}
    ON CONFLICT (series, bucket) DO UPDATE SET
      ${['n', 'n_good', 'num_n', 'num_sum', 'delta', 'running_ms', 'idle_ms', 'down_ms', 'planned_stop_ms', 'integral', 'held_ms'].map(add).join(', ')},
      num_min = coalesce(min(num_min, excluded.num_min), num_min, excluded.num_min),
      num_max = coalesce(max(num_max, excluded.num_max), num_max, excluded.num_max),
      first_ts = coalesce(min(first_ts, excluded.first_ts), first_ts, excluded.first_ts),
      ${newer('last_value', 'last_ts')}, ${newer('last_quality', 'last_ts')},
      last_ts = coalesce(max(last_ts, excluded.last_ts), last_ts, excluded.last_ts),
      ${newer('last_good_value', 'last_good_ts')},
      last_good_ts = coalesce(max(last_good_ts, excluded.last_good_ts), last_good_ts, excluded.last_good_ts)`;
}

function toSampleValue(v: DbValue): SampleValue {
  return v;
}

/**
 * Accumulates contributions of samples, in (ts, id) order per series, into minute buckets.
 * With a clip [lo, hi) only contributions inside it are kept (recomputation of a range).
 */
class Accumulator {
  readonly minutes = new Map<number, Acc>();
  constructor(
    private readonly lo = -Infinity,
    private readonly hi = Infinity,
  ) {}

  get size(): number {
    return this.minutes.size;
  }

  clear(): void {
    this.minutes.clear();
  }

  bucketAcc(st: SeriesState, ts: number): Acc {
    const minute = Math.floor(ts / MINUTE_MS);
    const cached = st.acc;
    if (cached !== undefined && cached.bucket === minute * MINUTE_MS) return cached;
    const k = st.id * BUCKET_KEY + minute;
    let a = this.minutes.get(k);
    if (a === undefined) {
      a = newAcc(st.id, minute * MINUTE_MS);
      this.minutes.set(k, a);
    }
    st.acc = a;
    return a;
  }

  /** One sample: close the previous hold, count the sample, start its hold. */
  add(st: SeriesState, ts: number, value: DbValue, quality: number): void {
    if (st.hasLast) {
      const from = st.lastTs;
      const cap = from + st.maxHold;
      const to = ts < cap ? ts : cap;
      if (to > from) {
        if (st.holdSlot >= 0) this.span(st, from, to, st.holdSlot, 0);
        else if (!Number.isNaN(st.holdValue)) this.span(st, from, to, -1, st.holdValue);
      }
    }
    const isNum = typeof value === 'number' && Number.isFinite(value);
    const good = quality === 0;
    if (ts >= this.lo && ts < this.hi) {
      const a = this.bucketAcc(st, ts);
      a.n++;
      if (!(ts >= a.firstTs)) a.firstTs = ts; // NaN: none yet
      a.lastTs = ts;
      setLast(a, value);
      a.lastQuality = quality;
      if (good) {
        a.nGood++;
        a.lastGoodTs = ts;
        setLastGood(a, value);
        if (isNum) {
          const v = value;
          a.numN++;
          a.numSum += v;
          if (!(v >= a.numMin)) a.numMin = v;
          if (!(v <= a.numMax)) a.numMax = v;
          if (st.kind === 'counter' && st.hasGood) a.delta += counterDelta(st.lastGood, v, st.rollover);
        }
      }
    }
    if (good && isNum && st.kind === 'counter') {
      st.hasGood = true;
      st.lastGood = value;
    }
    st.hasLast = true;
    st.lastTs = ts;
    st.holdSlot = st.kind === 'state' && good ? decodeState(st.decoder, value) : -1;
    st.holdValue = st.kind === 'gauge' && good && isNum ? value : Number.NaN;
  }

  /** A hold [from, to) split over minute buckets (clipped). slot ≥ 0: state ms; else value·ms. */
  span(st: SeriesState, from: number, to: number, slot: number, value: number): void {
    let a = from > this.lo ? from : this.lo;
    const b = to < this.hi ? to : this.hi;
    while (a < b) {
      const end = Math.min(b, (Math.floor(a / MINUTE_MS) + 1) * MINUTE_MS);
      const acc = this.bucketAcc(st, a);
      const ms = end - a;
      if (slot >= 0) addStateMs(acc, slot, ms);
      else {
        acc.integral += value * ms;
        acc.heldMs += ms;
      }
      a = end;
    }
  }
}

export class RollupStore {
  private readonly opts: RollupOptions;
  /** by series id (by-id.ts): an index, not a hash look-up, per sample */
  private states: (SeriesState | undefined)[] = [];
  /** series created since the buffer opened: no rows before, no look-up needed */
  private readonly created = new Set<number>();
  private readonly pending = new Accumulator();
  private lastFlush = Date.now();
  private batchStamp = 0;
  private readonly decoders = new Map<string, StateDecoder>();
  /** the parameters of ROWS_PER_UPSERT rows, reused by every upsert (upsertAll) */
  private readonly manyParams = new Array<DbValue>(ACC_COLUMNS * ROWS_PER_UPSERT).fill(null);
  /** all samples with id ≤ this are in the tables (or pending in memory, when > rollupId) */
  private rollupId: number;
  private processedId: number;
  private stmtCache:
    | {
        upsertMinute: Database.Statement;
        upsertHour: Database.Statement;
        upsertMinuteMany: Database.Statement<unknown[]>;
        upsertHourMany: Database.Statement<unknown[]>;
        setMeta: Database.Statement<[string]>;
        newestHour: Database.Statement<[number]>;
        lastGoodHour: Database.Statement<[number]>;
      }
    | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly seriesName: (id: number) => { machine: string; signal: string } | undefined,
    private readonly seriesIdOf: (machine: string, signal: string) => number | undefined,
    options: Partial<RollupOptions> = {},
  ) {
    this.opts = { ...ROLLUP_DEFAULTS, ...options };
    const row = db.prepare("SELECT value FROM meta WHERE key = 'rollup_id'").get() as { value: string } | undefined;
    this.rollupId = row ? Number(row.value) : 0;
    this.processedId = this.rollupId;
  }

  /** prepared on first use: a read-only reader of a buffer not yet migrated never needs them */
  private get stmt(): NonNullable<RollupStore['stmtCache']> {
    this.stmtCache ??= {
      upsertMinute: this.db.prepare(upsertSql('rollup_minute')),
      upsertHour: this.db.prepare(upsertSql('rollup_hour')),
      upsertMinuteMany: this.db.prepare<unknown[]>(upsertSql('rollup_minute', ROWS_PER_UPSERT)),
      upsertHourMany: this.db.prepare<unknown[]>(upsertSql('rollup_hour', ROWS_PER_UPSERT)),
      setMeta: this.db.prepare("INSERT INTO meta (key, value) VALUES ('rollup_id', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      // (series, bucket) is the key of the WITHOUT ROWID table: both are one seek from the end
      newestHour: this.db.prepare('SELECT last_ts, last_value, last_quality, last_good_ts, last_good_value FROM rollup_hour WHERE series = ? AND last_ts IS NOT NULL ORDER BY bucket DESC LIMIT 1'),
      lastGoodHour: this.db.prepare('SELECT last_good_ts, last_good_value FROM rollup_hour WHERE series = ? AND last_good_ts IS NOT NULL ORDER BY bucket DESC LIMIT 1'),
    };
    return this.stmtCache;
  }

  /**
   * Brings the tables up to date with every committed sample (start-up after a crash): the
   * samples with id > rollup_id go through the incremental path in id order, each series
   * starting from the baseline of its newest hour row; a series whose samples arrived out of
   * order is recomputed from raw rows there (ingest). A range recomputation per series would
   * scan the ts index once per series: with tens of thousands of tags, hours.
   */
  replay(lastId: number): void {
    this.pending.clear();
    this.states = [];
    this.created.clear();
    this.processedId = this.rollupId;
    if (lastId > this.rollupId) {
      const read = this.db.prepare('SELECT id, series, ts, value, quality FROM samples WHERE id > ? AND id <= ? ORDER BY id LIMIT ?');
      let after = this.rollupId;
      for (;;) {
        const rows = read.all(after, lastId, REPLAY_CHUNK) as (RawRow & { series: number })[];
        const last = rows[rows.length - 1];
        if (last === undefined) break;
        const stored: StoredSample[] = [];
        const sids: number[] = [];
        for (const r of rows) {
          const name = this.seriesName(r.series);
          if (name === undefined) continue;
          stored.push({ id: r.id, machine: name.machine, signal: name.signal, ts: r.ts, value: r.value, quality: QUALITY_NAME[r.quality] ?? 'bad' });
          sids.push(r.series);
        }
        this.ingest(stored, sids, false);
        after = last.id;
      }
    }
    this.processedId = lastId;
    this.flush();
    this.rollupId = lastId;
  }

  /** After a commit: the samples, in id order, all with ids above everything seen before. */
  ingest(samples: readonly StoredSample[], seriesIds: readonly number[], mayFlush = true): void {
    if (samples.length === 0) return;
    // a series receiving a sample older than its newest is recomputed, the rest is incremental
    let late: Map<number, { lo: number; hi: number }> | undefined;
    const stamp = ++this.batchStamp;
    const sts = new Array<SeriesState>(samples.length);
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i] as StoredSample;
      const st = this.state(seriesIds[i] as number);
      sts[i] = st;
      if (st.batch !== stamp) {
        st.batch = stamp;
        st.batchNewest = st.hasLast ? st.lastTs : -Infinity;
      }
      if (s.ts < st.batchNewest) {
        late ??= new Map();
        late.set(st.id, { lo: Infinity, hi: -Infinity });
      } else st.batchNewest = s.ts;
    }
    if (late !== undefined) {
      // the tables must hold everything before this batch before ranges are rewritten
      this.flush();
      for (let i = 0; i < samples.length; i++) {
        const r = late.get(seriesIds[i] as number);
        if (r === undefined) continue;
        const ts = (samples[i] as StoredSample).ts;
        if (ts < r.lo) r.lo = ts;
        if (ts > r.hi) r.hi = ts;
      }
    }
    for (let i = 0; i < samples.length; i++) {
      const st = sts[i] as SeriesState;
      if (late?.has(st.id)) continue;
      const s = samples[i] as StoredSample;
      const v = s.value;
      this.pending.add(st, s.ts, typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' && !Number.isFinite(v) ? null : v, QUALITY_CODE[s.quality]);
    }
    if (late !== undefined) {
      const ranges = late;
      this.db.transaction(() => {
        for (const [sid, r] of ranges) this.recompute(sid, r.lo, r.hi);
      })();
      for (const sid of ranges.keys()) this.states[sid] = undefined; // reload from raw rows
    }
    this.processedId = (samples[samples.length - 1] as StoredSample).id;
    if (this.pending.size >= this.opts.maxPending || (mayFlush && Date.now() - this.lastFlush >= this.opts.flushMs)) this.flush();
  }

  /**
   * Writes pending rows once they are `flushMs` old, whether or not samples keep coming (a
   * plant gone quiet): a read-only reader beside the agent sees them within `flushMs` plus the
   * caller's period (the retention pass, every second). A commit only flushes when due.
   */
  flushIfDue(): void {
    if (Date.now() - this.lastFlush >= this.opts.flushMs) this.flush();
  }

  /**
   * Upserts rows ROWS_PER_UPSERT at a time (each (series, bucket) once), the rest one by one.
   * Parameters are spread into the call: better-sqlite3 reads an array element by element
   * through the V8 API, arguments directly.
   */
  private upsertAll(accs: Iterable<Acc>, many: Database.Statement<unknown[]>, one: Database.Statement<unknown[]>): void {
    const args = this.manyParams;
    let k = 0;
    for (const a of accs) {
      accParams(a, args, k * ACC_COLUMNS);
      if (++k === ROWS_PER_UPSERT) {
        many.run(...args);
        k = 0;
      }
    }
    for (let i = 0; i < k; i++) one.run(...args.slice(i * ACC_COLUMNS, (i + 1) * ACC_COLUMNS));
  }

  /** Writes pending contributions and the rollup cursor in one transaction. */
  flush(): void {
    this.lastFlush = Date.now();
    if (this.pending.size === 0 && this.rollupId === this.processedId) return;
    const hours = new Map<number, Acc>();
    for (const [k, a] of this.pending.minutes) {
      const hk = Math.floor(k / 60);
      let h = hours.get(hk);
      if (h === undefined) {
        h = newAcc(a.series, Math.floor(a.bucket / HOUR_MS) * HOUR_MS);
        hours.set(hk, h);
      }
      mergeAcc(h, a);
    }
    const upto = this.processedId;
    this.db.transaction(() => {
      this.upsertAll(this.pending.minutes.values(), this.stmt.upsertMinuteMany, this.stmt.upsertMinute);
      this.upsertAll(hours.values(), this.stmt.upsertHourMany, this.stmt.upsertHour);
      this.stmt.setMeta.run(String(upto));
    })();
    this.pending.clear();
    for (const st of this.states) if (st !== undefined) st.acc = undefined;
    this.rollupId = upto;
  }

  /** Rollup rows of machines' series with start in [from, to), including open holds. */
  rollups(machines: readonly string[], from: number, to: number, resolution: Resolution): RollupRow[] {
    this.flush();
    const table = resolution === 'hour' ? 'rollup_hour' : 'rollup_minute';
    const size = resolution === 'hour' ? HOUR_MS : MINUTE_MS;
    const wanted = new Set(machines);
    const out: RollupRow[] = [];
    const q = this.db.prepare(`SELECT ${COLUMNS} FROM ${table} WHERE series = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`);
    const series = this.allSeries().filter((s) => wanted.has(s.machine));
    for (const s of series) {
      const byBucket = new Map<number, Acc>();
      for (const r of q.all(s.id, from, to) as DbRollupRow[]) byBucket.set(r.bucket, fromDb(r));
      // the newest sample's hold is open: count it up to maxHold, as the KPI engine does
      for (const a of this.openHold(s.id, from, to)) {
        const b = Math.floor(a.bucket / size) * size;
        let into = byBucket.get(b);
        if (into === undefined) {
          into = newAcc(s.id, b);
          byBucket.set(b, into);
        }
        mergeTail(into, a);
      }
      for (const b of [...byBucket.keys()].sort((x, y) => x - y)) out.push(toRow(s.machine, s.signal, byBucket.get(b) as Acc, size));
    }
    out.sort((a, b) => (a.machine < b.machine ? -1 : a.machine > b.machine ? 1 : a.signal < b.signal ? -1 : a.signal > b.signal ? 1 : a.start - b.start));
    return out;
  }

  /**
   * Rollup rows are complete for buckets ending at or before this time. A writer flushes before
   * every read: always. A read-only reader (`shopfloor-agent kpi` beside a running agent) sees
   * only what the writer has flushed (up to `flushMs` behind): the oldest sample above the
   * writer's cursor bounds it (a late sample above the cursor included).
   */
  coveredUntil(readonly: boolean): number {
    if (!readonly) return Infinity;
    const row = this.db.prepare("SELECT MIN(ts) AS ts FROM samples WHERE id > coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'rollup_id'), 0)").get() as { ts: number | null } | undefined;
    return row?.ts ?? Infinity;
  }

  /**
   * The newest sample time of (machine, signal) that the tables hold: a held value (state,
   * power) is in them up to there. For a writer (it flushes before reads) that is the series'
   * newest sample; a read-only reader beside a running agent sees only what the writer has
   * flushed, and a hold from the last flushed sample to an unflushed one is not in the tables
   * yet. null: the tables hold nothing of the series.
   */
  tablesNewestTs(machine: string, signal: string): number | null {
    const sid = this.seriesIdOf(machine, signal);
    if (sid === undefined) return null;
    const row = this.stmt.newestHour.get(sid) as { last_ts: number } | undefined;
    return row?.last_ts ?? null;
  }

  /**
   * The open hold of series `sid`'s newest sample (a state or a gauge value held until the next
   * sample, up to maxHold), per hour in [from, to): what the tables do not hold yet, added as
   * the KPI engine would count it. Empty when the newest sample holds nothing.
   */
  openHoldHours(sid: number, from: number, to: number): OpenHoldHour[] {
    const hours = new Map<number, Acc>();
    for (const a of this.openHold(sid, from, to)) {
      const b = Math.floor(a.bucket / HOUR_MS) * HOUR_MS;
      let into = hours.get(b);
      if (into === undefined) {
        into = newAcc(sid, b);
        hours.set(b, into);
      }
      mergeTail(into, a);
    }
    return [...hours.values()].sort((x, y) => x.bucket - y.bucket).map((a) => ({ bucket: a.bucket, stateMs: [a.st0, a.st1, a.st2, a.st3], integral: a.integral }));
  }

  /** The minutes of the open hold of a series' newest sample, clipped to [from, to). */
  private openHold(sid: number, from: number, to: number): Iterable<Acc> {
    const st = this.state(sid);
    if (!st.hasLast || (st.holdSlot < 0 && Number.isNaN(st.holdValue))) return [];
    const tail = new Accumulator(from, to);
    const saved = st.acc;
    st.acc = undefined;
    tail.span(st, st.lastTs, st.lastTs + st.maxHold, st.holdSlot, st.holdValue);
    st.acc = saved;
    return tail.minutes.values();
  }

  /** Per signal of `machine`: the last sample and the last good sample with ts < t (t hour-aligned). */
  baselines(machine: string, t: number): Baseline[] {
    this.flush();
    const hour = Math.floor(t / HOUR_MS) * HOUR_MS;
    const last = this.db.prepare('SELECT last_ts, last_value, last_quality FROM rollup_hour WHERE series = ? AND bucket < ? AND last_ts IS NOT NULL ORDER BY bucket DESC LIMIT 1');
    const good = this.db.prepare('SELECT last_good_ts, last_good_value FROM rollup_hour WHERE series = ? AND bucket < ? AND last_good_ts IS NOT NULL ORDER BY bucket DESC LIMIT 1');
    return this.allSeries()
      .filter((s) => s.machine === machine)
      .map((s) => {
        const l = last.get(s.id, hour) as { last_ts: number; last_value: DbValue; last_quality: number } | undefined;
        const g = good.get(s.id, hour) as { last_good_ts: number; last_good_value: DbValue } | undefined;
        return {
          signal: s.signal,
          last: l ? { ts: l.last_ts, value: toSampleValue(l.last_value), quality: QUALITY_NAME[l.last_quality] ?? 'bad' } : null,
          lastGood: g ? { ts: g.last_good_ts, value: toSampleValue(g.last_good_value) } : null,
        };
      });
  }

  /** Deletes minute rollups older than `minuteBefore` and hour rollups older than `hourBefore`. */
  deleteOlderThan(minuteBefore: number, hourBefore: number, limit = 5000): number {
    this.flush(); // pending rows would otherwise come back after the delete
    // WITHOUT ROWID tables keyed (series, bucket): delete by key ranges per series
    let n = 0;
    const del = this.db.prepare('DELETE FROM rollup_minute WHERE series = ? AND bucket < ?');
    const delH = this.db.prepare('DELETE FROM rollup_hour WHERE series = ? AND bucket < ?');
    this.db.transaction(() => {
      for (const s of this.allSeries()) {
        n += del.run(s.id, minuteBefore).changes;
        n += delH.run(s.id, hourBefore).changes;
        if (n >= limit) break;
      }
    })();
    return n;
  }

  /**
   * Rewrites series `sid`'s minutes that samples in [lo, hi] can affect, from raw rows, and
   * re-derives the hours they fall in from the minutes. Runs inside the caller's transaction.
   */
  private recompute(sid: number, lo: number, hi: number): void {
    const name = this.seriesName(sid);
    if (name === undefined) return;
    const before = this.db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts < ? ORDER BY ts DESC, id DESC LIMIT 1').get(sid, lo) as RawRow | undefined;
    const after = this.db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts > ? ORDER BY ts, id LIMIT 1').get(sid, hi) as RawRow | undefined;
    let end = after ? after.ts : hi;
    const counter = isCounterSignal(name.signal);
    if (counter) {
      const afterGood = this.db
        .prepare("SELECT ts FROM samples WHERE series = ? AND ts > ? AND quality = 0 AND typeof(value) IN ('integer', 'real') ORDER BY ts, id LIMIT 1")
        .get(sid, hi) as { ts: number } | undefined;
      if (afterGood && afterGood.ts > end) end = afterGood.ts;
    }
    const a = Math.floor((before ? before.ts : lo) / MINUTE_MS) * MINUTE_MS;
    const b = (Math.floor(end / MINUTE_MS) + 1) * MINUTE_MS;
    const st = this.freshState(sid, name.machine, name.signal);
    // the baselines: the hold reaching into [a, b) and the counter value before it
    const baseRows: RawRow[] = [];
    const lastBefore = this.db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts < ? ORDER BY ts DESC, id DESC LIMIT 1').get(sid, a) as RawRow | undefined;
    if (counter) {
      const g = this.db
        .prepare("SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts < ? AND quality = 0 AND typeof(value) IN ('integer', 'real') ORDER BY ts DESC, id DESC LIMIT 1")
        .get(sid, a) as RawRow | undefined;
      if (g && (!lastBefore || g.id !== lastBefore.id)) baseRows.push(g);
    }
    if (lastBefore) baseRows.push(lastBefore);
    const acc = new Accumulator(a, b);
    for (const r of baseRows) acc.add(st, r.ts, r.value, r.quality);
    const rows = this.db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts, id').iterate(sid, a, b) as IterableIterator<RawRow>;
    for (const r of rows) acc.add(st, r.ts, r.value, r.quality);
    // the first sample at or after b ends the hold of the last one inside (its own stats are outside)
    const next = this.db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts >= ? ORDER BY ts, id LIMIT 1').get(sid, b) as RawRow | undefined;
    // (without one, the newest sample's hold stays open: it is added at read time, not stored)
    if (next) acc.add(st, next.ts, next.value, next.quality);
    this.db.prepare('DELETE FROM rollup_minute WHERE series = ? AND bucket >= ? AND bucket < ?').run(sid, a, b);
    this.upsertAll(acc.minutes.values(), this.stmt.upsertMinuteMany, this.stmt.upsertMinute);
    // the hours overlapping [a, b), re-derived from their minutes
    const ha = Math.floor(a / HOUR_MS) * HOUR_MS;
    const hb = Math.ceil(b / HOUR_MS) * HOUR_MS;
    this.db.prepare('DELETE FROM rollup_hour WHERE series = ? AND bucket >= ? AND bucket < ?').run(sid, ha, hb);
    const minutes = this.db.prepare(`SELECT ${COLUMNS} FROM rollup_minute WHERE series = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`).all(sid, ha, hb) as DbRollupRow[];
    const hours = new Map<number, Acc>();
    for (const r of minutes) {
      const hb2 = Math.floor(r.bucket / HOUR_MS) * HOUR_MS;
      let h = hours.get(hb2);
      if (h === undefined) {
        h = newAcc(sid, hb2);
        hours.set(hb2, h);
      }
      mergeAcc(h, fromDb(r));
    }
    this.upsertAll(hours.values(), this.stmt.upsertHourMany, this.stmt.upsertHour);
  }

  private allSeries(): { id: number; machine: string; signal: string }[] {
    return (this.db.prepare('SELECT id, machine, signal FROM series ORDER BY id').all() as { id: number; machine: string; signal: string }[]);
  }

  /** The buffer created series `sid` just now (its first rows are in the batch being committed). */
  seriesCreated(sid: number): void {
    this.created.add(sid);
  }

  /**
   * The incremental state of a series, loaded the first time from its newest hour row (the last
   * sample and the last good one). Only series that have a state have contributions pending, so
   * for this one the tables hold every sample up to processedId.
   */
  private state(sid: number): SeriesState {
    let st = this.states[sid];
    if (st !== undefined) return st;
    const name = this.seriesName(sid) ?? { machine: '', signal: '' };
    st = this.freshState(sid, name.machine, name.signal);
    setById(this.states, sid, st);
    if (this.created.delete(sid)) return st; // created just now: nothing to look up
    const h = this.stmt.newestHour.get(sid) as { last_ts: number; last_value: DbValue; last_quality: number; last_good_ts: number | null; last_good_value: DbValue } | undefined;
    if (h === undefined) return st;
    const warm = new Accumulator(Infinity, Infinity);
    if (st.kind === 'counter') {
      // the counter baseline: the last good numeric value (normally in the same row)
      let good: { ts: number; value: DbValue } | undefined;
      if (h.last_good_ts !== null) good = { ts: h.last_good_ts, value: h.last_good_value };
      else {
        const r = this.stmt.lastGoodHour.get(sid) as { last_good_ts: number; last_good_value: DbValue } | undefined;
        if (r) good = { ts: r.last_good_ts, value: r.last_good_value };
      }
      if (good !== undefined && typeof good.value !== 'number') {
        // a good non-numeric counter value (rare): the last numeric one from raw rows
        const r = this.db
          .prepare("SELECT ts, value FROM samples WHERE series = ? AND id <= ? AND quality = 0 AND typeof(value) IN ('integer', 'real') ORDER BY ts DESC, id DESC LIMIT 1")
          .get(sid, this.processedId) as { ts: number; value: DbValue } | undefined;
        good = r;
      }
      if (good !== undefined) warm.add(st, good.ts, good.value, 0);
    }
    warm.add(st, h.last_ts, h.last_value, h.last_quality);
    return st;
  }

  /** one per machine: only `state` series decode, and all of a machine's share its stateMap */
  private decoderOf(machine: string): StateDecoder {
    let d = this.decoders.get(machine);
    if (d === undefined) {
      d = makeStateDecoder(this.opts.series.stateMap?.(machine));
      this.decoders.set(machine, d);
    }
    return d;
  }

  private freshState(sid: number, machine: string, signal: string): SeriesState {
    const kind: Kind = isCounterSignal(signal) ? 'counter' : signal === 'state' ? 'state' : 'gauge';
    const cfg = this.opts.series;
    return {
      id: sid,
      machine,
      signal,
      kind,
      rollover: kind === 'counter' ? cfg.rollover(machine, signal) : 0,
      maxHold: cfg.maxHoldMs(machine),
      decoder: kind === 'state' ? this.decoderOf(machine) : NO_STATES,
      hasLast: false,
      lastTs: 0,
      holdSlot: -1,
      holdValue: Number.NaN,
      hasGood: false,
      lastGood: 0,
      acc: undefined,
      batch: 0,
      batchNewest: -Infinity,
    };
  }

  /** for tests and the KPI service: the series id of a (machine, signal) */
  seriesId(machine: string, signal: string): number | undefined {
    return this.seriesIdOf(machine, signal);
  }
}


/** Adds only the hold part of a tail accumulator (it holds no samples). */
function mergeTail(into: Acc, a: Acc): void {
  addStates(into, a);
  into.integral += a.integral;
  into.heldMs += a.heldMs;
}

function toRow(machine: string, signal: string, a: Acc, size: number): RollupRow {
  const slots = [a.st0, a.st1, a.st2, a.st3];
  const stateMs = {} as Record<MachineState, number>;
  MACHINE_STATES.forEach((name, i) => (stateMs[name] = slots[i] ?? 0));
  return {
    machine,
    signal,
    start: a.bucket,
    end: a.bucket + size,
    samples: a.n,
    goodSamples: a.nGood,
    numericCount: a.numN,
    sum: a.numSum,
    min: orNull(a.numMin),
    max: orNull(a.numMax),
    delta: a.delta,
    stateMs,
    integral: a.integral,
    heldMs: a.heldMs,
    firstTs: orNull(a.firstTs),
    lastTs: orNull(a.lastTs),
    lastValue: toSampleValue(valueOf(a.lastNum, a.lastText)),
    lastQuality: a.lastQuality < 0 ? null : (QUALITY_NAME[a.lastQuality] ?? 'bad'),
    lastGoodTs: orNull(a.lastGoodTs),
    lastGoodValue: toSampleValue(valueOf(a.lastGoodNum, a.lastGoodText)),
  };
}
