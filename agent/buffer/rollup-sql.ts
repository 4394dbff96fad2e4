/**
 * The rollup tables (rollup_minute, rollup_hour: WITHOUT ROWID, keyed (series, bucket)) as
 * SQL: the row shape, the conversions between a row and an accumulator, the upserts that add
 * a flush's contributions to the rows, and the statements prepared once.
 */
import type Database from 'better-sqlite3';
import { newAcc, orNull, setLast, setLastGood, valueOf, type Acc, type DbValue } from './rollup-accumulator.ts';

export interface RawRow {
  id: number;
  ts: number;
  value: DbValue;
  quality: number;
}
export interface SeriesRow {
  id: number;
  machine: string;
  signal: string;
}
export interface DbRollupRow {
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

export const COLUMNS =
  'series, bucket, n, n_good, num_n, num_sum, num_min, num_max, delta, running_ms, idle_ms, down_ms, planned_stop_ms, integral, held_ms, first_ts, last_ts, last_value, last_quality, last_good_ts, last_good_value';

export function fromDb(r: DbRollupRow): Acc {
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

/** The statements of the incremental path (RollupStore prepares them on first use). */
export interface RollupStatements {
  upsertMinute: Database.Statement;
  upsertHour: Database.Statement;
  upsertMinuteMany: Database.Statement<unknown[]>;
  upsertHourMany: Database.Statement<unknown[]>;
  setMeta: Database.Statement<[string]>;
  newestHour: Database.Statement<[number]>;
  lastGoodHour: Database.Statement<[number]>;
}

export function prepareRollupStatements(db: Database.Database): RollupStatements {
  return {
    upsertMinute: db.prepare(upsertSql('rollup_minute')),
    upsertHour: db.prepare(upsertSql('rollup_hour')),
    upsertMinuteMany: db.prepare<unknown[]>(upsertSql('rollup_minute', ROWS_PER_UPSERT)),
    upsertHourMany: db.prepare<unknown[]>(upsertSql('rollup_hour', ROWS_PER_UPSERT)),
    setMeta: db.prepare("INSERT INTO meta (key, value) VALUES ('rollup_id', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    // (series, bucket) is the key of the WITHOUT ROWID table: both are one seek from the end
    newestHour: db.prepare('SELECT last_ts, last_value, last_quality, last_good_ts, last_good_value FROM rollup_hour WHERE series = ? AND last_ts IS NOT NULL ORDER BY bucket DESC LIMIT 1'),
    lastGoodHour: db.prepare('SELECT last_good_ts, last_good_value FROM rollup_hour WHERE series = ? AND last_good_ts IS NOT NULL ORDER BY bucket DESC LIMIT 1'),
  };
}

/** The parameters of ROWS_PER_UPSERT rows: one array per store, reused by every upsert (upsertAll). */
export function upsertParams(): DbValue[] {
  return new Array<DbValue>(ACC_COLUMNS * ROWS_PER_UPSERT).fill(null);
}

/**
 * Upserts rows ROWS_PER_UPSERT at a time (each (series, bucket) once), the rest one by one.
 * Parameters are spread into the call: better-sqlite3 reads an array element by element
 * through the V8 API, arguments directly.
 */
export function upsertAll(accs: Iterable<Acc>, many: Database.Statement<unknown[]>, one: Database.Statement<unknown[]>, args: DbValue[]): void {
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

export function allSeries(db: Database.Database): SeriesRow[] {
  return db.prepare('SELECT id, machine, signal FROM series ORDER BY id').all() as SeriesRow[];
}
