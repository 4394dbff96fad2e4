/**
 * The minute and hour rollups (rollups.ts: what they hold and how they are read), kept
 * incrementally as samples are committed: contributions accumulate per series and minute in
 * memory (rollup-accumulator.ts), a series receiving a late sample is recomputed from raw rows
 * (rollup-recompute.ts).
 *
 * Durability: contributions are accumulated in memory and written at most every `flushMs`
 * together with meta 'rollup_id' (all samples with id ≤ it are in the tables). After a crash
 * the samples above it are replayed (replay), so rollups never miss or double-count a
 * committed sample. Reads flush first.
 */
import { QUALITY_CODE, QUALITY_NAME } from './quality-codes.ts';
import { setById } from './by-id.ts';
import type Database from 'better-sqlite3';
import type { StateDecoder } from '../kpi/state-time.ts';
import type { StoredSample } from '../model/index.ts';
import { Accumulator, mergeAcc, newAcc, type Acc, type SeriesState } from './rollup-accumulator.ts';
import { recomputeRange } from './rollup-recompute.ts';
import { openHoldHours, readBaselines, readRollupRows } from './rollup-reads.ts';
import { freshSeriesState, warmSeriesState } from './rollup-series-state.ts';
import { allSeries, prepareRollupStatements, upsertAll, upsertParams, type RawRow, type RollupStatements } from './rollup-sql.ts';
import { HOUR_MS, ROLLUP_DEFAULTS, type Baseline, type OpenHoldHour, type Resolution, type RollupOptions, type RollupRow } from './rollups.ts';

const REPLAY_CHUNK = 20_000;

export class RollupStore {
  private readonly opts: RollupOptions;
  /** by series id (by-id.ts): an index, not a hash look-up, per sample */
  private states: (SeriesState | undefined)[] = [];
  /** series created since the buffer opened: no rows before, no look-up needed */
  private readonly created = new Set<number>();
  private readonly pending = new Accumulator();
  private lastFlush = Date.now();
  private batchStamp = 0;
  private readonly decoders = new Map<string, StateDecoder>();
  /** the parameters of the multi-row upserts, reused by every one (rollup-sql.ts upsertAll) */
  private readonly manyParams = upsertParams();
  /** all samples with id ≤ this are in the tables (or pending in memory, when > rollupId) */
  private rollupId: number;
  private processedId: number;
  private stmtCache: RollupStatements | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly seriesName: (id: number) => { machine: string; signal: string } | undefined,
    private readonly seriesIdOf: (machine: string, signal: string) => number | undefined,
    options: Partial<RollupOptions> = {},
  ) {
    this.opts = { ...ROLLUP_DEFAULTS, ...options };
    const row = db.prepare("SELECT value FROM meta WHERE key = 'rollup_id'").get() as { value: string } | undefined;
    this.rollupId = row ? Number(row.value) : 0;
    this.processedId = this.rollupId;
  }

  /** prepared on first use: a read-only reader of a buffer not yet migrated never needs them */
  private get stmt(): RollupStatements {
    this.stmtCache ??= prepareRollupStatements(this.db);
    return this.stmtCache;
  }

  /**
   * Brings the tables up to date with every committed sample (start-up after a crash): the
   * samples with id > rollup_id go through the incremental path in id order, each series
   * starting from the baseline of its newest hour row; a series whose samples arrived out of
   * order is recomputed from raw rows there (ingest). A range recomputation per series would
   * scan the ts index once per series: with tens of thousands of tags, hours.
   */
  replay(lastId: number): void {
    this.pending.clear();
    this.states = [];
    this.created.clear();
    this.processedId = this.rollupId;
    if (lastId > this.rollupId) {
      const read = this.db.prepare('SELECT id, series, ts, value, quality FROM samples WHERE id > ? AND id <= ? ORDER BY id LIMIT ?');
      let after = this.rollupId;
      for (;;) {
        const rows = read.all(after, lastId, REPLAY_CHUNK) as (RawRow & { series: number })[];
        const last = rows[rows.length - 1];
        if (last === undefined) break;
        const stored: StoredSample[] = [];
        const sids: number[] = [];
        for (const r of rows) {
          const name = this.seriesName(r.series);
          if (name === undefined) continue;
          stored.push({ id: r.id, machine: name.machine, signal: name.signal, ts: r.ts, value: r.value, quality: QUALITY_NAME[r.quality] ?? 'bad' });
          sids.push(r.series);
        }
        this.ingest(stored, sids, false);
        after = last.id;
      }
    }
    this.processedId = lastId;
    this.flush();
    this.rollupId = lastId;
  }

  /** After a commit: the samples, in id order, all with ids above everything seen before. */
  ingest(samples: readonly StoredSample[], seriesIds: readonly number[], mayFlush = true): void {
    if (samples.length === 0) return;
    // a series receiving a sample older than its newest is recomputed, the rest is incremental
    let late: Map<number, { lo: number; hi: number }> | undefined;
    const stamp = ++this.batchStamp;
    const sts = new Array<SeriesState>(samples.length);
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i] as StoredSample;
      const st = this.state(seriesIds[i] as number);
      sts[i] = st;
      if (st.batch !== stamp) {
        st.batch = stamp;
        st.batchNewest = st.hasLast ? st.lastTs : -Infinity;
      }
      if (s.ts < st.batchNewest) {
        late ??= new Map();
        late.set(st.id, { lo: Infinity, hi: -Infinity });
      } else st.batchNewest = s.ts;
    }
    if (late !== undefined) {
      // the tables must hold everything before this batch before ranges are rewritten
      this.flush();
      for (let i = 0; i < samples.length; i++) {
        const r = late.get(seriesIds[i] as number);
        if (r === undefined) continue;
        const ts = (samples[i] as StoredSample).ts;
        if (ts < r.lo) r.lo = ts;
        if (ts > r.hi) r.hi = ts;
      }
    }
    for (let i = 0; i < samples.length; i++) {
      const st = sts[i] as SeriesState;
      if (late?.has(st.id)) continue;
      const s = samples[i] as StoredSample;
      const v = s.value;
      this.pending.add(st, s.ts, typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' && !Number.isFinite(v) ? null : v, QUALITY_CODE[s.quality]);
    }
    if (late !== undefined) {
      const ranges = late;
      this.db.transaction(() => {
        for (const [sid, r] of ranges) this.recompute(sid, r.lo, r.hi);
      })();
      for (const sid of ranges.keys()) this.states[sid] = undefined; // reload from raw rows
    }
    this.processedId = (samples[samples.length - 1] as StoredSample).id;
    if (this.pending.size >= this.opts.maxPending || (mayFlush && Date.now() - this.lastFlush >= this.opts.flushMs)) this.flush();
  }

  /**
   * Writes pending rows once they are `flushMs` old, whether or not samples keep coming (a
   * plant gone quiet): a read-only reader beside the agent sees them within `flushMs` plus the
   * caller's period (the retention pass, every second). A commit only flushes when due.
   */
  flushIfDue(): void {
    if (Date.now() - this.lastFlush >= this.opts.flushMs) this.flush();
  }

  /** Writes pending contributions and the rollup cursor in one transaction. */
  flush(): void {
    this.lastFlush = Date.now();
    if (this.pending.size === 0 && this.rollupId === this.processedId) return;
    const hours = new Map<number, Acc>();
    for (const [k, a] of this.pending.minutes) {
      const hk = Math.floor(k / 60);
      let h = hours.get(hk);
      if (h === undefined) {
        h = newAcc(a.series, Math.floor(a.bucket / HOUR_MS) * HOUR_MS);
        hours.set(hk, h);
      }
      mergeAcc(h, a);
    }
    const upto = this.processedId;
    this.db.transaction(() => {
      upsertAll(this.pending.minutes.values(), this.stmt.upsertMinuteMany, this.stmt.upsertMinute, this.manyParams);
      upsertAll(hours.values(), this.stmt.upsertHourMany, this.stmt.upsertHour, this.manyParams);
      this.stmt.setMeta.run(String(upto));
    })();
    this.pending.clear();
    for (const st of this.states) if (st !== undefined) st.acc = undefined;
    this.rollupId = upto;
  }

  /** Rollup rows of machines' series with start in [from, to), including open holds. */
  rollups(machines: readonly string[], from: number, to: number, resolution: Resolution): RollupRow[] {
    this.flush();
    return readRollupRows(this.db, machines, from, to, resolution, (sid) => this.state(sid));
  }

  /**
   * Rollup rows are complete for buckets ending at or before this time. A writer flushes before
   * every read: always. A read-only reader (`shopfloor-agent kpi` beside a running agent) sees
   * only what the writer has flushed (up to `flushMs` behind): the oldest sample above the
   * writer's cursor bounds it (a late sample above the cursor included).
   */
  coveredUntil(readonly: boolean): number {
    if (!readonly) return Infinity;
    // NOT INDEXED: the rows past rollup_id by id (few: a minute of ingest), not the whole ts index
    // walked in order (seconds at 17 M rows, and a query asks once per machine)
    const row = this.db.prepare("SELECT MIN(ts) AS ts FROM samples NOT INDEXED WHERE id > coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'rollup_id'), 0)").get() as { ts: number | null } | undefined;
    return row?.ts ?? Infinity;
  }

  /**
   * The newest sample time of (machine, signal) that the tables hold: a held value (state,
   * power) is in them up to there. For a writer (it flushes before reads) that is the series'
   * newest sample; a read-only reader beside a running agent sees only what the writer has
   * flushed, and a hold from the last flushed sample to an unflushed one is not in the tables
   * yet. null: the tables hold nothing of the series.
   */
  tablesNewestTs(machine: string, signal: string): number | null {
    const sid = this.seriesIdOf(machine, signal);
    if (sid === undefined) return null;
    const row = this.stmt.newestHour.get(sid) as { last_ts: number } | undefined;
    return row?.last_ts ?? null;
  }

  /**
   * The open hold of series `sid`'s newest sample (a state or a gauge value held until the next
   * sample, up to maxHold), per hour in [from, to): what the tables do not hold yet, added as
   * the KPI engine would count it. Empty when the newest sample holds nothing.
   */
  openHoldHours(sid: number, from: number, to: number): OpenHoldHour[] {
    return openHoldHours(this.state(sid), from, to);
  }

  /** Per signal of `machine`: the last sample and the last good sample with ts < t (t hour-aligned). */
  baselines(machine: string, t: number): Baseline[] {
    this.flush();
    return readBaselines(this.db, machine, t);
  }

  /** Deletes minute rollups older than `minuteBefore` and hour rollups older than `hourBefore`. */
  deleteOlderThan(minuteBefore: number, hourBefore: number, limit = 5000): number {
    this.flush(); // pending rows would otherwise come back after the delete
    // WITHOUT ROWID tables keyed (series, bucket): delete by key ranges per series
    let n = 0;
    const del = this.db.prepare('DELETE FROM rollup_minute WHERE series = ? AND bucket < ?');
    const delH = this.db.prepare('DELETE FROM rollup_hour WHERE series = ? AND bucket < ?');
    this.db.transaction(() => {
      for (const s of allSeries(this.db)) {
        n += del.run(s.id, minuteBefore).changes;
        n += delH.run(s.id, hourBefore).changes;
        if (n >= limit) break;
      }
    })();
    return n;
  }

  /**
   * Samples of these series in [lo, hi] were removed (the start-up repair, input-repair.ts):
   * their rollups there are rewritten from the raw rows left, as for a late sample.
   */
  recomputeRemoved(ranges: ReadonlyMap<number, { lo: number; hi: number }>): void {
    if (ranges.size === 0) return;
    this.flush();
    this.db.transaction(() => {
      for (const [sid, r] of ranges) this.recompute(sid, r.lo, r.hi);
    })();
    for (const sid of ranges.keys()) this.states[sid] = undefined; // reload from the tables
  }

  /** Rewrites series `sid`'s rollups that samples in [lo, hi] can affect (inside the caller's transaction). */
  private recompute(sid: number, lo: number, hi: number): void {
    const name = this.seriesName(sid);
    if (name === undefined) return;
    recomputeRange(this.db, this.stmt, this.manyParams, freshSeriesState(sid, name.machine, name.signal, this.opts.series, this.decoders), lo, hi);
  }

  /** The buffer created series `sid` just now (its first rows are in the batch being committed). */
  seriesCreated(sid: number): void {
    this.created.add(sid);
  }

  /**
   * The incremental state of a series, loaded the first time from its newest hour row
   * (rollup-series-state.ts).
   */
  private state(sid: number): SeriesState {
    let st = this.states[sid];
    if (st !== undefined) return st;
    const name = this.seriesName(sid) ?? { machine: '', signal: '' };
    st = freshSeriesState(sid, name.machine, name.signal, this.opts.series, this.decoders);
    setById(this.states, sid, st);
    if (this.created.delete(sid)) return st; // created just now: nothing to look up
    warmSeriesState(this.db, this.stmt, st, this.processedId);
    return st;
  }

  /** for tests and the KPI service: the series id of a (machine, signal) */
  seriesId(machine: string, signal: string): number | undefined {
    return this.seriesIdOf(machine, signal);
  }
}
