/** The buffer's options and their defaults (agent/buffer/sqlite-buffer.ts). */
import { ROLLUP_SERIES_DEFAULTS, type RollupSeriesConfig } from './rollups.ts';

export interface BufferOptions {
  /** folder holding buffer.db (created when missing) */
  dataDir: string;
  synchronous: 'NORMAL' | 'FULL';
  /** open read-only (the `kpi` command while the agent runs) */
  readonly: boolean;
  /** rows kept in dead_letters; older ones are deleted */
  deadLetterCap: number;
  /** per-series settings the rollups need (counter rollover, maxHold): the Plant */
  rollupSeries: RollupSeriesConfig;
  /**
   * rollup contributions are written at most this often (ms); a crash replays the rest. Each
   * flush upserts one minute and one hour row per series touched, so with many tags at 1 Hz a
   * short interval writes more rollup rows than samples; reads flush first, so it never delays
   * a query.
   */
  rollupFlushMs: number;
  /** a hard limit on the file in pages (SQLite max_page_count): past it commits fail with SQLITE_FULL, as on a full disk */
  maxPageCount: number | undefined;
  /**
   * read every series' newest value at open (`latest()`); a read-only reader that never asks
   * (the query worker) skips it: it scans raw rows, seconds on a large buffer
   */
  loadLatest: boolean;
}

export const BUFFER_DEFAULTS: Omit<BufferOptions, 'dataDir'> = {
  synchronous: 'NORMAL',
  readonly: false,
  deadLetterCap: 10_000,
  rollupSeries: ROLLUP_SERIES_DEFAULTS,
  rollupFlushMs: 60_000,
  maxPageCount: undefined,
  loadLatest: true,
};
