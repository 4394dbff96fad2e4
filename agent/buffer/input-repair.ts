/**
 * Start-up repair of rows stored before the input boundary existed (agent/plant/input-boundary.ts):
 * a series whose machine or signal is not a safe name, and a sample dated where no date can be
 * printed or more than a year ahead, would keep breaking readers (toISOString throwing, a latest
 * value pinned in the future, a wildcard in an upstream topic) across restarts, and retention never
 * ages a future sample out. (Old but printable samples are retention's to delete, not this.) They move to dead letters with their reason. Cheap when there is nothing to
 * do: one pass over the series names and two seeks on the samples' time index.
 */
import type Database from 'better-sqlite3';
import { nameProblem } from '../model/index.ts';
import type { DeadLetters } from './dead-letters.ts';

export const INPUT_REPAIR_DEFAULTS = {
  /** the earliest time a JavaScript Date can hold (-8.64e15 ms); earlier cannot be printed */
  floorMs: -8.64e15,
  /** far beyond any clock skew the boundary allows (buffer.maxFutureS) */
  futureMs: 366 * 86_400_000,
  /** a clock before this was never set (a box without RTC before NTP): nothing is judged "ahead" by it */
  plausibleClockMs: Date.UTC(2025, 0, 1),
  /** dead letters written for single samples; the rest are summed up in one */
  lettersPerRun: 1000,
} as const;

export interface RepairResult {
  /** series removed for their names */
  series: number;
  /** samples moved to dead letters (both causes) */
  samples: number;
  /** per remaining series: the range of removed timestamps its rollups must be recomputed over */
  ranges: Map<number, { lo: number; hi: number }>;
}

interface Row {
  id: number;
  series: number;
  ts: number;
  value: unknown;
  quality: number;
}

export function repairStoredInput(db: Database.Database, letters: DeadLetters, now: number, opts = INPUT_REPAIR_DEFAULTS): RepairResult {
  const result: RepairResult = { series: 0, samples: 0, ranges: new Map() };
  const all = db.prepare('SELECT id, machine, signal FROM series').all() as { id: number; machine: string; signal: string }[];
  const bad = all.flatMap((s) => {
    const problem = nameProblem('machine', s.machine) ?? nameProblem('signal', s.signal);
    return problem === undefined ? [] : [{ ...s, problem }];
  });
  const hi = now >= opts.plausibleClockMs ? now + opts.futureMs : Number.MAX_VALUE;
  const outOfWindow = db.prepare('SELECT id, series, ts, value, quality FROM samples WHERE ts < ? OR ts > ? ORDER BY id');
  const firstOut = db.prepare('SELECT 1 FROM samples WHERE ts < ? OR ts > ? LIMIT 1').get(opts.floorMs, hi);
  if (bad.length === 0 && firstOut === undefined) return result;
  db.transaction(() => {
    // ids never go back, even when the newest rows are the ones removed
    db.prepare("INSERT INTO meta (key, value) VALUES ('last_id', (SELECT MAX(COALESCE(MAX(id), 0), COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_id'), 0)) FROM samples)) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run();
    const ids = bad.map((s) => s.id);
    const counts = new Map<number, number>();
    if (ids.length > 0) {
      const json = JSON.stringify(ids);
      for (const r of db.prepare('SELECT series, COUNT(*) AS n FROM samples WHERE series IN (SELECT value FROM json_each(?)) GROUP BY series').all(json) as { series: number; n: number }[]) counts.set(r.series, r.n);
      db.prepare('DELETE FROM samples WHERE series IN (SELECT value FROM json_each(?))').run(json);
      for (const s of bad) {
        for (const t of ['rollup_minute', 'rollup_hour']) db.prepare(`DELETE FROM ${t} WHERE series = ?`).run(s.id);
        db.prepare('DELETE FROM series_source WHERE machine = ? AND signal = ?').run(s.machine, s.signal);
        db.prepare('DELETE FROM series WHERE id = ?').run(s.id);
        const n = counts.get(s.id) ?? 0;
        result.samples += n;
        letters.add('buffer', `${s.machine}/${s.signal}`, `stored series removed at start-up with its ${n} samples: ${s.problem}`, '', now);
      }
      result.series = bad.length;
    }
    const days = Math.round(opts.futureMs / 86_400_000);
    const first: Row[] = [];
    let rest = 0;
    for (const r of outOfWindow.iterate(opts.floorMs, hi) as IterableIterator<Row>) {
      result.samples++;
      const range = result.ranges.get(r.series);
      if (range === undefined) result.ranges.set(r.series, { lo: r.ts, hi: r.ts });
      else {
        range.lo = Math.min(range.lo, r.ts);
        range.hi = Math.max(range.hi, r.ts);
      }
      if (first.length < opts.lettersPerRun) first.push(r);
      else rest++;
    }
    for (const r of first) {
      const why = r.ts < opts.floorMs ? 'before any printable date' : `more than ${days} days ahead of the agent's clock`;
      letters.add('buffer', `series ${r.series}`, `stored sample ${r.id} removed at start-up: timestamp ${r.ts} is ${why}`, JSON.stringify({ id: r.id, ts: r.ts, value: r.value, quality: r.quality }), now);
    }
    if (rest > 0) letters.add('buffer', 'samples', `${rest} more stored samples with timestamps outside the printable dates or more than ${days} days ahead removed at start-up`, '', now);
    db.prepare('DELETE FROM samples WHERE ts < ? OR ts > ?').run(opts.floorMs, hi);
  })();
  return result;
}
