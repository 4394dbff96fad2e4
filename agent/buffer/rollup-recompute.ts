/**
 * Late (out-of-order) samples: a series receiving a sample older than its newest is
 * recomputed from raw rows over the minutes the sample can affect (the previous sample's hold
 * up to the next good counter value), then its hours are re-derived from its minutes. The
 * result equals a recomputation from raw rows with the agent/kpi functions
 * (rollups.property.test.ts).
 */
import type Database from 'better-sqlite3';
import { isCounterSignal } from '../model/index.ts';
import { Accumulator, mergeAcc, newAcc, type Acc, type DbValue, type SeriesState } from './rollup-accumulator.ts';
import { COLUMNS, fromDb, upsertAll, type DbRollupRow, type RawRow, type RollupStatements } from './rollup-sql.ts';
import { HOUR_MS, MINUTE_MS } from './rollups.ts';

/**
 * Rewrites the minutes of series `st` (a fresh state) that samples in [lo, hi] can affect,
 * from raw rows, and re-derives the hours they fall in from the minutes. Runs inside the
 * caller's transaction.
 */
export function recomputeRange(db: Database.Database, stmt: RollupStatements, params: DbValue[], st: SeriesState, lo: number, hi: number): void {
  const sid = st.id;
  const before = db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts < ? ORDER BY ts DESC, id DESC LIMIT 1').get(sid, lo) as RawRow | undefined;
  const after = db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts > ? ORDER BY ts, id LIMIT 1').get(sid, hi) as RawRow | undefined;
  let end = after ? after.ts : hi;
  const counter = isCounterSignal(st.signal);
  if (counter) {
    const afterGood = db
      .prepare("SELECT ts FROM samples WHERE series = ? AND ts > ? AND quality = 0 AND typeof(value) IN ('integer', 'real') ORDER BY ts, id LIMIT 1")
      .get(sid, hi) as { ts: number } | undefined;
    if (afterGood && afterGood.ts > end) end = afterGood.ts;
  }
  const a = Math.floor((before ? before.ts : lo) / MINUTE_MS) * MINUTE_MS;
  const b = (Math.floor(end / MINUTE_MS) + 1) * MINUTE_MS;
  // the baselines: the hold reaching into [a, b) and the counter value before it
  const baseRows: RawRow[] = [];
  const lastBefore = db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts < ? ORDER BY ts DESC, id DESC LIMIT 1').get(sid, a) as RawRow | undefined;
  if (counter) {
    const g = db
      .prepare("SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts < ? AND quality = 0 AND typeof(value) IN ('integer', 'real') ORDER BY ts DESC, id DESC LIMIT 1")
      .get(sid, a) as RawRow | undefined;
    if (g && (!lastBefore || g.id !== lastBefore.id)) baseRows.push(g);
  }
  if (lastBefore) baseRows.push(lastBefore);
  const acc = new Accumulator(a, b);
  for (const r of baseRows) acc.add(st, r.ts, r.value, r.quality);
  const rows = db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts, id').iterate(sid, a, b) as IterableIterator<RawRow>;
  for (const r of rows) acc.add(st, r.ts, r.value, r.quality);
  // the first sample at or after b ends the hold of the last one inside (its own stats are outside)
  const next = db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts >= ? ORDER BY ts, id LIMIT 1').get(sid, b) as RawRow | undefined;
  // (without one, the newest sample's hold stays open: it is added at read time, not stored)
  if (next) acc.add(st, next.ts, next.value, next.quality);
  db.prepare('DELETE FROM rollup_minute WHERE series = ? AND bucket >= ? AND bucket < ?').run(sid, a, b);
  upsertAll(acc.minutes.values(), stmt.upsertMinuteMany, stmt.upsertMinute, params);
  rederiveHours(db, stmt, params, sid, a, b);
}

/** The hours overlapping [a, b) of series `sid`, re-derived from their minutes. */
function rederiveHours(db: Database.Database, stmt: RollupStatements, params: DbValue[], sid: number, a: number, b: number): void {
  const ha = Math.floor(a / HOUR_MS) * HOUR_MS;
  const hb = Math.ceil(b / HOUR_MS) * HOUR_MS;
  db.prepare('DELETE FROM rollup_hour WHERE series = ? AND bucket >= ? AND bucket < ?').run(sid, ha, hb);
  const minutes = db.prepare(`SELECT ${COLUMNS} FROM rollup_minute WHERE series = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`).all(sid, ha, hb) as DbRollupRow[];
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
  upsertAll(hours.values(), stmt.upsertHourMany, stmt.upsertHour, params);
}
