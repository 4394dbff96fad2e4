/**
 * The fleet process (DESIGN.md §2 step 8, §6 "Fleet"): the broker's upstream topics → parsed
 * batches → one transaction each in the store → PUBACK → each agent's retained confirmation;
 * and the HTTP API over the store. Built from a valid fleet config; `start()` connects,
 * `stop()` commits what it holds and releases everything.
 */
import type { FleetConfig } from '../../config/fleet-schema.ts';
import { Confirmer } from './confirmer.ts';
import { startFleetHttp, type FleetHealth } from './fleet-http.ts';
import { FleetMetrics } from './fleet-metrics.ts';
import { FleetSubscriber, SUBSCRIBER_DEFAULTS, type BrokerState } from './fleet-subscriber.ts';
import { IngestBatcher, type IngestLog } from './ingest-batcher.ts';
import { openFleetStore, redact, type CommitResult, type FleetStore } from './store/index.ts';

export interface FleetLog extends IngestLog {
  child?(bindings: object): FleetLog;
}

export class Fleet {
  readonly metrics: FleetMetrics;
  private store: FleetStore | undefined;
  private batcher: IngestBatcher | undefined;
  private subscriber: FleetSubscriber | undefined;
  private confirmer: Confirmer | undefined;
  private http: { port: number; close(): Promise<void> } | undefined;
  private broker: { state: BrokerState; error: string | undefined; since: number } = { state: 'connecting', error: undefined, since: Date.now() };

  constructor(
    private readonly config: FleetConfig,
    private readonly log: FleetLog,
  ) {
    this.metrics = new FleetMetrics({ fleet: config.fleet.id });
  }

  /** The HTTP port (0 in the config: the one the system chose). */
  get port(): number {
    return this.http?.port ?? 0;
  }

  /** The store, for tests and the CLI. */
  get fleetStore(): FleetStore | undefined {
    return this.store;
  }

  async start(): Promise<void> {
    const c = this.config;
    const store = await openFleetStore(c.database, c.fleet.dataDir, `shopfloor-fleet-${c.fleet.id}`);
    this.store = store;
    this.log.info({ store: store.kind, database: c.database.url !== undefined ? redact(c.database.url) : c.fleet.dataDir, schema: c.database.schema }, 'fleet store open');
    const subscriber = new FleetSubscriber(
      {
        url: c.broker.url,
        clientId: `shopfloor-fleet-${c.fleet.id}`,
        topicPrefix: c.broker.topicPrefix,
        group: c.broker.group,
        username: c.broker.username,
        password: c.broker.password,
        ca: c.broker.ca,
        cert: c.broker.cert,
        key: c.broker.key,
        rejectUnauthorized: c.broker.rejectUnauthorized,
        sessionExpiryS: c.broker.sessionExpiryS,
        mqttVersion: c.broker.mqttVersion,
        shared: c.broker.shared,
        maxPending: c.ingest.maxPending,
        ...SUBSCRIBER_DEFAULTS,
      },
      {
        onMessage: (topic, payload, ack) => this.batcher?.push(topic, payload, ack),
        onState: (state, error) => this.onBrokerState(state, error),
      },
    );
    this.subscriber = subscriber;
    this.confirmer = new Confirmer(c.broker.topicPrefix, c.ingest.confirmIntervalMs, subscriber, (instance) => store.confirmedId(instance), this.log);
    this.batcher = new IngestBatcher(store, { ...c.ingest, topicPrefix: c.broker.topicPrefix }, { metrics: this.metrics, log: this.log, onCommitted: (r) => this.onCommitted(r) });
    this.http = await startFleetHttp({
      host: c.http.host,
      port: c.http.port,
      token: c.http.token,
      allowedHosts: c.http.allowedHosts,
      store,
      metrics: this.metrics,
      health: () => this.health(),
      benchmarks: c.benchmarks,
      log: this.log,
    });
    subscriber.start();
    this.log.info({ http: `${c.http.host}:${this.http.port}`, broker: c.broker.url, group: c.broker.group, topics: subscriber.topics }, 'fleet started');
  }

  private onCommitted(r: CommitResult): void {
    for (const x of r.confirmed) {
      this.confirmer?.update(x.site, x.agent, x.instance, x.confirmedId);
      this.metrics.confirmedId.set({ site: x.site, agent: x.agent }, x.confirmedId);
    }
  }

  private onBrokerState(state: BrokerState, error: string | undefined): void {
    this.broker = { state, error, since: Date.now() };
    this.metrics.brokerConnected.set(state === 'connected' ? 1 : 0);
    if (state === 'connected') this.log.info({ url: this.config.broker.url }, 'broker connected');
    else this.log.warn({ url: this.config.broker.url, error }, 'broker disconnected; agents keep what the fleet has not confirmed [SFA_ERR_FLEET_BROKER]');
  }

  health(): FleetHealth {
    const storeError = this.batcher?.lastError;
    const ok = this.broker.state === 'connected' && storeError === undefined;
    return {
      status: ok ? 'ok' : 'degraded',
      fleet: this.config.fleet.id,
      broker: { state: this.broker.state, since: new Date(this.broker.since).toISOString(), error: this.broker.state === 'connected' ? null : (this.broker.error ?? null) },
      store: { kind: this.store?.kind ?? null, state: storeError === undefined ? 'ok' : 'failing', error: storeError ?? null, pending: this.batcher?.pending ?? 0 },
    };
  }

  /** Commits what is held, publishes the waiting confirmations, disconnects and closes. */
  async stop(): Promise<void> {
    await this.batcher?.stop();
    await this.confirmer?.flush();
    await this.subscriber?.stop();
    this.confirmer?.stop();
    await this.http?.close();
    await this.store?.close();
  }
}
