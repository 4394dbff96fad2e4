/**
 * The buffer reads the KPI service needs that the buffer has no method for yet, on a
 * read-only connection of its own (WAL: it reads beside a running agent).
 */
import Database from 'better-sqlite3';
import { ORDER_EVENT_SIGNAL, ORDER_ID_SIGNAL } from '../kpi/index.ts';
import { isCounterSignal, type MachineState, type SampleValue, type StoredSample } from '../model/index.ts';
import type { KpiBuffer } from './ports.ts';

/** What the KPIs read from one hour of one series' rollup (agent/buffer/rollups.ts). */
export interface HourRollup {
  delta: number;
  integral: number;
  stateMs: Record<MachineState, number>;
}

/** machine → signal → hour start → row */
export type HourRollupIndex = Map<string, Map<string, Map<number, HourRollup>>>;

/** the gauges the KPIs read (counters are the others) */
export const KPI_GAUGES: ReadonlySet<string> = new Set(['power_kw', 'state']);

function reader(buffer: KpiBuffer): Database.Database | undefined {
  try {
    const db = new Database(buffer.path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return db;
  } catch {
    return undefined;
  }
}

/**
 * Hour rollup rows of the KPI signals of `machines` with start in `[from, to)`, one indexed
 * range per series (the rollup store's own read also computes open holds, which full past
 * hours do not need). undefined: an older buffer without rollup tables (the raw way).
 */
export function readHourRollups(buffer: KpiBuffer, machines: readonly string[], from: number, to: number): HourRollupIndex | undefined {
  buffer.rollups.flush(); // contributions still in memory (this process's commits) go to the table first
  const db = reader(buffer);
  if (!db) return undefined;
  try {
    const wanted = new Set(machines);
    const series = (db.prepare('SELECT id, machine, signal FROM series').all() as { id: number; machine: string; signal: string }[]).filter(
      (x) => wanted.has(x.machine) && (isCounterSignal(x.signal) || KPI_GAUGES.has(x.signal)),
    );
    const q = db.prepare('SELECT bucket, delta, running_ms, idle_ms, down_ms, planned_stop_ms, integral FROM rollup_hour WHERE series = ? AND bucket >= ? AND bucket < ?');
    const out: HourRollupIndex = new Map();
    for (const x of series) {
      let m = out.get(x.machine);
      if (!m) out.set(x.machine, (m = new Map()));
      const buckets = new Map<number, HourRollup>();
      for (const r of q.all(x.id, from, to) as { bucket: number; delta: number; running_ms: number; idle_ms: number; down_ms: number; planned_stop_ms: number; integral: number }[]) {
        buckets.set(r.bucket, { delta: r.delta, integral: r.integral, stateMs: { running: r.running_ms, idle: r.idle_ms, down: r.down_ms, planned_stop: r.planned_stop_ms } });
      }
      m.set(x.signal, buckets);
    }
    return out;
  } catch {
    return undefined;
  } finally {
    db.close();
  }
}

/** Every order_event and order_id sample in the buffer (one scan). */
export function readOrderSamples(buffer: KpiBuffer): StoredSample[] {
  const db = reader(buffer);
  if (!db) return [];
  try {
    const rows = db
      .prepare(
        // no ORDER BY: a sequential scan of the table beats walking the ts index (the book sorts)
        `SELECT s.id, s.ts, s.value, s.quality, r.machine, r.signal FROM samples s JOIN series r ON r.id = s.series
         WHERE s.series IN (SELECT id FROM series WHERE signal IN (?, ?))`,
      )
      .all(ORDER_EVENT_SIGNAL, ORDER_ID_SIGNAL) as { id: number; ts: number; value: SampleValue; quality: number; machine: string; signal: string }[];
    return rows.map((r) => ({ id: r.id, ts: r.ts, value: r.value, quality: r.quality === 0 ? 'good' : r.quality === 1 ? 'uncertain' : 'bad', machine: r.machine, signal: r.signal }));
  } finally {
    db.close();
  }
}

export function oldestSampleTs(buffer: KpiBuffer): number | null {
  const db = reader(buffer);
  if (!db) return null;
  try {
    return (db.prepare('SELECT MIN(ts) AS ts FROM samples').get() as { ts: number | null }).ts;
  } finally {
    db.close();
  }
}
