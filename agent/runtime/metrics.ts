/**
 * Prometheus metrics (GET /metrics). One registry per Agent instance (no module-level
 * state: tests run several agents in one process). Components register their own metrics
 * here at start-up and update them on their hot paths.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventLoopMonitor } from './event-loop.ts';

/** what the build reports as shopfloor_agent_build_info */
export interface BuildInfo {
  version: string;
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly samplesStored: Counter<'source'>;
  readonly deadLetters: Counter<'source' | 'reason'>;
  readonly sourceConnected: Gauge<'source' | 'type'>;
  readonly forwardedSamples: Counter;
  readonly upstreamConnected: Gauge;
  readonly unexpectedErrors: Counter<'component'>;
  readonly commitSeconds: Histogram;
  readonly kpiQuerySeconds: Histogram<'query'>;
  /** read at scrape time (set by the Agent): age of the oldest sample not yet forwarded, s (0: none) */
  forwardLagSeconds: (() => number) | undefined;
  /** read at scrape time (set by the Agent): worst event-loop lag since the last scrape */
  eventLoop: EventLoopMonitor | undefined;
  /** read at scrape time (set by the Agent): backlog, size and drops of the buffer */
  bufferStats: (() => { backlog: number; bytes: number; droppedSamples: number }) | undefined;
  /** read at scrape time (set by the Agent with upstream): the broker-acknowledged cursor and the fleet-confirmed id */
  upstreamIds: (() => { acked: number; confirmed: number }) | undefined;

  constructor(labels: { site: string; agent: string }, build: BuildInfo = { version: 'unknown' }) {
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
    this.commitSeconds = new Histogram({
      name: 'shopfloor_agent_buffer_commit_seconds',
      help: 'Buffer transactions (count = commits) and how long each took',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.kpiQuerySeconds = new Histogram({
      name: 'shopfloor_agent_kpi_query_seconds',
      help: 'Time to answer a KPI query (the KPI service reports each), by query kind',
      labelNames: ['query'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    const lag = (): number | undefined => this.forwardLagSeconds?.();
    new Gauge({
      name: 'shopfloor_agent_forward_lag_seconds',
      help: 'Age of the oldest sample not yet forwarded upstream (0: nothing waiting)',
      registers: [this.registry],
      collect() {
        const v = lag();
        if (v !== undefined) this.set(v);
      },
    });
    const loop = (): EventLoopMonitor | undefined => this.eventLoop;
    new Gauge({
      name: 'shopfloor_agent_event_loop_lag_seconds',
      help: 'Worst event-loop lag since the previous scrape',
      registers: [this.registry],
      collect() {
        const m = loop();
        if (m) this.set(m.maxLagSeconds('metrics'));
      },
    });
    new Gauge({ name: 'shopfloor_agent_build_info', help: 'Version of the agent and of Node.js (value 1)', labelNames: ['version', 'node'], registers: [this.registry] })
      .labels(build.version, process.versions.node)
      .set(1);
    stat('shopfloor_agent_buffer_dropped_samples', 'Unforwarded samples dropped at buffer.maxBytes, ever', (s) => s.droppedSamples);
    const ids = (): { acked: number; confirmed: number } | undefined => this.upstreamIds?.();
    new Gauge({ name: 'shopfloor_agent_upstream_acked_id', help: 'Highest sample id up to which the central broker acknowledged every batch', registers: [this.registry], collect() { const v = ids(); if (v) this.set(v.acked); } });
    new Gauge({ name: 'shopfloor_agent_upstream_confirmed_id', help: 'Highest sample id the fleet confirmed as durably stored (upstream.confirm: fleet)', registers: [this.registry], collect() { const v = ids(); if (v) this.set(v.confirmed); } });
  }

  /** The KPI service reports each query's duration here. */
  observeKpiQuery(query: string, seconds: number): void {
    this.kpiQuerySeconds.labels(query).observe(seconds);
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
