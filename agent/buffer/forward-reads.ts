/** The forwarder's read: stored samples as the upstream contract's JSON, its hot path. */
import type Database from 'better-sqlite3';
import { QUALITY_NAME } from './quality-codes.ts';
import type { SeriesRegistry } from './series-registry.ts';

const QUALITY_JSON: readonly string[] = QUALITY_NAME.map((q) => JSON.stringify(q));

/** id, series, ts, value, quality */
type RawSample = [number, number, number, number | string | null, number];
export type ReadAfterStatement = Database.Statement<[number, number]>;

export interface SamplesJson {
  firstId: number;
  lastId: number;
  count: number;
  json: string;
}

export function prepareReadAfter(db: Database.Database): ReadAfterStatement {
  return db.prepare<[number, number]>('SELECT id, series, ts, value, quality FROM samples WHERE id > ? ORDER BY id LIMIT ?').raw(true);
}

/**
 * Samples with id > afterId as the JSON array of the upstream contract
 * (`[{"id","machine","signal","ts","value","quality"}, …]`), built straight from raw rows
 * with each series' names serialised once: the forwarder's hot path. Numbers keep JS's
 * round-trip formatting (SQLite's json functions round to 15 digits).
 */
export function readAfterJson(readAfter: ReadAfterStatement, series: SeriesRegistry, afterId: number, limit: number): SamplesJson | undefined {
  const rows = readAfter.all(afterId, limit) as RawSample[];
  const n = rows.length;
  if (n === 0) return undefined;
  let json = '[';
  for (let i = 0; i < n; i++) {
    const r = rows[i] as RawSample;
    const v = r[3];
    const value = v === null ? 'null' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : JSON.stringify(v);
    json += `${i === 0 ? '' : ','}{"id":${r[0]},${series.json(r[1])},"ts":${r[2]},"value":${value},"quality":${QUALITY_JSON[r[4]] ?? '"bad"'}}`;
  }
  json += ']';
  const firstRow = rows[0] as RawSample;
  const lastRow = rows[n - 1] as RawSample;
  return { firstId: firstRow[0], lastId: lastRow[0], count: n, json };
}
