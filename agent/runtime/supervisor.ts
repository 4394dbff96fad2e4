/**
 * The last line of defence (STYLE.md habit 3: "every promise awaited or supervised"). Each
 * component (a source, the forwarder, retention, the live feed) is started inside its own async
 * context, so every timer, socket handler and promise it creates later carries its name. When
 * one of them throws and nobody catches it, the process handlers find that name, and the
 * component is logged (SFA_ERR_UNEXPECTED), counted (`shopfloor_agent_unexpected_errors_total`)
 * and restarted with backoff while the rest of the agent keeps running.
 *
 * What is safe to survive:
 * - an uncaught exception inside a supervised component: its state is rebuilt by stop() and
 *   start(); the buffer commits in transactions, so no half-written row survives either.
 * - an unhandled rejection anywhere: a rejected promise unwound no synchronous code of anyone
 *   else; the operation that failed is over. Logged and counted; restarted when attributable.
 * - an uncaught exception nobody can attribute is not: the state of the agent is unknown, so
 *   `onFatal` runs (the CLI exits 1 and systemd restarts it; committed samples are in the WAL,
 *   sources that were not acknowledged redeliver).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from './logger.ts';

export interface SupervisedComponent {
  name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

export interface SupervisorOptions {
  /** first restart delay; doubled per failure in a row */
  backoffMs: number;
  maxBackoffMs: number;
  /** a component that ran this long since its last restart starts again from backoffMs */
  stableMs: number;
  /** a component failing again and again is logged at most this often (every failure is counted) */
  logEveryMs: number;
}

export const SUPERVISOR_DEFAULTS: SupervisorOptions = { backoffMs: 1000, maxBackoffMs: 60_000, stableMs: 300_000, logEveryMs: 60_000 };

/** What a fault is counted on (the AgentMetrics counter, or anything with the same shape). */
export interface FaultCounter {
  labels(component: string): { inc(): void };
}

interface Context {
  supervisor: Supervisor;
  component: string;
}

/** One per process: the async context of the code running now (the store's values are per supervisor). */
const contexts = new AsyncLocalStorage<Context>();

interface Entry {
  component: SupervisedComponent | undefined;
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
  restartedAt: number;
  loggedAt: number;
  unlogged: number;
}

export class Supervisor {
  private readonly opts: SupervisorOptions;
  private readonly entries = new Map<string, Entry>();
  /** restarts under way (stop() waits for them, so none outlives the agent) */
  private readonly inflight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly log: Logger,
    private readonly counter: FaultCounter,
    options: Partial<SupervisorOptions> = {},
  ) {
    this.opts = { ...SUPERVISOR_DEFAULTS, ...options };
  }

  /** Starts a component inside its own context; a failing start() is the caller's to handle. */
  async start(component: SupervisedComponent): Promise<void> {
    const e = this.entry(component.name);
    e.component = component;
    e.restartedAt = Date.now();
    await contexts.run({ supervisor: this, component: component.name }, async () => component.start());
  }

  /** Runs fn attributed to a component (for work a component hands to a shared timer). */
  run<T>(name: string, fn: () => T): T {
    return contexts.run({ supervisor: this, component: name }, fn);
  }

  /** A callback that reports instead of throwing: for handlers called from another component's code. */
  guard<A extends unknown[]>(name: string, fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      try {
        fn(...args);
      } catch (err) {
        this.fault(name, err);
      }
    };
  }

  /** The supervised component whose code is running now, if any. */
  static current(): { supervisor: Supervisor; component: string } | undefined {
    return contexts.getStore();
  }

  /** Logs and counts an unexpected failure, and restarts the component (when it was started here). */
  fault(name: string, err: unknown): void {
    this.counter.labels(name).inc();
    const e = this.entry(name);
    const now = Date.now();
    if (now - e.loggedAt >= this.opts.logEveryMs) {
      const restart = e.component && !this.stopped ? 'restarting it' : 'it keeps running';
      this.log.error({ err, component: name, code: 'SFA_ERR_UNEXPECTED', failuresSinceLastLog: e.unlogged + 1 }, `${name} failed unexpectedly; ${restart} [SFA_ERR_UNEXPECTED]`);
      e.loggedAt = now;
      e.unlogged = 0;
    } else e.unlogged++;
    if (e.component && !this.stopped) this.scheduleRestart(e);
  }

  /** A component that was stopped for good (a source removed by a reload): never restarted. */
  forget(name: string): void {
    const e = this.entries.get(name);
    if (e) {
      if (e.restartTimer) clearTimeout(e.restartTimer);
      e.component = undefined;
    }
    this.entries.delete(name);
  }

  /** No more restarts (the agent is stopping); resolves once restarts under way have ended stopped. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const e of this.entries.values()) if (e.restartTimer) clearTimeout(e.restartTimer);
    await Promise.allSettled([...this.inflight]);
  }

  /**
   * The process-wide handlers (the CLI installs them once, for the agent it runs). Returns the
   * function that removes them.
   */
  installProcessHandlers(onFatal: (err: unknown) => void): () => void {
    const uncaught = (err: unknown): void => {
      const ctx = contexts.getStore();
      if (ctx) return ctx.supervisor.fault(ctx.component, err);
      this.counter.labels('unknown').inc();
      this.log.fatal({ err, code: 'SFA_ERR_UNEXPECTED' }, 'uncaught exception outside any component: the agent stops [SFA_ERR_UNEXPECTED]');
      onFatal(err);
    };
    const rejected = (reason: unknown): void => {
      const ctx = contexts.getStore();
      if (ctx) return ctx.supervisor.fault(ctx.component, reason);
      this.fault('unknown', reason);
    };
    process.on('uncaughtException', uncaught);
    process.on('unhandledRejection', rejected);
    return () => {
      process.off('uncaughtException', uncaught);
      process.off('unhandledRejection', rejected);
    };
  }

  private entry(name: string): Entry {
    let e = this.entries.get(name);
    if (e === undefined) {
      e = { component: undefined, failures: 0, restartTimer: undefined, restartedAt: Date.now(), loggedAt: 0, unlogged: 0 };
      this.entries.set(name, e);
    }
    return e;
  }

  private scheduleRestart(e: Entry): void {
    if (e.restartTimer) return; // one restart at a time; the failures meanwhile are counted
    if (Date.now() - e.restartedAt >= this.opts.stableMs) e.failures = 0;
    e.failures++;
    const delay = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** Math.min(30, e.failures - 1));
    // the restart runs outside the failed component's context: its own start() sets a fresh one
    e.restartTimer = contexts.exit(() =>
      setTimeout(() => {
        e.restartTimer = undefined;
        void this.restart(e);
      }, delay),
    );
    e.restartTimer.unref();
  }

  private async restart(e: Entry): Promise<void> {
    const c = e.component;
    if (!c || this.stopped) return;
    // a reload may forget or replace the component, and the agent may stop, while this awaits:
    // then the old component must end stopped, never running beside (or after) its successor
    const current = (): boolean => !this.stopped && this.entries.get(c.name) === e && e.component === c;
    const done = (async (): Promise<void> => {
      try {
        await contexts.run({ supervisor: this, component: c.name }, async () => c.stop());
      } catch (err) {
        this.log.warn({ err, component: c.name }, 'a failed component did not stop cleanly; starting it again anyway');
      }
      if (!current()) return;
      try {
        await this.start(c);
      } catch (err) {
        if (current()) this.fault(c.name, err);
        return;
      }
      if (current()) {
        this.log.info({ component: c.name, failures: e.failures }, `${c.name} restarted`);
        return;
      }
      try {
        await c.stop();
      } catch (err) {
        this.log.warn({ err, component: c.name }, 'a component restarted while it was being retired did not stop cleanly');
      }
    })();
    this.inflight.add(done);
    try {
      await done;
    } finally {
      this.inflight.delete(done);
    }
  }

}
