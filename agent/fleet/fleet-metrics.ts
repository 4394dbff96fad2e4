/**
 * The fleet's Prometheus metrics (GET /metrics). One registry per fleet process object (no
 * module-level state: tests run two fleets in one process).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConsumerLag } from './ingest/index.ts';

export class FleetMetrics {
  readonly registry = new Registry();
  readonly messages: Counter<'kind'>;
  readonly rowsStored: Counter;
  readonly duplicates: Counter;
  readonly deadLetters: Counter;
  readonly batches: Counter;
  readonly commitFailures: Counter;
  readonly commitSeconds: Histogram;
  readonly confirmedId: Gauge<'site' | 'agent'>;
  readonly brokerConnected: Gauge;
  readonly pending: Gauge;
  readonly consumerPending: Gauge<'stream' | 'consumer'>;
  readonly consumerRedelivered: Gauge<'stream' | 'consumer'>;
  readonly consumerAckPending: Gauge<'stream' | 'consumer'>;
  private lag: () => ConsumerLag | undefined = () => undefined;

  constructor(labels: { fleet: string }) {
    const r = [this.registry];
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry, prefix: 'shopfloor_fleet_process_' });
    this.messages = new Counter({ name: 'shopfloor_fleet_messages_total', help: 'Messages received from the broker, per kind (samples, hours, plant, status)', labelNames: ['kind'], registers: r });
    this.rowsStored = new Counter({ name: 'shopfloor_fleet_rows_stored_total', help: 'Sample rows inserted into the store', registers: r });
    this.duplicates = new Counter({ name: 'shopfloor_fleet_duplicate_rows_total', help: 'Sample rows received again and already stored (resends, replays)', registers: r });
    this.deadLetters = new Counter({ name: 'shopfloor_fleet_dead_letters_total', help: 'Messages that could not be used, kept in dead_letters', registers: r });
    this.batches = new Counter({ name: 'shopfloor_fleet_batches_total', help: 'Transactions committed', registers: r });
    this.commitFailures = new Counter({ name: 'shopfloor_fleet_commit_failures_total', help: 'Transactions that failed and are retried (nothing is acknowledged before it is stored)', registers: r });
    this.commitSeconds = new Histogram({ name: 'shopfloor_fleet_commit_seconds', help: 'Time to commit one batch', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: r });
    this.confirmedId = new Gauge({ name: 'shopfloor_fleet_confirmed_id', help: 'Per agent: the highest id up to which everything is stored (its current instance)', labelNames: ['site', 'agent'], registers: r });
    this.brokerConnected = new Gauge({ name: 'shopfloor_fleet_broker_connected', help: '1 when the central broker is connected', registers: r });
    this.pending = new Gauge({ name: 'shopfloor_fleet_pending_messages', help: 'Messages received and not yet acknowledged (waiting for their commit)', registers: r });
    // JetStream only (no sample with MQTT): the group consumer's info as this worker last read it
    const labelNames = ['stream', 'consumer'] as const;
    const lagGauge = (name: string, help: string, pick: (l: ConsumerLag) => number): Gauge<'stream' | 'consumer'> => {
      const lag = (): ConsumerLag | undefined => this.lag();
      return new Gauge({
        name,
        help,
        labelNames,
        registers: r,
        collect() {
          const l = lag();
          if (l) this.set({ stream: l.stream, consumer: l.consumer }, pick(l));
        },
      });
    };
    this.consumerPending = lagGauge('shopfloor_fleet_consumer_pending', 'JetStream: messages in the stream not yet delivered to any worker of the group', (l) => l.pending);
    this.consumerRedelivered = lagGauge('shopfloor_fleet_consumer_redelivered', 'JetStream: messages delivered more than once and not yet acknowledged', (l) => l.redelivered);
    this.consumerAckPending = lagGauge('shopfloor_fleet_consumer_ack_pending', 'JetStream: messages delivered to the group and not yet acknowledged', (l) => l.ackPending);
  }

  /** Where the consumer gauges read from (the transport's lag(), JetStream). */
  watchConsumerLag(read: () => ConsumerLag | undefined): void {
    this.lag = read;
  }
}
