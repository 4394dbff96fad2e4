/** The KPI service's options, every default in one object. */
export interface KpiServiceOptions {
  /** keep full past hours' components in memory (false: every query from raw rows) */
  cache: boolean;
  /**
   * fill full past hours from the buffer's hour rollups instead of raw rows (needs `cache`, and
   * a buffer opened with the Plant as its `rollupSeries`, as the Agent and the CLI do)
   */
  rollups: boolean;
  /** most cached (machine, hour) entries; past it the cache starts over */
  maxCacheEntries: number;
  /** most bytes of kept row JSON (`queryJsonChunks`); past it the kept rows start over */
  maxRowCacheBytes: number;
  /** longest range read from the buffer at once, ms */
  chunkMs: number;
  /** most windows a query may cut */
  maxWindows: number;
}

export const KPI_SERVICE_DEFAULTS: KpiServiceOptions = {
  cache: true,
  rollups: true,
  maxCacheEntries: 500_000,
  // about 45,000 day rows (1.4 kB each): a year by day for 120 machines
  maxRowCacheBytes: 64 * 1024 * 1024,
  chunkMs: 24 * 3600 * 1000,
  maxWindows: 10_000,
};
