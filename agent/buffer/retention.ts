/**
 * Retention (DESIGN.md §2.5): forwarded samples older than `retainDays` are deleted; at the
 * size cap (`maxBytes`, database file + WAL) forwarded samples go first, then the oldest
 * unforwarded ones, counted in droppedSamples (meta 'dropped_samples', in the delete's own
 * transaction) and reported with their time range. A full disk (SQLITE_FULL) lowers the cap
 * to what the file holds now, so the same policy frees room inside the file.
 *
 * "Forwarded" is what the caller says may be deleted (`forwardedUpTo`): the broker-acknowledged
 * cursor, or with `upstream.confirm: fleet` the fleet-confirmed id (`deletableIs: 'confirmed'`).
 * Then retention by age never deletes an unconfirmed sample; the size cap still does (a full
 * disk must not stop ingest), oldest first, counted in droppedSamples like any unforwarded drop
 * and reported as unconfirmed, and the forwarder's chain (prevLastId) tells the fleet those ids
 * were dropped on purpose.
 *
 * Deletes run in batches of `batchRows` with a turn of the event loop between them, so ingest
 * (which shares the one connection) never waits for more than one small transaction.
 *
 * Size: deleting frees pages inside the file; new rows reuse them, so the file stops growing
 * at the cap. New databases use auto_vacuum=INCREMENTAL and hand surplus free pages back to
 * the file system (the cap can be lowered); databases created by older agents keep
 * auto_vacuum=NONE and their size until `VACUUM` (README "Durability").
 */
import type { SqliteBuffer } from './sqlite-buffer.ts';

export interface RetentionOptions {
  maxBytes: number;
  retainDays: number;
  /** days of minute rollups and of hour rollups kept */
  rollupMinuteDays: number;
  rollupHourDays: number;
  intervalMs: number;
  batchRows: number;
  /** start deleting above this share of the cap … */
  highWater: number;
  /** … down to this share */
  lowWater: number;
  /** a drop episode (one warning) ends after this long without drops */
  episodeQuietMs: number;
  /** share of the cap the WAL may take: it counts towards the cap, so it is checkpointed and truncated beyond it */
  walShare: number;
  /** free pages kept in the file after compaction (a share of the cap): reused before the file grows again */
  freeSlackShare: number;
  /** what `forwardedUpTo` means, for the reports: acknowledged by the broker, or confirmed by the fleet */
  deletableIs: 'forwarded' | 'confirmed';
  now: () => number;
}

export const RETENTION_DEFAULTS: Omit<RetentionOptions, 'maxBytes' | 'retainDays'> = {
  rollupMinuteDays: 14,
  rollupHourDays: 730,
  intervalMs: 1000,
  batchRows: 1000,
  highWater: 0.8,
  lowWater: 0.7,
  episodeQuietMs: 600_000,
  walShare: 0.03,
  freeSlackShare: 0.05,
  deletableIs: 'forwarded',
  now: () => Date.now(),
};

export interface RetentionLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

const DAY_MS = 86_400_000;

export class Retention {
  private readonly opts: RetentionOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** lowered on SQLITE_FULL to what the disk holds */
  private cap: number;
  /** the drop episode being reported */
  private episode: { count: number; minTs: number; maxTs: number; lastDropAt: number } | undefined;
  /** samples deleted by retention (forwarded or not), since start */
  deleted = 0;
  diskFull = false;

  constructor(
    private readonly buffer: SqliteBuffer,
    /** the highest id forwarded (everything ≤ it is upstream or was dropped) */
    private readonly forwardedUpTo: () => number,
    options: Partial<RetentionOptions> & { maxBytes: number; retainDays: number },
    private readonly log: RetentionLog,
  ) {
    this.opts = { ...RETENTION_DEFAULTS, ...options };
    this.cap = this.opts.maxBytes;
    // the WAL counts towards the cap: checkpoint it early, and truncate it afterwards
    buffer.limitWal(this.cap * this.opts.walShare);
    // a fast ingest must not outrun the timer: a pass also starts after ~1 % of the cap was written
    buffer.onCommit((samples) => {
      this.rowsSincePass += samples.length;
      if (!this.stopped && this.timer !== undefined && this.rowsSincePass * this.bytesPerRow > this.cap * 0.01) this.schedule(0);
    });
  }

  private rowsSincePass = 0;
  private rollupsTrimmedAt = 0;
  /** estimated from the last pass; starts pessimistic */
  private bytesPerRow = 100;

  get capBytes(): number {
    return this.cap;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** The disk is full: hold the database at (a little under) its present size. */
  onDiskFull(): void {
    const now = this.buffer.pageStats().bytes;
    if (!this.diskFull) this.log.warn({ bytes: now, maxBytes: this.opts.maxBytes }, 'disk full (SQLITE_FULL): holding the buffer at its present size and dropping the oldest samples to make room [SFA_ERR_DISK_FULL]');
    this.diskFull = true;
    this.cap = Math.min(this.cap, now);
    this.buffer.limitWal(this.cap * this.opts.walShare);
    this.schedule(0);
  }

  /** One pass (tests call it directly). */
  async runOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runOnce()
        .catch((err: unknown) => this.log.warn({ err }, 'retention pass failed; retried'))
        .finally(() => this.schedule(this.opts.intervalMs));
    }, ms);
  }

  private async pass(): Promise<void> {
    const { batchRows } = this.opts;
    this.rowsSincePass = 0;
    const samples = this.buffer.stats().samples;
    if (samples > 1000) this.bytesPerRow = Math.max(10, this.usedBytes() / samples);
    const now = this.opts.now();
    // 1. forwarded and older than retainDays
    const before = now - this.opts.retainDays * DAY_MS;
    for (;;) {
      const n = this.buffer.deleteOlderThan(before, this.forwardedUpTo(), batchRows);
      this.deleted += n;
      if (n < batchRows || this.stopped) break;
      await turn();
    }
    this.buffer.rollups.flushIfDue();
    if (now - this.rollupsTrimmedAt >= 600_000) {
      this.rollupsTrimmedAt = now;
      this.buffer.rollups.deleteOlderThan(now - this.opts.rollupMinuteDays * DAY_MS, now - this.opts.rollupHourDays * DAY_MS);
    }
    // 2. the size cap: oldest first (forwarded ones are the oldest ids), in small batches
    let droppedThisPass = false;
    while (!this.stopped && this.usedBytes() > this.cap * this.opts.highWater) {
      while (!this.stopped && this.usedBytes() > this.cap * this.opts.lowWater) {
        const lo = this.buffer.oldestId();
        if (lo === undefined) break;
        let hi = this.buffer.idAfter(lo - 1, batchRows - 1) ?? this.buffer.stats().lastId;
        const fwd = this.forwardedUpTo();
        const unforwarded = hi > fwd;
        if (unforwarded && lo <= fwd) hi = fwd; // forwarded ones first
        const r = this.buffer.deleteIds(lo - 1, hi, unforwarded);
        this.deleted += r.count;
        if (unforwarded && r.count > 0 && r.minTs !== null && r.maxTs !== null) {
          droppedThisPass = true;
          this.noteDropped(r.count, r.minTs, r.maxTs);
        }
        this.compact();
        await turn();
      }
      this.compact();
      if (this.buffer.oldestId() === undefined) break;
    }
    this.compact();
    if (!droppedThisPass && this.episode && now - this.episode.lastDropAt >= this.opts.episodeQuietMs) this.endEpisode();
  }

  /** Bytes the data needs: pages in use plus the WAL. */
  private usedBytes(): number {
    const ps = this.buffer.pageStats();
    return (ps.pageCount - ps.freelist) * ps.pageSize + ps.walBytes;
  }

  /** Keeps the file itself under the cap: truncate the WAL, return surplus free pages. */
  private compact(): void {
    const ps = this.buffer.pageStats();
    if (ps.walBytes > this.cap * this.opts.walShare) this.buffer.checkpoint('TRUNCATE');
    const file = ps.pageCount * ps.pageSize;
    const slack = Math.floor((this.cap * this.opts.freeSlackShare) / ps.pageSize);
    if (ps.autoVacuum === 2 && file > this.cap * this.opts.highWater && ps.freelist > slack) this.buffer.incrementalVacuum(ps.freelist - slack);
  }

  private noteDropped(count: number, minTs: number, maxTs: number): void {
    const now = this.opts.now();
    if (!this.episode) {
      this.episode = { count: 0, minTs, maxTs, lastDropAt: now };
      this.log.warn(
        { from: new Date(minTs).toISOString(), to: new Date(maxTs).toISOString(), maxBytes: this.cap },
        `buffer at its size cap: dropping ${this.unwhat()} samples, oldest first, from ${new Date(minTs).toISOString()} (raise buffer.maxBytes or restore the upstream link)`,
      );
    }
    const e = this.episode;
    e.lastDropAt = now;
    e.count += count;
    if (minTs < e.minTs) e.minTs = minTs;
    if (maxTs > e.maxTs) e.maxTs = maxTs;
  }

  private endEpisode(): void {
    const e = this.episode;
    this.episode = undefined;
    if (!e) return;
    this.log.info(
      { dropped: e.count, from: new Date(e.minTs).toISOString(), to: new Date(e.maxTs).toISOString(), droppedSamples: this.buffer.droppedSamples() },
      `dropped ${e.count} ${this.unwhat()} samples from ${new Date(e.minTs).toISOString()} to ${new Date(e.maxTs).toISOString()} at the size cap`,
    );
  }

  private unwhat(): string {
    return this.opts.deletableIs === 'confirmed' ? 'unconfirmed (not yet stored by the fleet)' : 'unforwarded';
  }
}

function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
