/**
 * What the agent's commits tell its query worker, gathered between two posts: per series the
 * earliest committed time (all the KPI service's cache needs to drop stale windows), the
 * order samples themselves, and new series bindings. A few map look-ups per committed sample;
 * its size is bounded by the series count, plus the order samples (rare) until the next post.
 */
import { ORDER_EVENT_SIGNAL, ORDER_ID_SIGNAL } from '../kpi/index.ts';
import type { StoredSample } from '../model/index.ts';
import type { CommitDigestMessage } from './protocol.ts';

export class CommitDigest {
  private minTs = new Map<string, Map<string, number>>();
  private orders: StoredSample[] = [];
  private binds: CommitDigestMessage['binds'] = [];
  private empty = true;

  add(samples: readonly StoredSample[]): void {
    for (const s of samples) {
      this.empty = false;
      if (s.signal === ORDER_EVENT_SIGNAL || s.signal === ORDER_ID_SIGNAL) {
        this.orders.push(s);
        continue;
      }
      let bySignal = this.minTs.get(s.machine);
      if (bySignal === undefined) this.minTs.set(s.machine, (bySignal = new Map()));
      const t = bySignal.get(s.signal);
      if (t === undefined || s.ts < t) bySignal.set(s.signal, s.ts);
    }
  }

  bind(source: string, machine: string, signal: string): void {
    this.empty = false;
    this.binds.push([source, machine, signal]);
  }

  /** The digest since the last take, or undefined when nothing was committed or bound. */
  take(): CommitDigestMessage | undefined {
    if (this.empty) return undefined;
    const series: CommitDigestMessage['series'] = [];
    for (const [machine, bySignal] of this.minTs) for (const [signal, ts] of bySignal) series.push([machine, signal, ts]);
    const out: CommitDigestMessage = { type: 'digest', binds: this.binds, series, orders: this.orders };
    this.clear();
    return out;
  }

  clear(): void {
    this.minTs = new Map();
    this.orders = [];
    this.binds = [];
    this.empty = true;
  }
}
