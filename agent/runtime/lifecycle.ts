/**
 * The running agent's life as a service: SIGHUP reloads the config (an invalid one is rejected and
 * the agent keeps running on the old one), SIGTERM and SIGINT stop it (sources, flush, `offline`
 * upstream, sessions closed) with exit 0, under a hard deadline that exits 1 only when stopping
 * truly hangs. Signals are taken over from the early handlers (early-signals.ts), so one that
 * arrived while the agent was still loading is handled now, in order.
 */
import type { Config } from '../../config/schema.ts';
import { takeSignals, type QueuedSignal } from './early-signals.ts';
import type { Logger } from './logger.ts';
import type { ServiceNotifier } from './sd-notify.ts';

export const LIFECYCLE_DEFAULTS = {
  /** SIGTERM to exit; systemd's TimeoutStopSec is longer, so the agent's own deadline comes first */
  stopDeadlineMs: 10_000,
  /** after a clean stop, handles a library left open may not keep the process alive longer than this */
  lingerMs: 1000,
};

/** What the lifecycle needs of the agent. */
export interface ServiceAgent {
  reload(next: Config): Promise<unknown>;
  reloadRejected(error: string): void;
  stop(): Promise<void>;
  /** the step stop() is in, for the deadline's log line */
  readonly stopStep: string;
}

export type ReloadedConfig = { ok: true; config: Config } | { ok: false; error: string };

export interface LifecycleOptions {
  log: Logger;
  notifier: ServiceNotifier;
  /** reads and validates the config file again */
  readConfig: () => ReloadedConfig;
  /** a valid new config, before it is applied (the CLI adds its secrets to the log redactor) */
  onConfig?: (config: Config) => void;
  exit?: (code: number) => void;
  stopDeadlineMs?: number;
  lingerMs?: number;
}

/** Signals in arrival order, from the moment it is made. */
export class SignalInbox {
  private readonly queue: QueuedSignal[] = [];
  private waiter: ((sig: QueuedSignal) => void) | undefined;
  private readonly release: () => void;

  constructor() {
    this.release = takeSignals((sig) => {
      const w = this.waiter;
      this.waiter = undefined;
      if (w) w(sig);
      else this.queue.push(sig);
    });
  }

  next(): Promise<QueuedSignal> {
    const sig = this.queue.shift();
    if (sig) return Promise.resolve(sig);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** true when a stop signal is waiting behind the current work */
  stopPending(): boolean {
    return this.queue.some((s) => s !== 'SIGHUP');
  }

  close(): void {
    this.release();
  }
}

/** Serves signals until a stop signal; resolves with the exit code once the agent has stopped. */
export async function serveUntilStopped(agent: ServiceAgent, inbox: SignalInbox, opts: LifecycleOptions): Promise<number> {
  const { log, notifier } = opts;
  let sig = await inbox.next();
  while (sig === 'SIGHUP') {
    // a stop already waiting wins: reloading first would only delay it
    if (!inbox.stopPending()) await reloadOnce(agent, opts);
    sig = await inbox.next();
  }
  log.info({ signal: sig }, 'stopping');
  await notifier.stopping();
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const deadline = setTimeout(() => {
    log.fatal({ code: 'SFA_ERR_SHUTDOWN_TIMEOUT', step: agent.stopStep, deadlineMs: opts.stopDeadlineMs ?? LIFECYCLE_DEFAULTS.stopDeadlineMs }, `stopping hung at "${agent.stopStep}": exiting with code 1`);
    log.flush();
    exit(1);
  }, opts.stopDeadlineMs ?? LIFECYCLE_DEFAULTS.stopDeadlineMs);
  // further signals while stopping are logged, not obeyed: the deadline bounds the stop
  void watchWhileStopping(inbox, log);
  await agent.stop();
  clearTimeout(deadline);
  inbox.close();
  // a library's leftover handle (a reconnect timer, a socket) must not keep a stopped agent alive
  setTimeout(() => exit(0), opts.lingerMs ?? LIFECYCLE_DEFAULTS.lingerMs).unref();
  return 0;
}

async function watchWhileStopping(inbox: SignalInbox, log: Logger): Promise<void> {
  for (;;) {
    const sig = await inbox.next();
    log.warn({ signal: sig }, 'already stopping (the deadline bounds it)');
  }
}

async function reloadOnce(agent: ServiceAgent, opts: LifecycleOptions): Promise<void> {
  const { log, notifier } = opts;
  log.info({}, 'SIGHUP: reloading config');
  await notifier.reloading();
  const read = opts.readConfig();
  if (!read.ok) {
    agent.reloadRejected(read.error);
    log.error({ code: 'SFA_ERR_RELOAD_REJECTED', problems: read.error }, 'reload rejected: the new config is not valid; still running on the previous one');
    await notifier.notify('READY=1', 'STATUS=running (reload rejected: invalid config)');
    return;
  }
  try {
    opts.onConfig?.(read.config);
    await agent.reload(read.config);
    await notifier.notify('READY=1', 'STATUS=running (config reloaded)');
  } catch (err) {
    const error = (err as Error).message;
    agent.reloadRejected(error);
    log.error({ err, code: 'SFA_ERR_RELOAD_REJECTED' }, 'reload failed');
    await notifier.notify('READY=1', 'STATUS=running (reload failed)');
  }
}
