/**
 * The fleet's MQTT client: MQTT 5, a persistent session (`clean: false`, a fixed client id per
 * fleet process, `sessionExpiryS`) so QoS 1 messages queue at the broker while the process is
 * down, and Receive Maximum = `maxPending` so the broker never has more unacknowledged messages
 * out to us than the batcher holds.
 *
 * - `$share/<group>/{p}/+/+/samples` and `…/hours/+`: shared, so fleet processes of a group split
 *   the load;
 * - `{p}/+/+/status` and `{p}/+/+/plant`: not shared, because a broker sends no retained message
 *   on a shared subscription (MQTT 5 §4.8.2; Mosquitto does the same) and every fleet process
 *   needs them anyway (they are small, and storing them twice is an idempotent upsert).
 *
 * PUBACK after COMMIT: MQTT.js acknowledges a QoS 1 message when `customHandleAcks` calls back,
 * and it reads no further packet from the socket until then, so waiting there would allow one
 * message per transaction. Instead the handler answers "no PUBACK now" (an error: MQTT.js then
 * reads on and sends nothing) and the PUBACK for the message id is sent once its batch has
 * committed — on the same connection only: after a reconnect the broker redelivers what was not
 * acknowledged, and the store's keys make that redelivery change nothing.
 */
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { readTlsFiles, type BrokerCredentials } from '../../tls-files.ts';
import type { BrokerState, IngestHooks, IngestTransport } from './transport.ts';

export interface MqttTransportOptions extends BrokerCredentials {
  url: string;
  clientId: string;
  topicPrefix: string;
  group: string;
  sessionExpiryS: number;
  maxPending: number;
  /** 4: MQTT 3.1.1 (no session expiry, no Receive Maximum) */
  mqttVersion: 4 | 5;
  /** false: plain subscriptions (a broker without `$share`) */
  shared: boolean;
  reconnectMs: number;
  connectTimeoutMs: number;
}

export const MQTT_TRANSPORT_DEFAULTS = { reconnectMs: 1000, connectTimeoutMs: 10_000 } as const;

/** The sentinel that tells MQTT.js "no PUBACK now"; never reported as an error. */
const DEFERRED = new Error('PUBACK deferred until the batch is committed');

interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode?: number }, cb?: () => void): void;
}

export class MqttTransport implements IngestTransport {
  readonly kind = 'mqtt';
  readonly confirmRetained = true;
  private client: MqttClient | undefined;
  private hooks: IngestHooks = { onMessage: () => undefined, onState: () => undefined };
  private epoch = 0;
  private lastError: string | undefined;
  private stopping = false;
  stateValue: BrokerState = 'connecting';

  constructor(private readonly opts: MqttTransportOptions) {}

  get subscriptions(): { shared: string[]; direct: string[] } {
    const p = this.opts.topicPrefix;
    const g = this.opts.group;
    const share = this.opts.shared ? `$share/${g}/` : '';
    return { shared: [`${share}${p}/+/+/samples`, `${share}${p}/+/+/hours/+`], direct: [`${p}/+/+/status`, `${p}/+/+/plant`] };
  }

  /** Resolves at once: MQTT.js connects and reconnects by itself and reports through onState. */
  start(hooks: IngestHooks): Promise<void> {
    this.hooks = hooks;
    const o = this.opts;
    let tls: Partial<IClientOptions>;
    try {
      tls = readTlsFiles(o, 'SFA_ERR_FLEET_BROKER', 'broker');
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const client = mqtt.connect(o.url, {
      clientId: o.clientId,
      clean: false,
      ...(o.mqttVersion === 5 ? { protocolVersion: 5 as const, properties: { sessionExpiryInterval: o.sessionExpiryS, receiveMaximum: o.maxPending } } : { protocolVersion: 4 as const }),
      reconnectPeriod: o.reconnectMs,
      connectTimeout: o.connectTimeoutMs,
      resubscribe: false,
      rejectUnauthorized: o.rejectUnauthorized,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...tls,
      customHandleAcks: (topic, message, packet: { messageId?: number }, done) => {
        const epoch = this.epoch;
        const id = packet.messageId;
        this.hooks.onMessage(topic, message, () => this.puback(epoch, id));
        done(DEFERRED);
      },
    });
    this.client = client;
    client.on('connect', () => {
      this.epoch++;
      this.setState('connected');
      // a resumed session keeps its subscriptions; subscribing again is harmless and covers a lost one
      client.subscribe([...this.subscriptions.shared, ...this.subscriptions.direct], { qos: 1 }, (err) => {
        if (err) this.lastError = `subscribe failed: ${err.message}`;
      });
    });
    client.on('close', () => {
      this.epoch++;
      if (!this.stopping && (this.stateValue !== 'connecting' || this.lastError)) this.setState('disconnected');
    });
    client.on('error', (err) => {
      if (err === DEFERRED) return;
      this.lastError = err.message;
    });
    // QoS 0 messages (none expected) come through here, without an acknowledgement
    client.on('message', (topic, message, packet) => {
      // MQTT.js defers a PUBACK (customHandleAcks) only under MQTT 5: under 3.1.1 it acknowledged
      // on receipt, and agents with `confirm: fleet` still resend what the fleet did not commit
      if (packet.qos === 0 || this.opts.mqttVersion === 4) this.hooks.onMessage(topic, message, () => undefined);
    });
    return Promise.resolve();
  }

  private puback(epoch: number, messageId: number | undefined): void {
    const c = this.client;
    if (epoch !== this.epoch || messageId === undefined || !c?.connected) return;
    (c as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 });
  }

  /** Retained: an agent that subscribes later gets the latest at once. */
  publishConfirm(topic: string, payload: string): void {
    this.client?.publish(topic, payload, { qos: 1, retain: true });
  }

  private setState(s: BrokerState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.hooks.onState(s, this.lastError);
  }

  /** Disconnects; the session stays at the broker (what is unacknowledged is sent again). */
  async stop(timeoutMs = 3000): Promise<void> {
    this.stopping = true;
    const c = this.client;
    if (!c) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => c.end(false, {}, () => resolve())), new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
    if (t) clearTimeout(t);
    c.removeAllListeners();
  }
}
