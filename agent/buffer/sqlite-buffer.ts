/**
 * The durable buffer: every sample is committed here first (DESIGN.md §2).
 * better-sqlite3 is synchronous: a WAL commit with synchronous=NORMAL costs tens of
 * microseconds and survives a killed process (a power loss may lose the last commits;
 * FULL closes that window at the cost of an fsync per commit).
 */
import { QUALITY_CODE, QUALITY_NAME } from './quality-codes.ts';
import { setById } from './by-id.ts';
import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Quality, Sample, SampleValue, StoredSample } from '../model/index.ts';
import { AgentError } from '../errors.ts';
import { migrate } from './migrations.ts';
import { ROLLUP_SERIES_DEFAULTS, type RollupSeriesConfig } from './rollups.ts';
import { RollupStore } from './rollup-store.ts';
import { KpiReads, type HourSeries, type LocatedSample } from './kpi-reads.ts';

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
}

export const BUFFER_DEFAULTS: Omit<BufferOptions, 'dataDir'> = {
  synchronous: 'NORMAL',
  readonly: false,
  deadLetterCap: 10_000,
  rollupSeries: ROLLUP_SERIES_DEFAULTS,
  rollupFlushMs: 60_000,
  maxPageCount: undefined,
};

/** rows per multi-row INSERT (250 parameters, far below SQLite's limit of 32,766) */
const ROWS_PER_INSERT = 50;
const QUALITY_JSON: readonly string[] = QUALITY_NAME.map((q) => JSON.stringify(q));

export interface LatestValue {
  machine: string;
  signal: string;
  ts: number;
  value: SampleValue;
  quality: Quality;
  /** when the value last changed (for states: "in this state since") */
  since: number;
}

/**
 * latestById's entry, updated in place per committed sample. A number value sits in a double
 * field, which V8 overwrites in place; a field that may also hold a string or null would box
 * every new number in a fresh heap object, promoted by the next scavenges (it lives for a
 * second, until the series' next sample): one per sample at 50,000 tags.
 */
interface LatestSlot {
  machine: string;
  signal: string;
  ts: number;
  isNum: boolean;
  /** the value when isNum, else NaN */
  num: number;
  /** the value when not a number, else null */
  other: SampleValue;
  quality: Quality;
  since: number;
}

function latestSlot(machine: string, signal: string, ts: number, value: SampleValue, quality: Quality, since: number): LatestSlot {
  const slot: LatestSlot = { machine, signal, ts, isNum: true, num: NaN, other: null, quality, since };
  putValue(slot, value);
  return slot;
}

/** the value into the slot's number or other field */
function putValue(slot: LatestSlot, v: SampleValue): void {
  if (typeof v === 'number') {
    slot.isNum = true;
    slot.num = v;
    slot.other = null;
  } else {
    slot.isNum = false;
    slot.num = NaN;
    slot.other = v;
  }
}

export interface BufferStats {
  samples: number;
  /** database file plus WAL, as on disk */
  bytes: number;
  lastId: number;
  deadLetters: number;
}

/** What retention needs to know about the file (agent/buffer/retention.ts). */
export interface PageStats {
  pageSize: number;
  pageCount: number;
  freelist: number;
  walBytes: number;
  /** database file plus WAL, as on disk (the figure `maxBytes` caps) */
  bytes: number;
  /** 0 none, 1 full, 2 incremental */
  autoVacuum: number;
}

export interface DeletedRange {
  count: number;
  minTs: number | null;
  maxTs: number | null;
}

export interface DeadLetterRow {
  id: number;
  ts: number;
  source: string;
  topic: string;
  reason: string;
  payload: string;
}

type Row = { id: number; ts: number; value: SampleValue; quality: number };
type SeriesRow = { id: number; machine: string; signal: string };

/** Values are stored as SQLite REAL/INTEGER/TEXT/NULL; booleans become 1/0. */
function toDbValue(v: SampleValue): number | string | null {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}

export class SqliteBuffer {
  readonly path: string;
  /** opened read-only (`shopfloor-agent kpi` beside a running agent) */
  get readOnly(): boolean {
    return this.opts.readonly;
  }
  private readonly db: Database.Database;
  private readonly seriesIds = new Map<string, number>();
  private readonly seriesByMachine = new Map<string, Map<string, number>>();
  /** by series id (dense, small integers) */
  private readonly seriesJsonCache: string[] = [];
  private readonly seriesById = new Map<number, { machine: string; signal: string }>();
  /** by series id (by-id.ts): an index, not a hash look-up, per committed sample */
  private readonly latestById: (LatestSlot | undefined)[] = [];
  private readonly opts: BufferOptions;
  /** one transaction inserting a batch, prepared once (it sits on the ingest hot path) */
  private readonly insertBatch: (samples: readonly Sample[], first: number, sids: number[], stored: StoredSample[]) => void;
  private readonly stmt: {
    insert: Database.Statement<[number, number, number, number | string | null, number]>;
    insertMany: Database.Statement<unknown[]>;
    insertSeries: Database.Statement<[string, string]>;
    readAfterRaw: Database.Statement<[number, number]>;
    deadLetter: Database.Statement<[number, string, string, string, Buffer]>;
    trimDeadLetters: Database.Statement<[number]>;
  };
  private readonly commitListeners: ((samples: readonly StoredSample[]) => void)[] = [];
  private sampleCount: number;
  private lastId: number;
  /** minute/hour aggregates (read API: `buffer.rollups.rollups(...)`) */
  readonly rollups: RollupStore;
  private rollupsStale = false;
  /** rollup maintenance failures (the tables are replayed from raw rows on the next commit) */
  rollupErrors = 0;
  private kpiReadsCache: KpiReads | undefined;

  constructor(options: Partial<BufferOptions> & { dataDir: string }) {
    this.opts = { ...BUFFER_DEFAULTS, ...options };
    this.path = join(this.opts.dataDir, 'buffer.db');
    try {
      if (!this.opts.readonly) mkdirSync(this.opts.dataDir, { recursive: true });
      this.db = new Database(this.path, { readonly: this.opts.readonly, fileMustExist: this.opts.readonly });
    } catch (e) {
      throw new AgentError('SFA_ERR_BUFFER_OPEN', `cannot open ${this.path}: ${(e as Error).message}`, { cause: e });
    }
    this.db.pragma('busy_timeout = 5000');
    if (!this.opts.readonly) {
      // A new file gets auto_vacuum=INCREMENTAL (it can only be chosen before the first table):
      // retention can then hand freed pages back to the file system. Files created by older agents
      // keep NONE: freed pages are reused, the file does not shrink (README "Durability").
      if ((this.db.pragma('user_version', { simple: true }) as number) === 0 && (this.db.pragma('page_count', { simple: true }) as number) === 0) {
        this.db.pragma('auto_vacuum = INCREMENTAL');
      }
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${this.opts.synchronous}`);
      if (this.opts.maxPageCount !== undefined) this.db.pragma(`max_page_count = ${Math.floor(this.opts.maxPageCount)}`);
      migrate(this.db);
    }
    this.stmt = {
      insert: this.db.prepare('INSERT INTO samples (id, series, ts, value, quality) VALUES (?, ?, ?, ?, ?)'),
      insertMany: this.db.prepare<unknown[]>(`INSERT INTO samples (id, series, ts, value, quality) VALUES ${Array.from({ length: ROWS_PER_INSERT }, () => '(?, ?, ?, ?, ?)').join(', ')}`),
      insertSeries: this.db.prepare('INSERT INTO series (machine, signal) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      readAfterRaw: this.db.prepare('SELECT id, series, ts, value, quality FROM samples WHERE id > ? ORDER BY id LIMIT ?').raw(true),
      deadLetter: this.db.prepare('INSERT INTO dead_letters (ts, source, topic, reason, payload) VALUES (?, ?, ?, ?, ?)'),
      trimDeadLetters: this.db.prepare('DELETE FROM dead_letters WHERE id <= (SELECT MAX(id) FROM dead_letters) - ?'),
    };
    // rows go in ROWS_PER_INSERT at a time through one statement (half the cost per row of one
    // statement per row: the crossing into SQLite is paid per statement); the rest one by one
    const args = new Array<number | string | null>(ROWS_PER_INSERT * 5);
    const last = (ROWS_PER_INSERT - 1) * 5;
    this.insertBatch = this.db.transaction((samples: readonly Sample[], first: number, sids: number[], stored: StoredSample[]) => {
      const n = samples.length;
      const whole = n - (n % ROWS_PER_INSERT);
      for (let i = 0; i < n; i++) {
        const s = samples[i] as Sample;
        const id = first + i;
        const sid = this.seriesId(s.machine, s.signal);
        sids[i] = sid;
        stored[i] = { id, machine: s.machine, signal: s.signal, ts: s.ts, value: s.value, quality: s.quality };
        if (i < whole) {
          const k = (i % ROWS_PER_INSERT) * 5;
          args[k] = id;
          args[k + 1] = sid;
          args[k + 2] = s.ts;
          args[k + 3] = toDbValue(s.value);
          args[k + 4] = QUALITY_CODE[s.quality];
          if (k === last) this.stmt.insertMany.run(...args); // spread: bound from the call's arguments (an array is read element by element through the V8 API, slower)
        } else this.stmt.insert.run(id, sid, s.ts, toDbValue(s.value), QUALITY_CODE[s.quality]);
      }
    });
    for (const s of this.db.prepare('SELECT id, machine, signal FROM series').all() as SeriesRow[]) {
      this.seriesIds.set(key(s.machine, s.signal), s.id);
      this.seriesById.set(s.id, { machine: s.machine, signal: s.signal });
    }
    const counts = this.db
      .prepare("SELECT COUNT(*) AS n, MAX(COALESCE(MAX(id), 0), COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_id'), 0)) AS last FROM samples")
      .get() as { n: number; last: number };
    this.sampleCount = counts.n;
    this.lastId = counts.last;
    this.rollups = new RollupStore(this.db, (id) => this.seriesById.get(id), (m, s) => this.seriesIds.get(key(m, s)), {
      series: this.opts.rollupSeries,
      flushMs: this.opts.rollupFlushMs,
    });
    if (!this.opts.readonly) this.rollups.replay(this.lastId);
    this.loadLatest();
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
      this.reloadSeries();
      throw e;
    }
    // only after the commit: a failed transaction hands out no ids
    this.sampleCount += samples.length;
    this.lastId = first + samples.length - 1;
    this.maintainRollups(stored, sids);
    for (let i = 0; i < stored.length; i++) this.updateLatest(sids[i] as number, stored[i] as StoredSample);
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

  /**
   * Samples with id > afterId as the JSON array of the upstream contract
   * (`[{"id","machine","signal","ts","value","quality"}, …]`), built straight from raw rows
   * with each series' names serialised once: the forwarder's hot path. Numbers keep JS's
   * round-trip formatting (SQLite's json functions round to 15 digits).
   */
  readAfterJson(afterId: number, limit: number): { firstId: number; lastId: number; count: number; json: string } | undefined {
    const rows = this.stmt.readAfterRaw.all(afterId, limit) as [number, number, number, number | string | null, number][];
    const n = rows.length;
    if (n === 0) return undefined;
    let json = '[';
    for (let i = 0; i < n; i++) {
      const r = rows[i] as [number, number, number, number | string | null, number];
      const v = r[3];
      const value = v === null ? 'null' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : JSON.stringify(v);
      json += `${i === 0 ? '' : ','}{"id":${r[0]},${this.seriesJson(r[1])},"ts":${r[2]},"value":${value},"quality":${QUALITY_JSON[r[4]] ?? '"bad"'}}`;
    }
    json += ']';
    const firstRow = rows[0] as [number, number, number, number | string | null, number];
    const lastRow = rows[n - 1] as [number, number, number, number | string | null, number];
    return { firstId: firstRow[0], lastId: lastRow[0], count: n, json };
  }

  private seriesJson(id: number): string {
    let j = this.seriesJsonCache[id];
    if (j === undefined) {
      const s = this.seriesById.get(id) ?? { machine: '?', signal: '?' };
      j = `"machine":${JSON.stringify(s.machine)},"signal":${JSON.stringify(s.signal)}`;
      this.seriesJsonCache[id] = j;
    }
    return j;
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
    let walBytes = 0;
    try {
      walBytes = statSync(`${this.path}-wal`).size;
    } catch {
      // no WAL file yet
    }
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pageCount = this.db.pragma('page_count', { simple: true }) as number;
    return {
      pageSize,
      pageCount,
      freelist: this.db.pragma('freelist_count', { simple: true }) as number,
      walBytes,
      bytes: pageCount * pageSize + walBytes,
      autoVacuum: this.db.pragma('auto_vacuum', { simple: true }) as number,
    };
  }

  /** Hand up to `pages` free pages back to the file system (auto_vacuum=INCREMENTAL only). */
  incrementalVacuum(pages: number): void {
    this.db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
  }

  /** Checkpoint the WAL and truncate it (keeps the -wal file within the size budget). */
  checkpoint(mode: 'PASSIVE' | 'TRUNCATE' = 'TRUNCATE'): void {
    try {
      this.db.pragma(`wal_checkpoint(${mode})`);
    } catch {
      // a reader holds the WAL; the next one succeeds
    }
  }

  /** WAL pages before an automatic checkpoint, and the size the WAL is truncated to after it. */
  limitWal(bytes: number): void {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    this.db.pragma(`wal_autocheckpoint = ${Math.max(16, Math.min(1000, Math.floor(bytes / pageSize)))}`);
    this.db.pragma(`journal_size_limit = ${Math.max(64 * 1024, Math.floor(bytes))}`);
  }

  /** Called after every commit with the stored samples (SSE, KPI caches). Only notifies. */
  onCommit(listener: (samples: readonly StoredSample[]) => void): void {
    this.commitListeners.push(listener);
  }

  deadLetter(source: string, topic: string, reason: string, payload: Buffer | string, ts = Date.now()): void {
    const buf = typeof payload === 'string' ? Buffer.from(payload) : payload;
    this.stmt.deadLetter.run(ts, source, topic, reason, buf.subarray(0, 1024));
    this.stmt.trimDeadLetters.run(this.opts.deadLetterCap);
  }

  deadLetters(limit = 100): DeadLetterRow[] {
    const rows = this.db
      .prepare('SELECT id, ts, source, topic, reason, payload FROM dead_letters ORDER BY id DESC LIMIT ?')
      .all(limit) as { id: number; ts: number; source: string; topic: string; reason: string; payload: Buffer | null }[];
    return rows.map((r) => ({ ...r, payload: r.payload ? r.payload.toString('utf8') : '' }));
  }

  /** Machines that have samples (configured or discovered). */
  machines(): string[] {
    return [...new Set([...this.seriesById.values()].map((s) => s.machine))].sort();
  }

  signals(machine: string): string[] {
    return [...this.seriesById.values()].filter((s) => s.machine === machine).map((s) => s.signal).sort();
  }

  latest(machine?: string): LatestValue[] {
    const out: LatestValue[] = [];
    for (const l of this.latestById) {
      if (l !== undefined && (machine === undefined || l.machine === machine)) {
        out.push({ machine: l.machine, signal: l.signal, ts: l.ts, value: l.isNum ? l.num : l.other, quality: l.quality, since: l.since });
      }
    }
    return out;
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
    const wanted = new Set(machines);
    const out = new Map<string, StoredSample[]>(machines.map((m) => [m, []]));
    const lastBefore = this.db.prepare('SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts < ? ORDER BY ts DESC, id DESC LIMIT 1');
    const lastGoodBefore = this.db.prepare(
      'SELECT id, ts, value, quality FROM samples WHERE series = ? AND ts < ? AND quality = 0 ORDER BY ts DESC, id DESC LIMIT 1',
    );
    for (const [id, s] of this.seriesById) {
      const list = out.get(s.machine);
      if (!list) continue;
      const before = lastBefore.get(id, from) as Row | undefined;
      if (before) {
        if (before.quality !== 0) {
          const good = lastGoodBefore.get(id, from) as Row | undefined;
          if (good) list.push(this.toSample(good, s));
        }
        list.push(this.toSample(before, s));
      }
    }
    const rows = this.db
      .prepare('SELECT id, series, ts, value, quality FROM samples WHERE ts >= ? AND ts < ? ORDER BY ts, id')
      .iterate(from, to) as IterableIterator<Row & { series: number }>;
    for (const r of rows) {
      const s = this.seriesById.get(r.series);
      if (!s || !wanted.has(s.machine)) continue;
      out.get(s.machine)?.push(this.toSample(r, s));
    }
    return out;
  }

  /**
   * Points of one series in [from, to). With `step` (ms), one point per step: the mean of
   * numeric gauges, the last value of counters and text (a counter's mean means nothing).
   */
  series(machine: string, signal: string, from: number, to: number, step?: number, last = false): [number, SampleValue][] {
    const id = this.seriesIds.get(key(machine, signal));
    if (id === undefined) return [];
    if (!step || step <= 0) {
      const rows = this.db
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
        ? this.db.prepare(sql).all(from, step, id, from, to, from, step)
        : this.db.prepare(sql).all(from, step, id, from, to)
    ) as { b: number; value: SampleValue }[];
    return rows.map((r) => [from + r.b * step, r.value]);
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
    for (const l of this.latest(machine)) {
      if (l.signal !== 'state' && l.signal !== 'power_kw') continue;
      t = Math.min(t, this.rollups.tablesNewestTs(machine, l.signal) ?? -Infinity);
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
    // no ORDER BY: a sequential scan of the table beats walking the ts index
    const rows = this.db
      .prepare(
        `SELECT s.id, s.ts, s.value, s.quality, r.machine, r.signal FROM samples s JOIN series r ON r.id = s.series
         WHERE s.series IN (SELECT id FROM series WHERE signal IN (${signals.map(() => '?').join(', ')}))`,
      )
      .all(...signals) as (Row & SeriesRow)[];
    return { samples: rows.map((r) => this.toSample(r, r)), upTo: this.lastId };
  }

  /** The newest sample's time, or null when empty. */
  newestTs(): number | null {
    return (this.db.prepare('SELECT MAX(ts) AS ts FROM samples').get() as { ts: number | null }).ts;
  }

  /** The oldest sample's time, or null when empty. */
  oldestTs(): number | null {
    return (this.db.prepare('SELECT MIN(ts) AS ts FROM samples').get() as { ts: number | null }).ts;
  }

  stats(): BufferStats {
    const dl = this.db.prepare('SELECT COUNT(*) AS n FROM dead_letters').get() as { n: number };
    return { samples: this.sampleCount, bytes: this.pageStats().bytes, lastId: this.lastId, deadLetters: dl.n };
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

  private reloadSeries(): void {
    this.seriesIds.clear();
    this.seriesById.clear();
    this.seriesByMachine.clear();
    this.seriesJsonCache.length = 0;
    for (const s of this.db.prepare('SELECT id, machine, signal FROM series').all() as SeriesRow[]) {
      this.seriesIds.set(key(s.machine, s.signal), s.id);
      this.seriesById.set(s.id, { machine: s.machine, signal: s.signal });
    }
  }

  private seriesId(machine: string, signal: string): number {
    // machine → signal → id: no key string built per sample on the hot path
    let bySignal = this.seriesByMachine.get(machine);
    if (bySignal === undefined) {
      bySignal = new Map();
      this.seriesByMachine.set(machine, bySignal);
    }
    let id = bySignal.get(signal);
    if (id === undefined) {
      const k = key(machine, signal);
      id = this.seriesIds.get(k);
      if (id === undefined) {
        this.stmt.insertSeries.run(machine, signal);
        id = (this.db.prepare('SELECT id FROM series WHERE machine = ? AND signal = ?').get(machine, signal) as { id: number }).id;
        this.seriesIds.set(k, id);
        this.seriesById.set(id, { machine, signal });
        this.rollups.seriesCreated(id);
      }
      bySignal.set(signal, id);
    }
    return id;
  }

  private toSample(r: Row, s: { machine: string; signal: string }): StoredSample {
    return { id: r.id, machine: s.machine, signal: s.signal, ts: r.ts, value: r.value, quality: QUALITY_NAME[r.quality] ?? 'bad' };
  }

  /** in place: one object per series, not one per sample (latest() hands out copies) */
  private updateLatest(k: number, s: StoredSample): void {
    const prev = this.latestById[k];
    if (prev === undefined) {
      setById(this.latestById, k, latestSlot(s.machine, s.signal, s.ts, s.value, s.quality, s.ts));
      return;
    }
    if (prev.ts > s.ts) return; // a late sample does not change "now"
    const v = s.value;
    const same = typeof v === 'number' ? prev.isNum && prev.num === v : !prev.isNum && prev.other === v;
    if (!same || prev.quality !== s.quality) prev.since = s.ts;
    putValue(prev, v);
    prev.ts = s.ts;
    prev.quality = s.quality;
  }

  /**
   * The newest value of every series at start-up. A writer has just replayed its rollups, so
   * each series' newest hour row holds it: one key seek per series. (The samples table is
   * indexed by ts only: a per-series scan would read the whole table for a quiet series, hours
   * for a big buffer with many tags.) A read-only reader cannot count on the writer having
   * flushed its rollups and reads raw rows. `since` is restored exactly for `state` (the
   * dashboard's "in this state since"); other signals start from their newest sample.
   */
  private loadLatest(): void {
    const newestHour = this.db.prepare('SELECT last_ts AS ts, last_value AS value, last_quality AS quality FROM rollup_hour WHERE series = ? AND last_ts IS NOT NULL ORDER BY bucket DESC LIMIT 1');
    const newestRaw = this.db.prepare('SELECT ts, value, quality FROM samples WHERE series = ? ORDER BY ts DESC, id DESC LIMIT 1');
    const last = this.opts.readonly ? newestRaw : newestHour;
    for (const [id, s] of this.seriesById) {
      const r = last.get(id) as { ts: number; value: SampleValue; quality: number } | undefined;
      if (!r) continue;
      const since = s.signal === 'state' ? this.stateSince(id, r) : r.ts;
      setById(this.latestById, id, latestSlot(s.machine, s.signal, r.ts, r.value, QUALITY_NAME[r.quality] ?? 'bad', since));
    }
  }

  /**
   * When the newest value of a state series began: its minute rollups walked back from the
   * newest; a minute that ended on another value (or quality) ends the walk, the run began at
   * the first sample after it. A minute holding several samples may hide another value inside:
   * its raw rows are checked (that minute only). A read-only reader scans raw rows.
   */
  private stateSince(id: number, newest: { ts: number; value: SampleValue; quality: number }): number {
    // (ts, id) order, as everywhere: equal timestamps are ordered by arrival
    const otherIn = this.db.prepare('SELECT ts, id FROM samples WHERE series = ? AND ts >= ? AND ts < ? AND (value IS NOT ? OR quality != ?) ORDER BY ts DESC, id DESC LIMIT 1');
    const firstAfter = this.db.prepare('SELECT ts FROM samples WHERE series = ? AND (ts > ? OR (ts = ? AND id > ?)) ORDER BY ts, id LIMIT 1');
    const runAfter = (other: { ts: number; id: number }): number => (firstAfter.get(id, other.ts, other.ts, other.id) as { ts: number } | undefined)?.ts ?? newest.ts;
    if (this.opts.readonly) {
      const other = otherIn.get(id, -Infinity, Infinity, newest.value, newest.quality) as { ts: number; id: number } | undefined;
      return other ? runAfter(other) : ((firstAfter.get(id, -Infinity, -Infinity, 0) as { ts: number } | undefined)?.ts ?? newest.ts);
    }
    const rows = this.db
      .prepare('SELECT bucket, n, first_ts, last_ts, last_value, last_quality FROM rollup_minute WHERE series = ? ORDER BY bucket DESC')
      .iterate(id) as IterableIterator<{ bucket: number; n: number; first_ts: number; last_ts: number; last_value: SampleValue; last_quality: number }>;
    let since = newest.ts;
    for (const r of rows) {
      if (r.n === 0) continue; // a minute the previous value was only held through
      // the minute's last sample is the newest of its timestamp (ties go to the later arrival)
      if (r.last_value !== newest.value || r.last_quality !== newest.quality) return runAfter({ ts: r.last_ts, id: Number.MAX_SAFE_INTEGER });
      if (r.n > 1) {
        const other = otherIn.get(id, r.bucket, r.bucket + 60_000, newest.value, newest.quality) as { ts: number; id: number } | undefined;
        if (other) return runAfter(other);
      }
      since = r.first_ts;
    }
    return since;
  }
}

function key(machine: string, signal: string): string {
  return `${machine}\u0000${signal}`;
}
