/**
 * The fleet on NATS JetStream (`broker.url: nats://…`, several seed URLs comma-separated).
 * Agents publish to the cluster's MQTT listener as they would to any MQTT broker; JetStream
 * keeps their messages in the streams of jetstream-streams.ts.
 *
 * - samples and hours: the group's durable pull consumer, shared by every worker of the group.
 *   A worker pulls at most `maxPending` messages it has not acknowledged, and acknowledges each
 *   once its batch is committed (the ack survives a reconnect: JetStream takes it as long as
 *   the delivery is pending). A message held longer than half the ack wait (a commit being
 *   retried) is marked in progress so it is not delivered to another worker meanwhile; one
 *   never acknowledged (a worker killed, or stopped before its commit) is delivered to another
 *   after `ackWaitS`.
 * - status and plant: an ordered consumer from the last message per subject, in every worker
 *   (each needs every agent's status and plant, like the MQTT path's non-shared subscriptions).
 *
 * De-duplication: a publisher that sets `Nats-Msg-Id: {instance}:{firstId}` is de-duplicated by
 * the stream within its duplicate window. Messages arriving through NATS's MQTT listener
 * (nats-server 2.9) carry no usable id — only an `Nmqtt-Pub` header with their QoS — so they,
 * like a redelivery, are de-duplicated by the store's keys (instance, id).
 *
 * The listener acknowledges an agent's QoS 1 publish (PUBACK) without waiting for a stream to
 * store it: a message published while the work stream has no leader (a node killed, an
 * election under way) is acknowledged and lost. Agents on JetStream therefore run
 * `upstream.confirm: fleet`, which resends what the fleet has not confirmed.
 *
 * Confirmations are core NATS publishes on `{p}.{site}.{agent}.confirm`: an agent subscribed
 * over the MQTT listener receives them (at QoS 0), and NATS retains none, so `confirmRetained`
 * is false and the fleet sends an agent its confirmation again when the agent comes online.
 */
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { JetStreamConfig } from '../../../config/fleet-schema.ts';
import { readTlsFiles, type BrokerCredentials } from '../../tls-files.ts';
import { ensureJetStreamLayout, isNotFound, jetstreamLayout, LayoutRefused, subjectOf, topicOf, type JetStreamLayout } from './jetstream-streams.ts';
import type { BrokerState, ConsumerLag, IngestHooks, IngestTransport } from './transport.ts';

export interface JetStreamTransportOptions extends BrokerCredentials {
  /** the seed list (broker.url split at ",") */
  servers: string[];
  /** the connection's name in the server's monitoring */
  name: string;
  topicPrefix: string;
  group: string;
  jetstream: JetStreamConfig;
  /** unacknowledged messages this worker holds at most (ingest.maxPending) */
  maxPending: number;
  reconnectMs: number;
  connectTimeoutMs: number;
  /** how often the consumer's backlog is read */
  lagIntervalMs: number;
  /** a pull request waits this long for messages before the next is sent */
  fetchExpiresMs: number;
}

export const JETSTREAM_TRANSPORT_DEFAULTS = { reconnectMs: 1000, connectTimeoutMs: 10_000, lagIntervalMs: 5000, fetchExpiresMs: 5000 } as const;

interface Held {
  msg: JsMsg;
  /** when it arrived or was last marked in progress */
  at: number;
}

/**
 * A message's payload as a Buffer over the same memory, not a copy. nats-core hands out a view
 * of the socket chunk it was read in (or of the buffer it gathered a payload split across reads
 * in) and never writes either again, so the batcher may keep it until the batch's commit (and
 * for a dead letter). A view keeps its chunk (≤ 64 KiB, or the gathered payload) alive that
 * long: at most maxPending chunks per worker. The copy it replaces (Buffer.from(Uint8Array),
 * ≈ 10× a memcpy on Node 20: 80 µs per 70 KB payload on an idle core) was 157 ms of a loaded
 * worker's CPU profile for 200 batches of 1000 samples.
 */
function payloadOf(m: JsMsg): Buffer {
  const d = m.data;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export class JetStreamTransport implements IngestTransport {
  readonly kind = 'jetstream';
  readonly confirmRetained = false;
  private readonly layout: JetStreamLayout;
  private hooks: IngestHooks = { onMessage: () => undefined, onState: () => undefined };
  private nc: NatsConnection | undefined;
  private stopping = false;
  private stateValue: BrokerState = 'connecting';
  private lastError: string | undefined;
  private readonly held = new Set<Held>();
  private roomWaiter: (() => void) | undefined;
  private readonly iterators = new Set<ConsumerMessages>();
  private timers: NodeJS.Timeout[] = [];
  private lagValue: ConsumerLag | undefined;
  private loops: Promise<void>[] = [];

  constructor(private readonly opts: JetStreamTransportOptions) {
    this.layout = jetstreamLayout(opts.topicPrefix, opts.group, opts.jetstream);
  }

  get subscriptions(): Record<string, unknown> {
    const l = this.layout;
    return { work: { stream: l.work.name, subjects: l.work.subjects, consumer: l.consumer.durable_name }, state: { stream: l.state.name, subjects: l.state.subjects } };
  }

  /**
   * Connected and the layout set up within connectTimeoutMs; else it keeps trying in the
   * background (`degraded` meanwhile). Rejects when the streams or the consumer exist with
   * settings NATS cannot change (LayoutRefused): no retry can mend that.
   */
  async start(hooks: IngestHooks): Promise<void> {
    this.hooks = hooks;
    const connOpts = this.connectionOptions();
    let ready: () => void = () => undefined;
    let refused: (err: Error) => void = () => undefined;
    const first = new Promise<void>((resolve, reject) => {
      ready = resolve;
      refused = reject;
    });
    this.loops.push(this.run(connOpts, ready, refused));
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (t = setTimeout(() => r('timeout'), this.opts.connectTimeoutMs)));
    try {
      await Promise.race([first, timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  private connectionOptions(): ConnectionOptions {
    const o = this.opts;
    const tls: Record<string, unknown> = { ...readTlsFiles(o, 'SFA_ERR_FLEET_BROKER', 'broker') };
    // rejectUnauthorized: false relaxes a TLS connection; it does not ask for one (a tls:// server does)
    if (Object.keys(tls).length > 0 && !o.rejectUnauthorized) tls.rejectUnauthorized = false;
    return {
      servers: o.servers,
      name: o.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: o.reconnectMs,
      timeout: o.connectTimeoutMs,
      ...(o.username !== undefined ? { user: o.username } : {}),
      ...(o.password !== undefined ? { pass: o.password } : {}),
      ...(Object.keys(tls).length > 0 ? { tls } : {}),
    };
  }

  /**
   * Connects, sets the layout up, pulls; and starts over when the set-up fails (JetStream not
   * ready yet: no meta leader at boot, a stream without quorum) or the connection closes for
   * good (nats.js gives up after repeated authorization errors), until stop(). Messages held
   * from a closed connection cannot be acknowledged on another: they are let go (the server
   * delivers them again after the ack wait; the store's keys make that change nothing).
   */
  private async run(connOpts: ConnectionOptions, ready: () => void, refused: (err: Error) => void): Promise<void> {
    while (!this.stopping) {
      let nc: NatsConnection;
      try {
        nc = await connect(connOpts);
      } catch (err) {
        this.setState('disconnected', (err as Error).message);
        await sleep(this.opts.reconnectMs);
        continue;
      }
      this.nc = nc;
      const status = this.watchStatus(nc);
      let jsm: JetStreamManager | undefined;
      try {
        jsm = await jetstreamManager(nc);
        await ensureJetStreamLayout(jsm, this.layout);
      } catch (err) {
        this.setState('disconnected', (err as Error).message);
        if (err instanceof LayoutRefused) {
          refused(err);
          this.stopping = true;
        }
        jsm = undefined;
      }
      if (jsm && !this.stopping) {
        this.setState('connected', undefined);
        ready();
        const loops = [this.workLoop(nc, jsm), this.stateLoop(nc, jsm)];
        this.startTimers(jsm);
        await nc.closed();
        this.stopTimers();
        this.letGo();
        await Promise.all(loops);
        if (!this.stopping) this.setState('disconnected', this.lastError ?? 'the connection closed');
      }
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
      await status;
      if (!this.stopping) await sleep(this.opts.reconnectMs);
    }
  }

  /** Forgets what is held (a closed connection, or stop()): it is delivered again after the ack wait. */
  private letGo(): void {
    for (const it of this.iterators) it.stop();
    this.held.clear();
    const w = this.roomWaiter;
    this.roomWaiter = undefined;
    w?.();
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.setState('disconnected', this.lastError ?? `disconnected from ${s.server}`);
      else if (s.type === 'reconnect') this.setState('connected', undefined);
      else if (s.type === 'error') this.lastError = s.error.message;
    }
  }

  /** Pulls from the group's consumer, never holding more than maxPending unacknowledged. */
  private async workLoop(nc: NatsConnection, jsm: JetStreamManager): Promise<void> {
    const js = jetstream(nc);
    const { name } = this.layout.work;
    const durable = this.layout.consumer.durable_name;
    while (!this.stopping && !nc.isClosed()) {
      try {
        const consumer = await js.consumers.get(name, durable);
        while (!this.stopping && !nc.isClosed()) {
          const room = this.opts.maxPending - this.held.size;
          if (room <= 0) {
            await new Promise<void>((r) => (this.roomWaiter = r));
            continue;
          }
          const batch = await consumer.fetch({ max_messages: room, expires: this.opts.fetchExpiresMs });
          this.iterators.add(batch);
          try {
            for await (const m of batch) this.deliver(m);
          } finally {
            this.iterators.delete(batch);
          }
        }
      } catch (err) {
        if (this.stopping || nc.isClosed()) return;
        this.lastError = (err as Error).message;
        await sleep(this.opts.reconnectMs);
        // deleted meanwhile, or lost with a memory store: set up again (a setting refused stays an error)
        if (isNotFound(err)) await ensureJetStreamLayout(jsm, this.layout).catch((e: Error) => (this.lastError = e.message));
      }
    }
  }

  private deliver(msg: JsMsg): void {
    const h: Held = { msg, at: Date.now() };
    this.held.add(h);
    try {
      this.hooks.onMessage(topicOf(msg.subject), payloadOf(msg), () => {
        if (!this.held.delete(h)) return;
        msg.ack();
        const w = this.roomWaiter;
        this.roomWaiter = undefined;
        w?.();
      });
    } catch (err) {
      // not taken: no room kept for it; the server delivers it again after the ack wait
      this.held.delete(h);
      this.lastError = (err as Error).message;
    }
  }

  /** Every agent's last status and plant, then what follows, in every worker. */
  private async stateLoop(nc: NatsConnection, jsm: JetStreamManager): Promise<void> {
    const js = jetstream(nc);
    while (!this.stopping && !nc.isClosed()) {
      try {
        const consumer = await js.consumers.get(this.layout.state.name, { deliver_policy: DeliverPolicy.LastPerSubject });
        const messages = await consumer.consume();
        this.iterators.add(messages);
        try {
          for await (const m of messages) {
            this.hooks.onMessage(topicOf(m.subject), payloadOf(m), () => undefined);
          }
        } finally {
          this.iterators.delete(messages);
        }
      } catch (err) {
        if (this.stopping || nc.isClosed()) return;
        this.lastError = (err as Error).message;
        // deleted meanwhile: set up again like the work stream
        if (isNotFound(err)) await ensureJetStreamLayout(jsm, this.layout).catch((e: Error) => (this.lastError = e.message));
      }
      if (!this.stopping && !nc.isClosed()) await sleep(this.opts.reconnectMs);
    }
  }

  private stopTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private startTimers(jsm: JetStreamManager): void {
    const ackWaitMs = this.opts.jetstream.ackWaitS * 1000;
    const progress = setInterval(() => this.markInProgress(ackWaitMs), Math.max(100, ackWaitMs / 4));
    const lag = setInterval(() => void this.readLag(jsm), this.opts.lagIntervalMs);
    progress.unref();
    lag.unref();
    this.timers.push(progress, lag);
    void this.readLag(jsm);
  }

  /** A batch waiting for its commit (the store is away) must not be delivered to another worker meanwhile. */
  private markInProgress(ackWaitMs: number): void {
    const now = Date.now();
    for (const h of this.held) {
      if (now - h.at < ackWaitMs / 2) continue;
      h.msg.working();
      h.at = now;
    }
  }

  private async readLag(jsm: JetStreamManager): Promise<void> {
    if (this.stopping || this.stateValue !== 'connected') return;
    try {
      const stream = this.layout.work.name;
      const consumer = this.layout.consumer.durable_name;
      const ci = await jsm.consumers.info(stream, consumer);
      this.lagValue = { stream, consumer, pending: ci.num_pending, redelivered: ci.num_redelivered, ackPending: ci.num_ack_pending, at: Date.now() };
    } catch (err) {
      // the broker is away: the last value stays, with its time
      this.lastError = (err as Error).message;
    }
  }

  lag(): ConsumerLag | undefined {
    return this.lagValue;
  }

  /** Plain NATS publish (QoS 0 to MQTT subscribers, not retained); dropped while disconnected is fine: it is sent again. */
  publishConfirm(topic: string, payload: string): void {
    try {
      this.nc?.publish(subjectOf(topic), payload);
    } catch (err) {
      this.lastError = (err as Error).message;
    }
  }

  private setState(s: BrokerState, error: string | undefined): void {
    if (error !== undefined) this.lastError = error;
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.hooks.onState(s, this.lastError);
  }

  /**
   * Stops pulling and closes. What is held unacknowledged is delivered again, to any worker,
   * after the ack wait. Not NAKed: on nats-server 2.9.10 a NAK sent while this worker's pull
   * request is still open made the server deliver another, acknowledged message again in its
   * place (found by the conformance suite), and waiting out the ack wait is always right.
   */
  async stop(timeoutMs = 3000): Promise<void> {
    this.stopping = true;
    this.stopTimers();
    this.letGo();
    const nc = this.nc;
    let t: NodeJS.Timeout | undefined;
    const closing = (async () => {
      if (nc && !nc.isClosed()) {
        await nc.flush().catch(() => undefined);
        await nc.close();
      }
      await Promise.all(this.loops);
    })();
    await Promise.race([closing, new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
    clearTimeout(t);
  }
}
