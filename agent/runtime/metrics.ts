/**
 * Prometheus metrics (GET /metrics). One registry per Agent instance (no module-level
 * state: tests run several agents in one process). Components register their own metrics
 * here at start-up and update them on their hot paths.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly samplesStored: Counter<'source'>;
  readonly deadLetters: Counter<'source' | 'reason'>;
  readonly sourceConnected: Gauge<'source' | 'type'>;
  readonly forwardedSamples: Counter;
  readonly upstreamConnected: Gauge;
  readonly unexpectedErrors: Counter<'component'>;
  /** read at scrape time (set by the Agent): backlog, size and drops of the buffer */
  bufferStats: (() => { backlog: number; bytes: number; droppedSamples: number }) | undefined;
  /** read at scrape time (set by the Agent with upstream): the broker-acknowledged cursor and the fleet-confirmed id */
  upstreamIds: (() => { acked: number; confirmed: number }) | undefined;

  constructor(labels: { site: string; agent: string }) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry, prefix: 'shopfloor_agent_process_' });
    this.samplesStored = new Counter({ name: 'shopfloor_agent_samples_stored_total', help: 'Samples committed to the buffer, per source', labelNames: ['source'], registers: [this.registry] });
    this.deadLetters = new Counter({ name: 'shopfloor_agent_dead_letters_total', help: 'Payloads that could not be used, stored in dead_letters', labelNames: ['source', 'reason'], registers: [this.registry] });
    this.sourceConnected = new Gauge({ name: 'shopfloor_agent_source_connected', help: '1 when the source is connected', labelNames: ['source', 'type'], registers: [this.registry] });
    this.forwardedSamples = new Counter({ name: 'shopfloor_agent_forwarded_samples_total', help: 'Samples acknowledged (PUBACK) by the central broker, resends included', registers: [this.registry] });
    this.upstreamConnected = new Gauge({ name: 'shopfloor_agent_upstream_connected', help: '1 when the central broker is connected', registers: [this.registry] });
    this.unexpectedErrors = new Counter({ name: 'shopfloor_agent_unexpected_errors_total', help: 'Unexpected failures (bugs) caught by the supervisor, per component; the component was restarted', labelNames: ['component'], registers: [this.registry] });
    const stats = (): { backlog: number; bytes: number; droppedSamples: number } | undefined => this.bufferStats?.();
    const stat = (name: string, help: string, pick: (s: { backlog: number; bytes: number; droppedSamples: number }) => number): void => {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = stats();
          if (s) this.set(pick(s));
        },
      });
    };
    stat('shopfloor_agent_buffer_backlog_samples', 'Samples not yet acknowledged upstream', (s) => s.backlog);
    stat('shopfloor_agent_buffer_bytes', 'Size of the buffer database and its WAL, bytes', (s) => s.bytes);
    stat('shopfloor_agent_buffer_dropped_samples', 'Unforwarded samples dropped at buffer.maxBytes, ever', (s) => s.droppedSamples);
    const ids = (): { acked: number; confirmed: number } | undefined => this.upstreamIds?.();
    new Gauge({ name: 'shopfloor_agent_upstream_acked_id', help: 'Highest sample id up to which the central broker acknowledged every batch', registers: [this.registry], collect() { const v = ids(); if (v) this.set(v.acked); } });
    new Gauge({ name: 'shopfloor_agent_upstream_confirmed_id', help: 'Highest sample id the fleet confirmed as durably stored (upstream.confirm: fleet)', registers: [this.registry], collect() { const v = ids(); if (v) this.set(v.confirmed); } });
  }
}

/** Dead-letter reasons as a bounded label set (the full reason is in the table). */
export function reasonClass(reason: string): string {
  const r = reason.toLowerCase();
  if (r.includes('invalid json')) return 'invalid_json';
  if (r.includes('exceeds')) return 'too_large';
  if (r.includes('no topic mapping') || r.includes('unmapped')) return 'unmapped';
  if (r.includes('protobuf') || r.includes('sparkplug')) return 'sparkplug';
  if (r.includes('timestamp')) return 'bad_timestamp';
  return 'bad_value';
}
