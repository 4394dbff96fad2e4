/**
 * The fleet process (DESIGN.md §2 step 8, §6 "Fleet"): the broker's upstream topics (MQTT or
 * JetStream, ingest/transport.ts) → parsed batches → one transaction each in the store →
 * acknowledgement → each agent's confirmation; and the HTTP API over the store. Built from a valid fleet config; `start()` connects,
 * `stop()` commits what it holds and releases everything.
 */
import type { FleetConfig } from '../../config/fleet-schema.ts';
import { Confirmer } from './confirmer.ts';
import { consumerView, startFleetHttp, type FleetHealth } from './fleet-http.ts';
import { FleetMetrics } from './fleet-metrics.ts';
import { createTransport, type BrokerState, type IngestTransport } from './ingest/index.ts';
import { IngestBatcher, type IngestLog } from './ingest-batcher.ts';
import { parseTopic } from './messages.ts';
import { openFleetStore, redact, type CommitResult, type FleetStore } from './store/index.ts';

export interface FleetLog extends IngestLog {
  child?(bindings: object): FleetLog;
}

/** how long online statuses are gathered before their agents are looked up together, ms */
const ONLINE_LOOKUP_MS = 100;

export class Fleet {
  readonly metrics: FleetMetrics;
  private store: FleetStore | undefined;
  private batcher: IngestBatcher | undefined;
  private transport: IngestTransport | undefined;
  private confirmer: Confirmer | undefined;
  private http: { port: number; close(): Promise<void> } | undefined;
  private stopping: Promise<void> | undefined;
  /** agents whose status turned online since the last look-up ("site/agent"), confirmed again together */
  private readonly comingOnline = new Set<string>();
  private onlineTimer: NodeJS.Timeout | undefined;
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
    const transport = createTransport(c);
    this.transport = transport;
    this.confirmer = new Confirmer(c.broker.topicPrefix, c.ingest.confirmIntervalMs, { publish: (topic, payload) => transport.publishConfirm(topic, payload) }, (instance) => store.confirmedId(instance), this.log);
    this.batcher = new IngestBatcher(store, { ...c.ingest, topicPrefix: c.broker.topicPrefix }, { metrics: this.metrics, log: this.log, onCommitted: (r) => this.onCommitted(r) });
    this.http = await startFleetHttp({
      host: c.http.host,
      port: c.http.port,
      token: c.http.token,
      allowedHosts: c.http.allowedHosts,
      store,
      metrics: this.metrics,
      health: () => this.health(),
      consumerLag: () => this.transport?.lag?.(),
      benchmarks: c.benchmarks,
      log: this.log,
    });
    this.metrics.watchConsumerLag(() => transport.lag?.());
    try {
      await transport.start({
        onMessage: (topic, payload, ack) => this.onMessage(topic, payload, ack),
        onState: (state, error) => this.onBrokerState(state, error),
      });
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.log.info({ http: `${c.http.host}:${this.http.port}`, broker: c.broker.url, group: c.broker.group, transport: transport.kind, topics: transport.subscriptions }, 'fleet started');
  }

  private onMessage(topic: string, payload: Buffer, ack: () => void): void {
    this.batcher?.push(topic, payload, ack);
    // a confirmation that is not retained reaches an agent coming online only when sent again
    if (this.transport?.confirmRetained === false && topic.endsWith('/status') && payload.toString('utf8') === 'online') {
      const t = parseTopic(this.config.broker.topicPrefix, topic);
      if (t?.kind === 'status') {
        this.comingOnline.add(`${t.site}/${t.agent}`);
        // a worker (re)starting reads every agent's last status at once: one look-up for all of them
        this.onlineTimer ??= setTimeout(() => void this.confirmAgain(), ONLINE_LOOKUP_MS);
      }
    }
  }

  /** The newest instance of each agent that came online and its committed cursor, to the Confirmer (which reads the cursor again when it sends). */
  private async confirmAgain(): Promise<void> {
    this.onlineTimer = undefined;
    const who = new Set(this.comingOnline);
    this.comingOnline.clear();
    try {
      const newest = new Map<string, { instance: string; confirmedId: number; lastSeen: number; site: string; agent: string }>();
      for (const r of (await this.store?.agents()) ?? []) {
        const key = `${r.site}/${r.agent}`;
        const have = newest.get(key);
        if (who.has(key) && (!have || r.lastSeen > have.lastSeen)) newest.set(key, r);
      }
      for (const r of newest.values()) this.confirmer?.update(r.site, r.agent, r.instance, r.confirmedId);
    } catch (err) {
      this.log.warn({ err, agents: who.size }, 'could not read the agents back to confirm them again; their next commits will');
    }
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
    const lag = this.transport?.lag?.();
    const ok = this.broker.state === 'connected' && storeError === undefined;
    return {
      status: ok ? 'ok' : 'degraded',
      fleet: this.config.fleet.id,
      broker: {
        state: this.broker.state,
        since: new Date(this.broker.since).toISOString(),
        error: this.broker.state === 'connected' ? null : (this.broker.error ?? null),
        ...(lag ? { consumer: consumerView(lag) } : {}),
      },
      store: { kind: this.store?.kind ?? null, state: storeError === undefined ? 'ok' : 'failing', error: storeError ?? null, pending: this.batcher?.pending ?? 0 },
    };
  }

  /** Commits what is held, publishes the waiting confirmations, disconnects and closes (once: later calls wait for the first). */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    if (this.onlineTimer) clearTimeout(this.onlineTimer);
    await this.batcher?.stop();
    await this.confirmer?.flush();
    await this.transport?.stop();
    this.confirmer?.stop();
    await this.http?.close();
    await this.store?.close();
  }
}
