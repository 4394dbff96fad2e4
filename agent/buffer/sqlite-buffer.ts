/**
 * The durable buffer: every sample is committed here first (DESIGN.md §2).
 * better-sqlite3 is synchronous: a WAL commit with synchronous=NORMAL costs tens of
 * microseconds and survives a killed process (a power loss may lose the last commits;
 * FULL closes that window at the cost of an fsync per commit).
 */
import { SeriesSources, type SeriesSource } from './series-sources.ts';
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Sample, SampleValue, StoredSample } from '../model/index.ts';
import { checkpoint, incrementalVacuum, limitWal, pageStats, type BufferStats, type PageStats } from './buffer-file.ts';
import { openBufferDb, readCounts } from './buffer-open.ts';
import { DeadLetters, type DeadLetterRow } from './dead-letters.ts';
import { repairStoredInput } from './input-repair.ts';
import { prepareReadAfter, readAfterJson, type ReadAfterStatement, type SamplesJson } from './forward-reads.ts';
import { KpiReads, type HourSeries, type LocatedSample } from './kpi-reads.ts';
import { latestValues, loadLatest, updateLatest, type LatestSlot, type LatestValue } from './latest-values.ts';
import { BUFFER_DEFAULTS, type BufferOptions } from './buffer-options.ts';
import { RollupStore } from './rollup-store.ts';
import { prepareInsertBatch, type InsertBatch } from './sample-insert.ts';
import { PublishedHours } from './published-hours.ts';
import { readSeriesPoints, readWindow, scanSignals } from './sample-reads.ts';
import { SeriesRegistry } from './series-registry.ts';

export { BUFFER_DEFAULTS, type BufferOptions } from './buffer-options.ts';

export interface DeletedRange {
  count: number;
  minTs: number | null;
  maxTs: number | null;
}

export class SqliteBuffer {
  readonly path: string;
  /** opened read-only (`shopfloor-agent kpi` beside a running agent) */
  get readOnly(): boolean {
    return this.opts.readonly;
  }
  private readonly db: Database.Database;
  private readonly registry: SeriesRegistry;
  /** by series id (by-id.ts): an index, not a hash look-up, per committed sample */
  private readonly latestById: (LatestSlot | undefined)[] = [];
  private readonly opts: BufferOptions;
  /** one transaction inserting a batch, prepared once (it sits on the ingest hot path) */
  private readonly insertBatch: InsertBatch;
  private readonly readAfter: ReadAfterStatement;
  private readonly dead: DeadLetters;
  private readonly sources: SeriesSources;
  private readonly commitListeners: ((samples: readonly StoredSample[]) => void)[] = [];
  private sampleCount: number;
  private lastId: number;
  /** minute/hour aggregates (read API: `buffer.rollups.rollups(...)`) */
  readonly rollups: RollupStore;
  private rollupsStale = false;
  /** rollup maintenance failures (the tables are replayed from raw rows on the next commit) */
  rollupErrors = 0;
  private kpiReadsCache: KpiReads | undefined;
  /** the hourly KPI components published upstream (agent/forward/hour-publisher.ts) */
  private publishedHoursCache: PublishedHours | undefined;
  /** what the start-up repair removed (input-repair.ts), for the agent's log */
  readonly repaired: { series: number; samples: number };

  constructor(options: Partial<BufferOptions> & { dataDir: string }) {
    this.opts = { ...BUFFER_DEFAULTS, ...options };
    this.path = join(this.opts.dataDir, 'buffer.db');
    this.db = openBufferDb(this.path, this.opts);
    this.dead = new DeadLetters(this.db, this.opts.deadLetterCap);
    // rows stored before the input boundary existed: removed before anything reads them
    const repaired = this.opts.readonly ? undefined : repairStoredInput(this.db, this.dead, Date.now());
    this.registry = new SeriesRegistry(this.db, (id) => this.rollups.seriesCreated(id));
    this.insertBatch = prepareInsertBatch(this.db, this.registry);
    this.readAfter = prepareReadAfter(this.db);
    this.sources = new SeriesSources(this.db);
    const counts = readCounts(this.db);
    this.sampleCount = counts.n;
    this.lastId = counts.last;
    this.rollups = new RollupStore(this.db, (id) => this.registry.byId.get(id), (m, s) => this.registry.find(m, s), {
      series: this.opts.rollupSeries,
      flushMs: this.opts.rollupFlushMs,
    });
    if (!this.opts.readonly) this.rollups.replay(this.lastId);
    if (repaired !== undefined) this.rollups.recomputeRemoved(repaired.ranges);
    this.repaired = repaired === undefined ? { series: 0, samples: 0 } : { series: repaired.series, samples: repaired.samples };
    if (this.opts.loadLatest) loadLatest(this.db, this.registry.byId, this.latestById, this.opts.readonly);
  }

  /** Commit samples in one transaction, synchronously; returns them with their ids. */
  commit(samples: readonly Sample[]): StoredSample[] {
    if (samples.length === 0) return [];
    const stored: StoredSample[] = new Array<StoredSample>(samples.length);
    const sids = new Array<number>(samples.length);
    const first = this.lastId + 1;
    try {
      this.insertBatch(samples, first, sids, stored);
    } catch (e) {
      // series created inside the failed transaction are gone again
      this.registry.reload();
      throw e;
    }
    // only after the commit: a failed transaction hands out no ids
    this.sampleCount += samples.length;
    this.lastId = first + samples.length - 1;
    this.maintainRollups(stored, sids);
    for (let i = 0; i < stored.length; i++) updateLatest(this.latestById, sids[i] as number, stored[i] as StoredSample);
    for (const l of this.commitListeners) l(stored);
    return stored;
  }

  /**
   * Delete samples with id <= maxId (retention). The id high-water mark is recorded in the
   * same transaction, so ids never go back even when the table ends up empty.
   */
  deleteUpTo(maxId: number): number {
    return this.deleteIds(0, maxId).count;
  }

  /**
   * Delete samples with loId < id <= hiId (retention, in small batches), returning how many and
   * their time range. Records the id high-water mark in the same transaction.
   */
  deleteIds(loId: number, hiId: number, countAsDropped = false): DeletedRange {
    let out: DeletedRange = { count: 0, minTs: null, maxTs: null };
    this.db.transaction(() => {
      this.setMeta('last_id', String(this.lastId));
      const r = this.db.prepare('SELECT MIN(ts) AS lo, MAX(ts) AS hi FROM samples WHERE id > ? AND id <= ?').get(loId, hiId) as { lo: number | null; hi: number | null };
      const n = this.db.prepare('DELETE FROM samples WHERE id > ? AND id <= ?').run(loId, hiId).changes;
      // unforwarded samples dropped at the size cap: counted in the same transaction (exact across crashes)
      if (countAsDropped && n > 0) this.setMeta('dropped_samples', String(this.droppedSamples() + n));
      out = { count: n, minTs: r.lo, maxTs: r.hi };
    })();
    this.sampleCount -= out.count;
    return out;
  }

  /**
   * Among the `limit` oldest ids (≤ `maxId`: forwarded), delete those with ts < `beforeTs`.
   * Bounded work per call: ids follow arrival, so the oldest ids hold the oldest samples; a
   * late sample with an old ts is deleted once it is among the oldest ids.
   */
  deleteOlderThan(beforeTs: number, maxId: number, limit: number): number {
    let n = 0;
    this.db.transaction(() => {
      this.setMeta('last_id', String(this.lastId));
      n = this.db
        .prepare('DELETE FROM samples WHERE id IN (SELECT id FROM samples WHERE id <= ? ORDER BY id LIMIT ?) AND ts < ?')
        .run(maxId, limit, beforeTs).changes;
    })();
    this.sampleCount -= n;
    return n;
  }

  /**
   * The id `offset` places past the first id above `afterId` (offset 0: the next id), or undefined
   * when fewer rows are left: retention finds the upper end of its next batch of rows with it.
   */
  idAfter(afterId: number, offset: number): number | undefined {
    const r = this.db.prepare('SELECT id FROM samples WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?').get(afterId, offset) as { id: number } | undefined;
    return r?.id;
  }

  /** Samples with id > afterId as the upstream contract's JSON array (forward-reads.ts): the forwarder's hot path. */
  readAfterJson(afterId: number, limit: number): SamplesJson | undefined {
    return readAfterJson(this.readAfter, this.registry, afterId, limit);
  }

  /** Samples with id > afterId (the forward backlog). */
  countAfter(afterId: number): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM samples WHERE id > ?').get(afterId) as { n: number }).n;
  }

  /** Unforwarded samples dropped at the size cap, ever (meta 'dropped_samples'). */
  droppedSamples(): number {
    return Number(this.getMeta('dropped_samples') ?? 0);
  }

  /** The oldest stored id, or undefined when empty. */
  oldestId(): number | undefined {
    const r = this.db.prepare('SELECT MIN(id) AS id FROM samples').get() as { id: number | null };
    return r.id ?? undefined;
  }

  getMeta(k: string): string | undefined {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(k) as { value: string } | undefined;
    return r?.value;
  }

  setMeta(k: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(k, value);
  }

  /** The one place the size on disk is measured: stats(), metrics and retention read it here. */
  pageStats(): PageStats {
    return pageStats(this.db, this.path);
  }

  /** Hand up to `pages` free pages back to the file system (auto_vacuum=INCREMENTAL only). */
  incrementalVacuum(pages: number): void {
    incrementalVacuum(this.db, pages);
  }

  /** Checkpoint the WAL and truncate it (keeps the -wal file within the size budget). */
  checkpoint(mode: 'PASSIVE' | 'TRUNCATE' = 'TRUNCATE'): void {
    checkpoint(this.db, mode);
  }

  /** WAL pages before an automatic checkpoint, and the size the WAL is truncated to after it. */
  limitWal(bytes: number): void {
    limitWal(this.db, bytes);
  }

  /** Called after every commit with the stored samples (SSE, KPI caches). Only notifies. */
  onCommit(listener: (samples: readonly StoredSample[]) => void): void {
    this.commitListeners.push(listener);
  }

  /** Records that `source` delivers the series (machine, signal). */
  bindSeriesSource(source: string, machine: string, signal: string): void {
    this.sources.bind({ machine, signal, source });
  }

  /**
   * A read-only reader learns series created after it opened (the query worker, told of them
   * by the writer's commits): names of new ids are read again.
   */
  refreshSeries(): void {
    if (this.opts.readonly) this.registry.reload();
  }

  /** Whether (machine, signal) is a series this buffer knows. */
  hasSeries(machine: string, signal: string): boolean {
    return this.registry.find(machine, signal) !== undefined;
  }

  /** Which source delivers each series, as recorded. */
  seriesSources(): SeriesSource[] {
    return this.sources.all();
  }

  deadLetter(source: string, topic: string, reason: string, payload: Buffer | string, ts = Date.now()): void {
    this.dead.add(source, topic, reason, payload, ts);
  }

  /** dead letters deleted to keep the table within its bounds since the buffer opened */
  deadLettersDropped(): number {
    return this.dead.dropped;
  }

  deadLetters(limit = 100): DeadLetterRow[] {
    return this.dead.list(limit);
  }

  /** Machines that have samples (configured or discovered). */
  machines(): string[] {
    return this.registry.machines();
  }

  signals(machine: string): string[] {
    return this.registry.signals(machine);
  }

  latest(machine?: string): LatestValue[] {
    return latestValues(this.latestById, machine);
  }

  /**
   * What the KPI engine needs for one machine and window [from, to): every sample with ts in
   * the window, plus per signal the last sample before `from` and, when that one is not good,
   * the last good one before it (the counter baseline).
   */
  machineWindow(machine: string, from: number, to: number): StoredSample[] {
    return this.window([machine], from, to).get(machine) ?? [];
  }

  /** machineWindow for several machines at once: one scan of the time range. */
  window(machines: readonly string[], from: number, to: number): Map<string, StoredSample[]> {
    return readWindow(this.db, this.registry.byId, machines, from, to);
  }

  /**
   * Points of one series in [from, to). With `step` (ms), one point per step: the mean of
   * numeric gauges, the last value of counters and text (a counter's mean means nothing).
   */
  series(machine: string, signal: string, from: number, to: number, step?: number, last = false): [number, SampleValue][] {
    const id = this.registry.find(machine, signal);
    if (id === undefined) return [];
    return readSeriesPoints(this.db, id, from, to, step, last);
  }

  /**
   * Hour rows of the series of `machines` whose signal is in `signals`, start in [from, to),
   * the KPI columns in typed arrays (agent/buffer/kpi-reads.ts). A writer's rows include the
   * open holds of its newest samples: every past hour is complete (hourRollupsCompleteUntil).
   */
  hourRollups(machines: readonly string[], signals: ReadonlySet<string>, from: number, to: number): HourSeries[] {
    this.rollups.flush(); // contributions still in memory go to the table first
    return this.kpiReads.hourSeries(machines, signals, from, to, !this.opts.readonly);
  }

  /**
   * Hours of `machine` ending at or before this time are complete in hourRollups: all of them
   * for a writer (it flushes first and adds open holds). A read-only reader beside a running
   * agent sees only what the agent has flushed: counters up to the oldest unflushed sample, and
   * a held value (state, power) only up to the newest sample the tables hold.
   */
  hourRollupsCompleteUntil(machine: string): number {
    if (this.rollupsStale) return -Infinity; // a maintenance failure: the next commit replays them
    if (!this.opts.readonly) return Infinity;
    let t = this.rollups.coveredUntil(true);
    // the series, not the latest values: those a long-lived reader loaded at open
    for (const signal of ['state', 'power_kw']) {
      if (this.registry.find(machine, signal) === undefined) continue;
      t = Math.min(t, this.rollups.tablesNewestTs(machine, signal) ?? -Infinity);
    }
    return t;
  }

  /**
   * Every sample of the given signals, any machine, in no particular order (order events and
   * order_id changes: rare, and an order's release may be weeks before its completion), and the
   * id up to which they are all there (later ones reach listeners through onCommit). A writer
   * finds them through its rollup tables (kpi-reads.ts), with their ids only where samples of an
   * `ordered` signal share a time (their order is by id); a reader, whose tables may lag, scans.
   */
  samplesOfSignals(signals: readonly string[], ordered: readonly string[] = signals): { samples: LocatedSample[]; upTo: number } {
    if (signals.length === 0) return { samples: [], upTo: this.lastId };
    if (!this.opts.readonly && !this.rollupsStale) {
      this.rollups.flush();
      const oldest = this.oldestTs();
      const located = oldest === null ? [] : this.kpiReads.samplesOfSignals(signals, new Set(ordered), oldest, this.newestTs() ?? oldest);
      if (located) return { samples: located, upTo: this.lastId };
    }
    if (!this.opts.readonly) return { samples: scanSignals(this.db, signals), upTo: this.lastId };
    // a reader's lastId is the one it opened with: the scan and its id bound come from one snapshot
    return this.db.transaction(() => ({ upTo: readCounts(this.db).last, samples: scanSignals(this.db, signals) }))();
  }

  /** The newest sample's time, or null when empty. */
  newestTs(): number | null {
    return (this.db.prepare('SELECT MAX(ts) AS ts FROM samples').get() as { ts: number | null }).ts;
  }

  /** The oldest sample's time, or null when empty. */
  oldestTs(): number | null {
    return (this.db.prepare('SELECT MIN(ts) AS ts FROM samples').get() as { ts: number | null }).ts;
  }

  /** The highest sample id ever given (rows up to it may since have been deleted). */
  newestId(): number {
    return this.lastId;
  }

  stats(): BufferStats {
    return { samples: this.sampleCount, bytes: this.pageStats().bytes, lastId: this.lastId, deadLetters: this.dead.count() };
  }

  close(): void {
    if (this.db.open) {
      if (!this.opts.readonly) {
        try {
          this.rollups.flush();
        } catch {
          // replayed from raw rows at the next start
        }
        try {
          this.db.pragma('wal_checkpoint(TRUNCATE)');
        } catch {
          // another connection may hold the WAL; it is checkpointed later
        }
      }
      this.db.close();
    }
  }

  /** What the forwarder published of the hourly KPI components (prepared on first use; writers only). */
  get publishedHours(): PublishedHours {
    this.publishedHoursCache ??= new PublishedHours(this.db);
    return this.publishedHoursCache;
  }

  /** prepared on first use (agent/kpi-query's reads) */
  private get kpiReads(): KpiReads {
    this.kpiReadsCache ??= new KpiReads(this.db, this.rollups);
    return this.kpiReadsCache;
  }

  private maintainRollups(stored: StoredSample[], sids: number[]): void {
    if (this.opts.readonly) return;
    try {
      if (this.rollupsStale) {
        this.rollups.replay(this.lastId);
        this.rollupsStale = false;
      } else this.rollups.ingest(stored, sids);
    } catch {
      // the samples are committed; the rollups catch up from raw rows on the next commit
      this.rollupErrors++;
      this.rollupsStale = true;
    }
  }
}
