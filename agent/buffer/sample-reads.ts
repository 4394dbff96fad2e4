/** Reads of raw samples: the KPI engine's windows, chart points of one series, a scan by signal. */
import type Database from 'better-sqlite3';
import type { SampleValue, StoredSample } from '../model/index.ts';
import { QUALITY_NAME } from './quality-codes.ts';
import type { SeriesName } from './series-registry.ts';

type Row = { id: number; ts: number; value: SampleValue; quality: number };

function toSample(r: Row, s: SeriesName): StoredSample {
  return { id: r.id, machine: s.machine, signal: s.signal, ts: r.ts, value: r.value, quality: QUALITY_NAME[r.quality] ?? 'bad' };
}

/**
 * Per machine, every sample with ts in [from, to), plus per signal the last sample before
 * `from` and, when that one is not good, the last good one before it (the counter baseline):
 * one scan of the time range.
 */
export function readWindow(db: Database.Database, series: ReadonlyMap<number, SeriesName>, machines: readonly string[], from: number, to: number): Map<string, StoredSample[]> {
  const wanted = new Set(machines);
  const out = new Map<string, StoredSample[]>(machines.map((m) => [m, []]));
  const lastBefore = db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts < ? ORDER BY ts DESC, id DESC LIMIT 1');
  const lastGoodBefore = db.prepare(
    'SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts < ? AND quality = 0 ORDER BY ts DESC, id DESC LIMIT 1',
  );
  for (const [id, s] of series) {
    const list = out.get(s.machine);
    if (!list) continue;
    const before = lastBefore.get(id, from) as Row | undefined;
    if (before) {
      if (before.quality !== 0) {
        const good = lastGoodBefore.get(id, from) as Row | undefined;
        if (good) list.push(toSample(good, s));
      }
      list.push(toSample(before, s));
    }
  }
  const rows = db
    .prepare('SELECT id, series, ts, value, quality FROM samples WHERE ts >= ? AND ts < ? ORDER BY ts, id')
    .iterate(from, to) as IterableIterator<Row & { series: number }>;
  for (const r of rows) {
    const s = series.get(r.series);
    if (!s || !wanted.has(s.machine)) continue;
    out.get(s.machine)?.push(toSample(r, s));
  }
  return out;
}

/**
 * Points of series `id` in [from, to). With `step` (ms), one point per step: the mean of
 * numeric gauges, the last value of counters and text (a counter's mean means nothing).
 */
export function readSeriesPoints(db: Database.Database, id: number, from: number, to: number, step: number | undefined, last: boolean): [number, SampleValue][] {
  if (!step || step <= 0) {
    const rows = db
      .prepare('SELECT ts, value FROM samples WHERE series = ? AND ts >= ? AND ts < ? AND quality = 0 ORDER BY ts, id LIMIT 100000')
      .all(id, from, to) as { ts: number; value: SampleValue }[];
    return rows.map((r) => [r.ts, r.value]);
  }
  const sql = last
    ? `SELECT CAST((ts - ?) / ? AS INTEGER) AS b, value FROM samples WHERE id IN (
         SELECT MAX(id) FROM samples WHERE series = ? AND ts >= ? AND ts < ? AND quality = 0 GROUP BY CAST((ts - ?) / ? AS INTEGER))
       ORDER BY b`
    : `SELECT CAST((ts - ?) / ? AS INTEGER) AS b, AVG(value) AS value FROM samples
       WHERE series = ? AND ts >= ? AND ts < ? AND quality = 0 AND typeof(value) IN ('integer', 'real') GROUP BY b ORDER BY b`;
  const rows = (
    last
      ? db.prepare(sql).all(from, step, id, from, to, from, step)
      : db.prepare(sql).all(from, step, id, from, to)
  ) as { b: number; value: SampleValue }[];
  return rows.map((r) => [from + r.b * step, r.value]);
}

/** Every sample of the given signals, any machine, in no particular order. */
export function scanSignals(db: Database.Database, signals: readonly string[]): StoredSample[] {
  // no ORDER BY: a sequential scan of the table beats walking the ts index
  const rows = db
    .prepare(
      `SELECT s.id, s.ts, s.value, s.quality, r.machine, r.signal FROM samples s JOIN series r ON r.id = s.series
       WHERE s.series IN (SELECT id FROM series WHERE signal IN (${signals.map(() => '?').join(', ')}))`,
    )
    .all(...signals) as (Row & SeriesName)[];
  return rows.map((r) => toSample(r, r));
}
