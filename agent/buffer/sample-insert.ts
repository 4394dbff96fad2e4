/** The commit's insert: one transaction writing a batch of samples into the samples table. */
import type Database from 'better-sqlite3';
import type { Sample, SampleValue, StoredSample } from '../model/index.ts';
import { QUALITY_CODE } from './quality-codes.ts';
import type { SeriesRegistry } from './series-registry.ts';

/** rows per multi-row INSERT (250 parameters, far below SQLite's limit of 32,766) */
const ROWS_PER_INSERT = 50;

/** Inserts `samples` with ids from `first`, filling in each one's series id and stored form. */
export type InsertBatch = (samples: readonly Sample[], first: number, sids: number[], stored: StoredSample[]) => void;

/** Values are stored as SQLite REAL/INTEGER/TEXT/NULL; booleans become 1/0. */
function toDbValue(v: SampleValue): number | string | null {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}

/** Prepared once: the transaction sits on the ingest hot path. */
export function prepareInsertBatch(db: Database.Database, series: SeriesRegistry): InsertBatch {
  const insert = db.prepare<[number, number, number, number | string | null, number]>('INSERT INTO samples (id, series, ts, value, quality) VALUES (?, ?, ?, ?, ?)');
  const insertMany = db.prepare<unknown[]>(`INSERT INTO samples (id, series, ts, value, quality) VALUES ${Array.from({ length: ROWS_PER_INSERT }, () => '(?, ?, ?, ?, ?)').join(', ')}`);
  // rows go in ROWS_PER_INSERT at a time through one statement (half the cost per row of one
  // statement per row: the crossing into SQLite is paid per statement); the rest one by one
  const args = new Array<number | string | null>(ROWS_PER_INSERT * 5);
  const last = (ROWS_PER_INSERT - 1) * 5;
  return db.transaction((samples: readonly Sample[], first: number, sids: number[], stored: StoredSample[]) => {
    const n = samples.length;
    const whole = n - (n % ROWS_PER_INSERT);
    for (let i = 0; i < n; i++) {
      const s = samples[i] as Sample;
      const id = first + i;
      const sid = series.idOf(s.machine, s.signal);
      sids[i] = sid;
      stored[i] = { id, machine: s.machine, signal: s.signal, ts: s.ts, value: s.value, quality: s.quality };
      if (i < whole) {
        const k = (i % ROWS_PER_INSERT) * 5;
        args[k] = id;
        args[k + 1] = sid;
        args[k + 2] = s.ts;
        args[k + 3] = toDbValue(s.value);
        args[k + 4] = QUALITY_CODE[s.quality];
        if (k === last) insertMany.run(...args); // spread: bound from the call's arguments (an array is read element by element through the V8 API, slower)
      } else insert.run(id, sid, s.ts, toDbValue(s.value), QUALITY_CODE[s.quality]);
    }
  });
}
