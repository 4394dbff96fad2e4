/**
 * The agent's side of the query worker (query-worker-main.ts): the HTTP routes' queries go to
 * a worker thread one at a time, each with a deadline. A query past it is cancelled the only
 * way synchronous SQLite and JS can be: the worker is terminated and a fresh one started
 * (its caches start cold); the request gets 503. Queries beyond `maxQueued` waiting get 503 at
 * once, so a burst of heavy requests cannot pile up memory or latency.
 *
 * The worker reads the buffer through its own read-only connection; what it cannot see from
 * there (which windows a commit makes stale, order samples, series bindings) the agent posts as
 * a digest before each query and once a second.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { Config } from '../../config/schema.ts';
import type { KpiRequest, QueryPort, SeriesAnswer } from '../http/ports.ts';
import type { Trend, TrendRange } from '../http/machine-trend.ts';
import { QueryBudgetError } from '../http/query-budget.ts';
import { AgentError, ERRORS, type ErrorCode } from '../errors.ts';
import type { StoredSample } from '../model/index.ts';
import { CommitDigest } from './commit-digest.ts';
import type { FromWorker, QueryOp, QueryWorkerStats, ToWorker, WorkerInit } from './protocol.ts';

export interface QueryWorkerOptions {
  /** a query running longer is cancelled (ms) */
  deadlineMs: number;
  /** queries waiting beyond this many are refused at once */
  maxQueued: number;
  /** the worker's old-generation heap (MB) */
  memoryMb: number;
  /** told how long each answered query took in the worker, by kind (/metrics) */
  observe?: (kind: string, seconds: number) => void;
}

/** What the worker reports to the agent's log. */
export interface QueryWorkerLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

interface Pending {
  id: number;
  op: QueryOp;
  resolve(v: unknown): void;
  reject(e: Error): void;
  /** performance.now() when it was handed to the worker */
  sentAt?: number;
}

export const QUERY_WORKER_TIMING = {
  /** digests posted at least this often while no query asks (ms) */
  digestEveryMs: 1000,
  /** a worker that failed before it was ready is started again after this (ms), doubling up to the most */
  restartDelayMs: 1000,
  maxRestartDelayMs: 60_000,
} as const;

/** The worker's entry: the bundled file beside this chunk, or the TypeScript source through tsx. */
function workerEntry(): { url: URL; workerData: Record<string, string> } {
  if (import.meta.url.endsWith('.ts')) {
    return { url: new URL('./worker-boot.mjs', import.meta.url), workerData: { entry: new URL('./query-worker-main.ts', import.meta.url).href } };
  }
  // dist/agent/: every chunk, and the worker's entry, sit in the one folder (agent/cli/build-bundle.mjs)
  return { url: new URL('./query-worker.js', import.meta.url), workerData: {} };
}

export class QueryWorker implements QueryPort {
  private worker: Worker | undefined;
  private ready = false;
  private running: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: Pending[] = [];
  private readonly digest = new CommitDigest();
  private nextId = 1;
  private stopped = false;
  private ticker: NodeJS.Timeout | undefined;
  /** workers replaced since start (deadline, crash): shown in the log */
  restarts = 0;
  private onStarted: (() => void) | undefined;
  /** starts in a row that failed before the worker was ready */
  private failedStarts = 0;

  constructor(
    private config: Config,
    private readonly opts: QueryWorkerOptions,
    private readonly log: QueryWorkerLog,
    /**
     * run before each query is handed over: the agent writes its pending rollup contributions,
     * so the worker's read-only view of the hour tables is as complete as the agent's own
     */
    private readonly beforeQuery: () => void = () => undefined,
    /** the buffer's order samples, read by the agent when a worker starts (WorkerInit.orders) */
    private readonly orderSamples: () => WorkerInit['orders'] = () => ({ samples: [], upTo: 0 }),
  ) {}

  /**
   * Starts the worker; resolves once it has read what every query needs (or failed: then it is
   * retried, and queries get 503 meanwhile). Waiting for it makes the worker's order book the one
   * the buffer held when the agent began taking samples, as the in-process service's is.
   */
  async start(): Promise<void> {
    const started = new Promise<void>((resolve) => (this.onStarted = resolve));
    this.spawn();
    this.ticker = setInterval(() => this.postDigest(), QUERY_WORKER_TIMING.digestEveryMs);
    this.ticker.unref();
    await started;
  }

  /** The agent's commits (buffer.onCommit): what the worker's caches must forget. */
  committed(samples: readonly StoredSample[]): void {
    this.digest.add(samples);
  }

  /** A series bound to the source delivering it (plant.bindSeries), told before its samples. */
  bindSeries(source: string, machine: string, signal: string): void {
    this.digest.bind(source, machine, signal);
  }

  async kpiJson(q: KpiRequest): Promise<readonly Buffer[]> {
    const bytes = (await this.run({ kind: 'kpis', q })) as ArrayBuffer;
    return [Buffer.from(bytes)];
  }

  async benchmarks(from: number, to: number): Promise<object> {
    return (await this.run({ kind: 'benchmarks', from, to })) as object;
  }

  async series(machine: string, signal: string, from: number, to: number, step: number | undefined, maxPoints: number): Promise<SeriesAnswer> {
    return (await this.run({ kind: 'series', machine, signal, from, to, step, maxPoints })) as SeriesAnswer;
  }

  async trend(machine: string, range: TrendRange, now: number): Promise<Trend> {
    return (await this.run({ kind: 'trend', machine, range, now })) as Trend;
  }

  /** The worker's KPI service's counters (a query like the others, after those waiting). */
  async stats(): Promise<QueryWorkerStats> {
    return (await this.run({ kind: 'stats' })) as QueryWorkerStats;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    clearTimeout(this.timer);
    const unavailable = (): Error => busy('the agent is stopping');
    this.running?.reject(unavailable());
    this.running = undefined;
    for (const p of this.queue.splice(0)) p.reject(unavailable());
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private run(op: QueryOp): Promise<unknown> {
    if (this.stopped) return Promise.reject(busy('the agent is stopping'));
    if (!this.worker) return Promise.reject(busy('the query worker is starting: retry in a few seconds'));
    if (this.queue.length >= this.opts.maxQueued) return Promise.reject(busy(`${this.queue.length} queries are waiting (http.query.maxQueued): retry in a few seconds`));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, op, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (!this.ready || this.running || !this.worker) return;
    const next = this.queue.shift();
    if (!next) return;
    this.running = next;
    try {
      this.beforeQuery();
    } catch (err) {
      // the worker then reads raw rows where the tables lag: slower, the same answer
      this.log.warn({ err }, 'rollups not written before a query');
    }
    // first what the commits so far changed, then the query: one port, in order
    this.postDigest();
    next.sentAt = performance.now();
    this.worker.postMessage({ type: 'query', id: next.id, op: next.op } satisfies ToWorker);
    this.timer = setTimeout(() => this.onDeadline(next), this.opts.deadlineMs);
  }

  private postDigest(): void {
    if (!this.worker) return;
    const d = this.digest.take();
    if (d) this.worker.postMessage(d satisfies ToWorker);
  }

  private onDeadline(p: Pending): void {
    if (this.running !== p) return;
    this.running = undefined;
    p.reject(new QueryBudgetError('SFA_ERR_HTTP_QUERY_TIMEOUT', `the query ran past its deadline of ${this.opts.deadlineMs / 1000} s (http.query.deadlineS) and was cancelled: ask for a shorter range or a coarser grouping`, 503));
    this.log.warn({ op: p.op.kind, deadlineMs: this.opts.deadlineMs }, 'query past its deadline: query worker replaced');
    this.replace();
  }

  /**
   * A reloaded config (SIGHUP): a fresh worker builds its Plant from it, so new windows use the
   * new machines and shifts. A query in flight gets 503 (retry); queued ones wait for the new worker.
   */
  reload(config: Config): void {
    this.config = config;
    if (this.stopped) return;
    clearTimeout(this.timer);
    const p = this.running;
    this.running = undefined;
    p?.reject(busy('the configuration was reloaded while this query ran: retry'));
    this.replace('reload');
  }

  /** Terminates the worker (a query past its deadline, a crash, a reload) and starts a fresh one. */
  private replace(why: 'failure' | 'reload' = 'failure'): void {
    const old = this.worker;
    this.worker = undefined;
    this.ready = false;
    if (why === 'failure') this.restarts++;
    if (old) {
      old.removeAllListeners();
      // supervised: a worker that will not end is logged, the new one starts regardless
      old.terminate().catch((err: unknown) => this.log.error({ err }, 'query worker did not terminate'));
    }
    if (!this.stopped) this.spawn();
  }

  private started(): void {
    this.onStarted?.();
    this.onStarted = undefined;
  }

  private spawn(): void {
    const entry = workerEntry();
    // the new worker reads the buffer as it is now: older digests say nothing new to it; orders
    // committed from here on reach it in digests (their ids are past `upTo`)
    this.digest.clear();
    let init: WorkerInit & Record<string, unknown>;
    try {
      init = { ...entry.workerData, config: this.config, orders: this.orderSamples() };
    } catch (err) {
      this.log.error({ err }, 'query worker could not be started');
      this.retryLater();
      return;
    }
    let w: Worker;
    try {
      w = newWorker(entry.url, { workerData: init, resourceLimits: { maxOldGenerationSizeMb: this.opts.memoryMb } });
    } catch (err) {
      this.log.error({ err }, 'query worker could not be started');
      this.retryLater();
      return;
    }
    this.worker = w;
    w.on('message', (m: FromWorker) => this.onMessage(m));
    w.on('error', (err) => this.onFailure(w, err));
    w.on('exit', (code) => this.onFailure(w, new Error(`query worker exited with code ${code}`)));
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'ready') {
      this.ready = true;
      this.failedStarts = 0;
      this.started();
      this.pump();
      return;
    }
    const p = this.running;
    if (!p || p.id !== m.id) return; // the answer of a query already given up
    clearTimeout(this.timer);
    this.running = undefined;
    if (p.sentAt !== undefined) this.opts.observe?.(p.op.kind, (performance.now() - p.sentAt) / 1000);
    if (m.type === 'result') p.resolve(m.value);
    else p.reject(rebuildError(m));
    this.pump();
  }

  /** The worker died (out of memory, a bug): the query it ran gets 503, a new worker starts. */
  private onFailure(w: Worker, err: Error): void {
    if (this.worker !== w || this.stopped) return;
    const wasReady = this.ready;
    this.started();
    this.log.error({ err, restarts: this.restarts }, 'query worker failed: starting a new one');
    clearTimeout(this.timer);
    const p = this.running;
    this.running = undefined;
    p?.reject(busy('the query worker stopped while answering (the agent log has why); it is restarting: retry in a few seconds'));
    if (wasReady) {
      this.replace();
      return;
    }
    this.retryLater();
  }

  /**
   * A worker that failed before it was ready (its buffer unreadable, a broken install): queries
   * are refused until a later one is, and starts are tried ever less often.
   */
  private retryLater(): void {
    this.started();
    this.worker = undefined;
    this.restarts++;
    this.failedStarts++;
    for (const q of this.queue.splice(0)) q.reject(busy('the query worker is starting: retry in a few seconds'));
    const delay = Math.min(QUERY_WORKER_TIMING.maxRestartDelayMs, QUERY_WORKER_TIMING.restartDelayMs * 2 ** (this.failedStarts - 1));
    setTimeout(() => {
      if (!this.stopped && !this.worker) this.spawn();
    }, delay).unref();
  }
}

function busy(detail: string): QueryBudgetError {
  return new QueryBudgetError('SFA_ERR_HTTP_QUERY_BUSY', detail, 503);
}

/**
 * A worker inherits the agent's Node flags (V8's GC flags included), except where the agent
 * was started with `--input-type` (an --eval entry, as tests do): that flag refuses a file
 * entry, so it is left out, and where the rest is refused too, none are passed.
 */
function newWorker(url: URL, options: WorkerOptions): Worker {
  if (!process.execArgv.some((a) => a.startsWith('--input-type'))) return new Worker(url, options);
  try {
    return new Worker(url, { ...options, execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')) });
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    return new Worker(url, { ...options, execArgv: [] });
  }
}

/** The worker's error as the HTTP error handler expects it: a catalogue code and a status. */
function rebuildError(m: Extract<FromWorker, { type: 'error' }>): Error {
  if (m.code !== undefined && Object.hasOwn(ERRORS, m.code)) {
    const e = new AgentError(m.code as ErrorCode, m.detail);
    if (m.statusCode !== undefined) Object.assign(e, { statusCode: m.statusCode });
    return e;
  }
  return new Error(`query worker: ${m.detail}`);
}
