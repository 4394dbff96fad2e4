/**
 * The fleet's ingest port: how the agents' upstream messages reach the batcher and how the
 * confirmations go back, whatever carries them (MQTT 5 shared subscriptions, or a JetStream
 * durable consumer). Everything past this interface — parsing, batching, storing, confirming,
 * KPIs, HTTP — is the same for both; test/conformance/fleet-ingest-transport.ts is the suite
 * every transport passes.
 */

export type BrokerState = 'connecting' | 'connected' | 'disconnected';

export interface IngestHooks {
  /**
   * One upstream message, its topic in MQTT form (`{p}/{site}/{agent}/samples`). `ack` is called
   * once its batch is committed; a message never acknowledged is delivered again (to this
   * process or another of the group) after a reconnect, a restart or the transport's ack wait.
   */
  onMessage(topic: string, payload: Buffer, ack: () => void): void;
  /** connection changes only (not every retry); `error` is the last one seen */
  onState(state: BrokerState, error: string | undefined): void;
}

/** The shared consumer's backlog as the broker reports it (JetStream consumer info). */
export interface ConsumerLag {
  stream: string;
  consumer: string;
  /** in the stream and not yet delivered to any worker of the group */
  pending: number;
  /** delivered more than once (not acknowledged in time, or by a worker that went away) */
  redelivered: number;
  /** delivered and not yet acknowledged, across all workers */
  ackPending: number;
  /** when the broker said so (epoch ms) */
  at: number;
}

export interface IngestTransport {
  readonly kind: 'mqtt' | 'jetstream';
  /** what it subscribes to or consumes, for the start-up log */
  readonly subscriptions: Record<string, unknown>;
  /**
   * True when a confirmation published now also reaches an agent that subscribes later (a
   * retained MQTT message); false when only current subscribers get it, so the fleet sends an
   * agent its confirmation again when the agent comes online.
   */
  readonly confirmRetained: boolean;
  /**
   * Connects and starts delivering. Resolves once connected or, while the broker cannot be
   * reached, without waiting for it (MQTT at once, JetStream after its connect timeout); it keeps
   * trying and reports through onState. Rejects on a setting the broker refuses
   * (SFA_ERR_FLEET_BROKER), e.g. a JetStream stream with other replicas.
   */
  start(hooks: IngestHooks): Promise<void>;
  /** Sends an agent its confirmation (`{p}/{site}/{agent}/confirm`, MQTT form); never throws. */
  publishConfirm(topic: string, payload: string): void;
  /** The consumer backlog, when the transport has one (JetStream); undefined before the first report. */
  lag?(): ConsumerLag | undefined;
  /** Stops delivering and disconnects; what was not acknowledged stays with the broker for redelivery. */
  stop(timeoutMs?: number): Promise<void>;
}
