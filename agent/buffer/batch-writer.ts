/**
 * Batches samples into one transaction per <= maxRows rows or <= maxDelayMs (DESIGN.md §2).
 * Sources that acknowledge upstream (MQTT PUBACK) call commitNow() instead, which commits
 * what is pending and their own samples before returning.
 */
import type { Sample } from '../model/index.ts';
import type { SqliteBuffer } from './sqlite-buffer.ts';

export interface BatchWriterOptions {
  maxRows: number;
  maxDelayMs: number;
  /** called when a commit fails (disk full, I/O error); the samples stay pending */
  onError: (err: unknown) => void;
  /** after a failed commit, the next attempt waits this long (ms) instead of retrying per sample */
  retryMs: number;
  /** after each committed transaction: its rows and how long it took (metrics, watchdog) */
  onCommit: (rows: number, seconds: number) => void;
}

export const BATCH_WRITER_DEFAULTS: BatchWriterOptions = {
  maxRows: 1000,
  maxDelayMs: 100,
  onError: () => {},
  retryMs: 250,
  onCommit: () => {},
};

export class BatchWriter {
  private pending: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly opts: BatchWriterOptions;
  /** the last commit failed: wait for the retry timer rather than failing again at every sample */
  private failing = false;
  /** when a transaction last committed (ms); the service watchdog asks whether commits keep up */
  lastCommitAt: number | undefined;

  constructor(
    private readonly buffer: SqliteBuffer,
    options: Partial<BatchWriterOptions> = {},
  ) {
    this.opts = { ...BATCH_WRITER_DEFAULTS, ...options };
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  enqueue(samples: readonly Sample[]): void {
    for (const s of samples) {
      this.pending.push(s);
      if (this.pending.length >= this.opts.maxRows && !this.failing) this.flush();
    }
    if (this.pending.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.opts.maxDelayMs);
    }
  }

  /** Commit what is pending plus `samples`, synchronously (ack-after-commit). Throws on failure. */
  commitNow(samples: readonly Sample[]): void {
    const queued = this.pending.length;
    const batch = queued > 0 ? [...this.pending.splice(0), ...samples] : samples;
    this.clearTimer();
    for (let i = 0; i < batch.length; i += this.opts.maxRows) {
      try {
        this.timedCommit(batch.slice(i, i + this.opts.maxRows));
      } catch (err) {
        // queued samples that did not make it go back to pending; the caller's own are its to retry
        if (i < queued) this.pending.unshift(...batch.slice(i, queued));
        throw err;
      }
    }
  }

  /** Commit everything pending now (timer, size threshold, shutdown). */
  flush(): void {
    this.clearTimer();
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, this.opts.maxRows);
      try {
        this.timedCommit(batch);
      } catch (err) {
        this.failing = true;
        this.opts.onError(err);
        // keep the samples; retry on the next flush
        if (this.timer === undefined) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.flush();
          }, this.opts.retryMs);
        }
        return;
      }
      this.failing = false;
      this.pending.splice(0, batch.length);
    }
  }

  private timedCommit(batch: readonly Sample[]): void {
    const t0 = performance.now();
    this.buffer.commit(batch);
    this.lastCommitAt = Date.now();
    this.opts.onCommit(batch.length, (performance.now() - t0) / 1000);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
