/**
 * Hourly KPI components per machine, QoS 1 on `{prefix}/{site}/{agent}/hours/{machine}`
 * (README "Upstream"): `{ agent, site, instance, machine, hourStart, revision, components }`.
 *
 * Each whole hour of the site's calendar is examined once it closed (plus `graceMs`, for samples
 * still on their way), for every machine, from the KPI service: its components are hashed and
 * recorded with revision 1 in the buffer (table upstream_hours). A committed sample older than
 * the examined horizon marks its machine dirty from its time on (a late sample changes its own
 * hour and later ones: a counter delta, a held value); dirty hours are examined again and get
 * revision + 1 only when their components changed. Work per tick is bounded (`hoursPerTick`
 * machine-hours), the horizon and the dirty marks are in meta, and a revision stays in the
 * table until the broker acknowledged it: a restart loses nothing and resends what was not
 * acknowledged.
 */
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import type { MetaStore } from './confirmation.ts';

const HOUR_MS = 3_600_000;
export const HOURS_NEXT_KEY = 'upstream_hours_next';
export const HOURS_DIRTY_KEY = 'upstream_hours_dirty';

export interface HourPublisherOptions {
  /** the site's zone: hours are its calendar hours (as `/api/kpis?groupBy=hour`) */
  timezone: string;
  /** an hour is examined this long after it closed */
  graceMs: number;
  tickMs: number;
  /** machine-hours computed per tick, at most (at least one hour of every machine) */
  hoursPerTick: number;
  /** hour messages published and not yet acknowledged, at most */
  inFlight: number;
  /** acknowledged hours older than this are forgotten (the hour rollups are kept as long) */
  keepMs: number;
  now: () => number;
}

export const HOUR_PUBLISHER_DEFAULTS: Omit<HourPublisherOptions, 'timezone'> = {
  graceMs: 120_000,
  tickMs: 1000,
  // about 1 ms per machine-hour (20 machines, 1-min samples): a tick stays a short pause for ingest
  hoursPerTick: 24,
  inFlight: 16,
  keepMs: 730 * 86_400_000,
  now: () => Date.now(),
};

/** What the publisher needs of the KPI service. */
export interface HourKpis {
  machineIds(): string[];
  /** machine rows per hour; without `machine`, of every machine (one query: far cheaper than one per machine) */
  kpis(q: { from: number; to: number; machine?: string; groupBy: 'hour' }): { machine: string; periodStart: string; components: object }[];
}

/** What the publisher needs of the buffer. */
export interface HourBuffer extends MetaStore {
  readonly publishedHours: {
    get(machine: string, hourStart: number): { revision: number; hash: string } | undefined;
    put(h: { machine: string; hourStart: number; revision: number; hash: string; payload: string }): void;
    acked(machine: string, hourStart: number, revision: number): void;
    forgetAckedSince(since: number): Map<string, number>;
    unsent(limit: number): { machine: string; hourStart: number; revision: number; payload: string }[];
    prune(before: number): number;
  };
  oldestTs(): number | null;
}

/** Publishes one message; false when there is no connection. */
export type HourSink = (machine: string, payload: string, done: (err?: Error) => void) => boolean;

export interface HourLog {
  warn(obj: object, msg: string): void;
}

export class HourPublisher {
  private readonly opts: HourPublisherOptions;
  /** hours starting before this are examined (undefined: not started) */
  private next: number | undefined;
  private readonly dirty: Map<string, number>;
  private readonly flying = new Map<string, number>();
  private epoch = 0;
  private timer: NodeJS.Timeout | undefined;
  private prunedAt = 0;
  private stopped = false;
  /** revisions recorded since start (first publications included) */
  recorded = 0;

  constructor(
    private readonly buffer: HourBuffer,
    private readonly kpis: HourKpis,
    private readonly header: string,
    private readonly sink: HourSink,
    private readonly log: HourLog,
    options: Partial<HourPublisherOptions> & { timezone: string },
  ) {
    this.opts = { ...HOUR_PUBLISHER_DEFAULTS, ...options };
    const n = buffer.getMeta(HOURS_NEXT_KEY);
    this.next = n === undefined ? undefined : Number(n);
    this.dirty = new Map(Object.entries(parseDirty(buffer.getMeta(HOURS_DIRTY_KEY))));
  }

  start(): void {
    this.stopped = false;
    // the horizon is set now: samples committed from here on with older times are late data
    this.initHorizon(this.opts.now());
    this.timer = setInterval(() => this.tick(), this.opts.tickMs);
    this.timer.unref();
  }

  /** No more rounds; acknowledgements arriving from now on are not recorded (the hours are resent after a restart). */
  stop(): void {
    this.stopped = true;
    this.epoch++;
    this.flying.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Committed samples (buffer.onCommit): those in examined hours mark their machine dirty. */
  committed(samples: readonly { machine: string; ts: number }[]): void {
    const next = this.next;
    if (next === undefined) return;
    let changed = false;
    // hours older than their rollups are kept are not published (a wrong clock's year-old sample)
    const floor = this.opts.now() - this.opts.keepMs;
    for (const s of samples) {
      if (s.ts >= next) continue;
      const ts = Math.max(s.ts, floor);
      const d = this.dirty.get(s.machine);
      if (d !== undefined && d <= ts) continue;
      this.dirty.set(s.machine, ts);
      changed = true;
    }
    if (changed) this.persistDirty();
  }

  /**
   * The broker lost messages it had acknowledged (confirm: fleet saw the samples stall): hours it
   * acknowledged since `since` are examined again and published as a new revision.
   */
  resendAckedSince(since: number): void {
    try {
      for (const [machine, hourStart] of this.buffer.publishedHours.forgetAckedSince(since)) {
        const d = this.dirty.get(machine);
        if (d === undefined || hourStart < d) this.dirty.set(machine, hourStart);
      }
      this.persistDirty();
    } catch (err) {
      this.log.warn({ err }, 'could not mark the hours to publish again');
    }
  }

  /** The connection is (re)established: what was in flight is sent again. */
  connected(): void {
    this.epoch++;
    this.flying.clear();
    this.send();
  }

  disconnected(): void {
    this.epoch++;
    this.flying.clear();
  }

  /** One round: examine new and dirty hours within the budget, then send (tests call it). */
  tick(): void {
    const now = this.opts.now();
    try {
      const budget = this.advance(now, this.opts.hoursPerTick);
      this.reexamine(budget);
      if (now - this.prunedAt >= HOUR_MS) {
        this.prunedAt = now;
        this.buffer.publishedHours.prune(now - this.opts.keepMs);
      }
    } catch (err) {
      // the horizon moves only over recorded hours: the next tick tries again
      this.log.warn({ err }, 'hourly KPI components could not be computed; retried');
    }
    this.send();
  }

  /** Examines the hours closed since the horizon; returns the budget left. */
  private advance(now: number, budget: number): number {
    const closedUntil = this.hourStart(now - this.opts.graceMs);
    const from = this.initHorizon(now);
    if (from >= closedUntil) return budget;
    const machines = this.kpis.machineIds();
    const hours = Math.max(1, Math.floor(budget / Math.max(1, machines.length)));
    const to = Math.min(closedUntil, from + hours * HOUR_MS);
    this.examine(undefined, from, to);
    this.next = to;
    this.buffer.setMeta(HOURS_NEXT_KEY, String(to));
    return budget - machines.length * Math.round((to - from) / HOUR_MS);
  }

  /** The first time: a buffer's hours from its oldest sample on (an empty one: from now on). */
  private initHorizon(now: number): number {
    if (this.next !== undefined) return this.next;
    const closedUntil = this.hourStart(now - this.opts.graceMs);
    const oldest = this.buffer.oldestTs();
    const next = Math.min(closedUntil, this.hourStart(oldest ?? closedUntil));
    this.buffer.setMeta(HOURS_NEXT_KEY, String(next));
    this.next = next;
    return next;
  }

  /** Examines dirty machines' hours again, up to the horizon, within the budget. */
  private reexamine(budget: number): void {
    const horizon = this.next;
    if (horizon === undefined || this.dirty.size === 0) return;
    let left = budget;
    let changed = false;
    for (const [machine, ts] of [...this.dirty]) {
      if (left <= 0) break;
      const from = this.hourStart(ts);
      const to = Math.min(horizon, from + Math.max(1, left) * HOUR_MS);
      if (from < to) this.examine(machine, from, to);
      left -= Math.max(1, Math.round((to - from) / HOUR_MS));
      if (to >= horizon) this.dirty.delete(machine);
      else this.dirty.set(machine, to);
      changed = true;
    }
    if (changed) this.persistDirty();
  }

  /** One machine's hours in [from, to), or every machine's. */
  private examine(machine: string | undefined, from: number, to: number): void {
    for (const row of this.kpis.kpis({ from, to, ...(machine === undefined ? {} : { machine }), groupBy: 'hour' })) {
      this.record(row.machine, Date.parse(row.periodStart), row.components);
    }
  }

  /** A revision is recorded only when the hour is new or its components changed. */
  private record(machine: string, hourStart: number, components: object): void {
    const json = JSON.stringify(components);
    const hash = createHash('sha1').update(json).digest('base64url');
    const store = this.buffer.publishedHours;
    const prev = store.get(machine, hourStart);
    if (prev?.hash === hash) return;
    const revision = (prev?.revision ?? 0) + 1;
    const payload = `{${this.header},"machine":${JSON.stringify(machine)},"hourStart":${hourStart},"revision":${revision},"components":${json}}`;
    store.put({ machine, hourStart, revision, hash, payload });
    this.recorded++;
  }

  /** Publishes unacknowledged revisions, oldest hours first, up to `inFlight` at a time. */
  private send(): void {
    try {
      this.sendSome();
    } catch (err) {
      // a busy or full database: what is not sent now is sent on the next tick
      this.log.warn({ err }, 'hourly KPI components could not be read for sending; retried');
    }
  }

  private sendSome(): void {
    let room = this.opts.inFlight - this.flying.size;
    if (room <= 0 || this.stopped) return;
    const store = this.buffer.publishedHours;
    for (const r of store.unsent(this.flying.size + room)) {
      const key = `${r.machine}\u0000${r.hourStart}`;
      if (this.flying.get(key) === r.revision) continue;
      if (room-- <= 0) break;
      const epoch = this.epoch;
      const ok = this.sink(r.machine, r.payload, (err) => {
        if (epoch !== this.epoch || err) return;
        if (this.flying.get(key) === r.revision) this.flying.delete(key);
        try {
          store.acked(r.machine, r.hourStart, r.revision);
        } catch (e) {
          // not recorded: the revision is sent again, and the fleet keeps the highest one anyway
          this.log.warn({ err: e }, 'could not record an acknowledged hour; it will be sent again');
        }
        setImmediate(() => this.send());
      });
      if (!ok) return;
      this.flying.set(key, r.revision);
    }
  }

  private hourStart(t: number): number {
    return DateTime.fromMillis(t, { zone: this.opts.timezone }).startOf('hour').toMillis();
  }

  private persistDirty(): void {
    try {
      this.buffer.setMeta(HOURS_DIRTY_KEY, JSON.stringify(Object.fromEntries(this.dirty)));
    } catch (err) {
      // a full disk: the marks stay in memory and are written with the next change
      this.log.warn({ err }, 'could not persist the hours touched by late data');
    }
  }
}

function parseDirty(s: string | undefined): Record<string, number> {
  if (!s) return {};
  try {
    const o = JSON.parse(s) as unknown;
    if (typeof o !== 'object' || o === null) return {};
    return Object.fromEntries(Object.entries(o).filter((e): e is [string, number] => typeof e[1] === 'number'));
  } catch {
    return {};
  }
}
