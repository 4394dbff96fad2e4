/**
 * The messages between the agent and its query worker. One port carries both directions in
 * order: a digest of commits posted before a query reaches the worker before it, so a query
 * never reads cached windows that a commit it follows has changed.
 */
import type { Config } from '../../config/schema.ts';
import type { SqliteBuffer } from '../buffer/index.ts';
import type { KpiRequest } from '../http/ports.ts';
import type { TrendRange } from '../http/machine-trend.ts';
import type { StoredSample } from '../model/index.ts';

/** What the worker is started with (structured-cloned). */
export interface WorkerInit {
  config: Config;
  /**
   * the order samples of the whole buffer and the id up to which they are all there, as the
   * agent finds them through its rollup tables (a read-only reader would scan every row)
   */
  orders: ReturnType<SqliteBuffer['samplesOfSignals']>;
}

/** What the commits since the last digest change for the worker. */
export interface CommitDigestMessage {
  type: 'digest';
  /** series bound to the source delivering them (plant.bindSeries), before their samples */
  binds: [source: string, machine: string, signal: string][];
  /** per series committed to, its earliest committed time: the cached windows from there on are stale */
  series: [machine: string, signal: string, minTs: number][];
  /** order samples, whole: the order book is built from them */
  orders: StoredSample[];
}

export type QueryOp =
  | { kind: 'kpis'; q: KpiRequest }
  | { kind: 'benchmarks'; from: number; to: number }
  | { kind: 'series'; machine: string; signal: string; from: number; to: number; step: number | undefined; maxPoints: number }
  | { kind: 'trend'; machine: string; range: TrendRange; now: number }
  | { kind: 'stats' };

/** The worker's KPI service's counters (health views, tests). */
export interface QueryWorkerStats {
  hoursFromRollupTables: number;
  cachedEntries: number;
  cachedRows: number;
}

export interface QueryMessage {
  type: 'query';
  id: number;
  op: QueryOp;
}

export type ToWorker = CommitDigestMessage | QueryMessage;

export type FromWorker =
  | { type: 'ready' }
  /** `value`: the JSON bytes (kpis; their buffer transferred) or a structured-cloned answer */
  | { type: 'result'; id: number; value: unknown }
  /** a query the service refused (400: a bad range, an unknown grouping) or that failed */
  | { type: 'error'; id: number; code: string | undefined; detail: string; statusCode: number | undefined };
