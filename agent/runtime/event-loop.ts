/**
 * Event-loop lag, sampled by perf_hooks (libuv timer, no work on the loop itself). Two readers
 * take the worst lag since they last asked: /metrics at each scrape and the service watchdog at
 * each feed; each keeps its own window so one does not reset the other's.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export const EVENT_LOOP_DEFAULTS = {
  /** sampling resolution of the histogram, ms */
  resolutionMs: 20,
};

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram;
  private readonly windows = new Map<string, number>();
  private started = false;

  constructor(private readonly resolutionMs = EVENT_LOOP_DEFAULTS.resolutionMs) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.histogram.enable();
  }

  stop(): void {
    this.started = false;
    this.histogram.disable();
  }

  /**
   * The worst lag (s) seen since `reader` last asked. The histogram records delays that include
   * its own resolution; that part is not lag. The histogram is shared, so each reader keeps the
   * max of the period it has not seen yet: the histogram is reset when every reader has read.
   */
  maxLagSeconds(reader: string): number {
    const maxMs = Math.max(0, this.histogram.max / 1e6 - this.resolutionMs);
    const worst = Math.max(maxMs, this.windows.get(reader) ?? 0);
    this.windows.set(reader, 0);
    for (const [k, v] of this.windows) if (k !== reader) this.windows.set(k, Math.max(v, maxMs));
    this.histogram.reset();
    return worst / 1000;
  }
}
