/**
 * systemd's notification protocol (Type=notify, WatchdogSec=) without a native module: Node has
 * no unix datagram sockets, so each message is sent by `systemd-notify`, a child process (the
 * unit says NotifyAccess=all so the manager accepts it from the service's cgroup). systemd-notify
 * waits until the manager has read the message before it exits (its default since v246), so
 * the message is not lost when the sender is gone before systemd looks up its cgroup.
 *
 * Outside systemd (NOTIFY_SOCKET unset) nothing is sent. The watchdog is fed only while the
 * agent is healthy: its event loop answers in time and the buffer's commits keep up. When they
 * do not, systemd restarts the service after WatchdogSec.
 */
import { execFile } from 'node:child_process';
import type { Logger } from './logger.ts';

export const SD_NOTIFY_DEFAULTS = {
  /** how long one systemd-notify may take before it is abandoned */
  sendTimeoutMs: 5000,
  /** the program that sends (found on PATH) */
  program: 'systemd-notify',
  /** the event loop counts as healthy while its worst lag since the last feed stays below this */
  maxLoopLagMs: 5000,
  /** commits count as healthy while the last one is this recent, or nothing waits */
  maxCommitAgeMs: 30_000,
};

export type SdNotifyOptions = typeof SD_NOTIFY_DEFAULTS;

export interface HealthProbe {
  /** worst event-loop lag (s) since the watchdog last asked */
  loopLagSeconds(): number;
  commitsHealthy(maxAgeMs: number): boolean;
}

export class ServiceNotifier {
  private readonly opts: SdNotifyOptions;
  private readonly enabled: boolean;
  private watchdog: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private warned = false;
  private unhealthy: string | undefined;

  constructor(
    private readonly log: Logger,
    options: Partial<SdNotifyOptions> = {},
    private readonly env: Record<string, string | undefined> = process.env,
  ) {
    this.opts = { ...SD_NOTIFY_DEFAULTS, ...options };
    this.enabled = Boolean(env.NOTIFY_SOCKET);
  }

  /** Sends `VAR=value` lines; resolves when sent (or failed, logged once). Messages keep their order. */
  notify(...lines: string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    this.sending = this.sending.then(() => this.send(lines));
    return this.sending;
  }

  ready(status: string): Promise<void> {
    return this.notify('READY=1', `STATUS=${status}`);
  }

  /** RELOADING=1 with the monotonic time systemd ≥ 253 asks for (older ones ignore it). */
  reloading(): Promise<void> {
    return this.notify('RELOADING=1', `MONOTONIC_USEC=${monotonicUsec()}`, 'STATUS=reloading config');
  }

  stopping(): Promise<void> {
    this.stopWatchdog();
    return this.notify('STOPPING=1', 'STATUS=stopping: flushing the buffer');
  }

  /** Feeds the watchdog at half its period while `probe` says the agent is healthy. */
  startWatchdog(probe: HealthProbe): void {
    const usec = Number(this.env.WATCHDOG_USEC);
    const pid = this.env.WATCHDOG_PID;
    if (!this.enabled || !Number.isFinite(usec) || usec <= 0 || (pid !== undefined && Number(pid) !== process.pid)) return;
    const periodMs = Math.max(500, Math.floor(usec / 2000));
    this.watchdog = setInterval(() => {
      const lagMs = probe.loopLagSeconds() * 1000;
      const reason = lagMs > this.opts.maxLoopLagMs ? `event loop lagged ${Math.round(lagMs)} ms` : !probe.commitsHealthy(this.opts.maxCommitAgeMs) ? 'buffer commits are not keeping up' : undefined;
      if (reason !== this.unhealthy) {
        if (reason) this.log.error({ reason }, 'watchdog not fed: systemd restarts the agent if this lasts');
        else this.log.info({}, 'healthy again: watchdog fed');
        this.unhealthy = reason;
      }
      if (!reason) void this.notify('WATCHDOG=1');
    }, periodMs);
  }

  stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private send(lines: string[]): Promise<void> {
    return new Promise((resolve) => {
      execFile(this.opts.program, lines, { timeout: this.opts.sendTimeoutMs, env: this.env }, (err) => {
        if (err && !this.warned) {
          this.warned = true;
          this.log.warn({ err: err.message }, `${this.opts.program} failed: systemd may not see the agent's state (is it installed?)`);
        }
        resolve();
      });
    });
  }
}

function monotonicUsec(): string {
  return (process.hrtime.bigint() / 1000n).toString();
}
