/**
 * The live feed behind GET /api/stream: one per HTTP server, shared by every browser.
 * Committed samples arrive through the buffer's onCommit (only after they are durable) and go
 * out every `flushMs` as the latest value per tag (`superseded` counts the ones in between);
 * tiles are re-evaluated shortly after a commit and every second (staleness changes with
 * time alone), health every few seconds, and the shift KPIs at a pace that adapts to what
 * they cost, so a slow edge box is never swamped by its own dashboard.
 */
import type { StoredSample } from '../model/index.ts';
import type { DashboardModel, ShiftKpis } from './dashboard-model.ts';
import type { TileStatus } from './machine-status.ts';
import type { Health } from './ports.ts';

export type FeedEvent =
  | { event: 'sample'; data: { samples: FeedSample[]; superseded: number } }
  | { event: 'state'; data: TileStatus & { now: string } }
  | { event: 'kpi'; data: ShiftKpis }
  | { event: 'health'; data: Health & { now: string } };

export interface FeedSample {
  machine: string;
  signal: string;
  ts: number;
  value: StoredSample['value'];
  quality: StoredSample['quality'];
}

export interface LiveFeedOptions {
  /** commits are gathered this long before they go out as one `sample` event */
  flushMs: number;
  /** tiles are re-evaluated at least this often (staleAfterS, source states) */
  statusEveryMs: number;
  healthEveryMs: number;
  /** shift KPIs at most this often … */
  kpiEveryMs: number;
  /** … and never more often than this many times their own computing time */
  kpiCostFactor: number;
  /** told of an unexpected failure in the feed's own timers (the supervisor logs and counts it); the feed then starts afresh */
  onFault: (err: unknown) => void;
}

export const LIVE_FEED_DEFAULTS: LiveFeedOptions = {
  flushMs: 250,
  statusEveryMs: 1000,
  healthEveryMs: 2000,
  kpiEveryMs: 5000,
  kpiCostFactor: 20,
  onFault: () => undefined,
};

export type FeedListener = (ev: FeedEvent) => void;

export interface FeedSource {
  onCommit(listener: (samples: readonly StoredSample[]) => void): void;
}

export class LiveFeed {
  private readonly opts: LiveFeedOptions;
  private readonly listeners = new Set<FeedListener>();
  /** the latest committed sample per tag since the last flush: a screen shows values, not every sample */
  private pending = new Map<string, StoredSample>();
  private superseded = 0;
  private stateTouched = false;
  private readonly lastTile = new Map<string, string>();
  private lastKpi: ShiftKpis | undefined;
  private lastKpiAt = 0;
  private kpiCostMs = 0;
  private lastHealthAt = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly model: DashboardModel,
    private readonly health: () => Health,
    source: FeedSource,
    options: Partial<LiveFeedOptions> = {},
  ) {
    this.opts = { ...LIVE_FEED_DEFAULTS, ...options };
    source.onCommit((samples) => this.guarded(() => this.committed(samples)));
  }

  get clients(): number {
    return this.listeners.size;
  }

  /** Sends a full snapshot to the new listener first (every tile, the KPIs, health). */
  subscribe(listener: FeedListener): () => void {
    if (this.stopped) throw new Error('the live feed is stopped');
    // a snapshot that fails is reported; the browser stays and gets the tiles once they compute again
    this.guarded(() => {
      const now = Date.now();
      const iso = new Date(now).toISOString();
      for (const t of this.model.tiles(now)) {
        this.lastTile.set(t.id, JSON.stringify(t));
        listener({ event: 'state', data: { ...t, now: iso } });
      }
      listener({ event: 'kpi', data: this.kpis(now, true) });
      listener({ event: 'health', data: { ...this.health(), now: iso } });
    });
    this.listeners.add(listener);
    this.ticker ??= setInterval(() => this.guarded(() => this.tick()), this.opts.statusEveryMs);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.idle();
    };
  }

  stop(): void {
    this.stopped = true;
    this.listeners.clear();
    this.idle();
  }

  /**
   * Runs a timer's or the commit hook's work: a bug there must neither kill the process nor fail
   * the buffer's commit. The feed restarts from nothing (every tile and the KPIs are sent afresh
   * on the next tick); the browsers stay connected.
   */
  private guarded(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.opts.onFault(err);
      this.flushTimer = undefined;
      this.pending = new Map();
      this.superseded = 0;
      this.stateTouched = false;
      this.lastTile.clear();
      this.lastKpi = undefined;
    }
  }

  private idle(): void {
    if (this.ticker) clearInterval(this.ticker);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.ticker = undefined;
    this.flushTimer = undefined;
    this.pending = new Map();
    this.superseded = 0;
  }

  /** Called inside the buffer's commit: only gathers, never computes. */
  private committed(samples: readonly StoredSample[]): void {
    if (this.listeners.size === 0) return;
    for (const s of samples) {
      if (s.signal === 'state') this.stateTouched = true;
      const key = `${s.machine}\u0000${s.signal}`;
      const prev = this.pending.get(key);
      if (prev === undefined) this.pending.set(key, s);
      else {
        this.superseded++;
        if (s.ts >= prev.ts) this.pending.set(key, s);
      }
    }
    this.flushTimer ??= setTimeout(() => this.guarded(() => this.flush()), this.opts.flushMs);
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.listeners.size === 0) return;
    const samples = [...this.pending.values()].map((s): FeedSample => ({ machine: s.machine, signal: s.signal, ts: s.ts, value: s.value, quality: s.quality }));
    const superseded = this.superseded;
    this.pending = new Map();
    this.superseded = 0;
    if (samples.length > 0) this.send({ event: 'sample', data: { samples, superseded } });
    if (this.stateTouched) {
      this.stateTouched = false;
      this.tiles(Date.now());
    }
  }

  private tick(): void {
    if (this.listeners.size === 0) return;
    const now = Date.now();
    this.tiles(now);
    if (now - this.lastHealthAt >= this.opts.healthEveryMs) {
      this.lastHealthAt = now;
      this.send({ event: 'health', data: { ...this.health(), now: new Date(now).toISOString() } });
    }
    const every = Math.max(this.opts.kpiEveryMs, this.kpiCostMs * this.opts.kpiCostFactor);
    if (now - this.lastKpiAt >= every) this.send({ event: 'kpi', data: this.kpis(now, true) });
  }

  /** Sends the tiles that changed since they were last sent. */
  private tiles(now: number): void {
    const iso = new Date(now).toISOString();
    for (const t of this.model.tiles(now)) {
      const json = JSON.stringify(t);
      if (this.lastTile.get(t.id) === json) continue;
      this.lastTile.set(t.id, json);
      this.send({ event: 'state', data: { ...t, now: iso } });
    }
  }

  private kpis(now: number, fresh: boolean): ShiftKpis {
    const every = Math.max(this.opts.kpiEveryMs, this.kpiCostMs * this.opts.kpiCostFactor);
    if (this.lastKpi && (!fresh || now - this.lastKpiAt < every)) return this.lastKpi;
    const t0 = performance.now();
    this.lastKpi = this.model.shiftKpis(now);
    this.kpiCostMs = performance.now() - t0;
    this.lastKpiAt = now;
    return this.lastKpi;
  }

  private send(ev: FeedEvent): void {
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch {
        // a listener that throws is a closed connection; its own close handler removes it
      }
    }
  }
}
