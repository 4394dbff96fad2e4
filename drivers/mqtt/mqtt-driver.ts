/**
 * MQTT source: subscribes to topic filters and maps JSON / plain / order-event payloads
 * to samples. At QoS 1 a message is acknowledged only after its samples are committed
 * (MQTT.js sends the PUBACK when handleMessage's callback runs, so we commit synchronously
 * inside it); with a persistent session (clean: false) the broker redelivers anything the
 * agent had not acknowledged when it died.
 */
import mqtt from 'mqtt';
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Driver, DriverContext } from '../driver.ts';
import type { MqttSourceConfig } from '../../config/schema.ts';
import { decodeMessage, decodeOrderEvent, matchTopic, prepareTopic, type PreparedTopic } from './topic-mapping.ts';

export interface MqttDriverOptions {
  /** client id when the config gives none: stable per agent and source, so the session persists */
  defaultClientId: string;
  reconnectPeriodMs: number;
  connectTimeoutMs: number;
}

export class MqttDriver implements Driver {
  readonly type = 'mqtt';
  readonly id: string;
  private client: MqttClient | undefined;
  private readonly topics: PreparedTopic[];

  constructor(
    private readonly config: MqttSourceConfig,
    private readonly options: MqttDriverOptions,
  ) {
    this.id = config.id;
    this.topics = config.topics.map(prepareTopic);
  }

  async start(ctx: DriverContext): Promise<void> {
    ctx.setState('connecting');
    const client = mqtt.connect(this.config.url, {
      clientId: this.config.clientId ?? this.options.defaultClientId,
      clean: this.config.clean,
      protocolVersion: this.config.protocolVersion,
      username: this.config.username,
      password: this.config.password,
      reconnectPeriod: this.options.reconnectPeriodMs,
      connectTimeout: this.options.connectTimeoutMs,
      resubscribe: true,
    });
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void) => {
      try {
        this.handle(ctx, packet);
      } catch (err) {
        // The commit failed (disk full, I/O error): do not acknowledge. Dropping the
        // connection makes the broker redeliver once we are back.
        ctx.log.error({ err, source: this.id }, 'could not store message; reconnecting without acknowledging it');
        client.stream.destroy();
        return;
      }
      callback();
    };
    client.on('connect', (connack) => {
      ctx.setState('connected');
      // With a resumed session the broker still has our subscriptions; subscribing again is harmless.
      if (!connack.sessionPresent || this.config.clean) {
        client.subscribe(
          this.topics.map((t) => t.filter),
          { qos: this.config.qos },
          (err) => {
            if (err) ctx.setState('error', `subscribe failed: ${err.message}`);
          },
        );
      }
    });
    client.on('reconnect', () => ctx.setState('connecting'));
    client.on('close', () => ctx.setState('disconnected'));
    client.on('offline', () => ctx.setState('disconnected'));
    client.on('error', (err) => ctx.setState('error', err.message));
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await Promise.race([
      client.endAsync(false),
      new Promise<void>((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
    if (!client.disconnected) client.end(true);
  }

  private handle(ctx: DriverContext, packet: IPublishPacket): void {
    const topic = packet.topic;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const now = Date.now();
    if (payload.length > this.config.maxPayloadBytes) {
      ctx.deadLetter({ source: this.id, topic, reason: `payload of ${payload.length} bytes exceeds maxPayloadBytes ${this.config.maxPayloadBytes}`, payload });
      return;
    }
    for (const t of this.topics) {
      const captures = matchTopic(t.levels, topic);
      if (!captures) continue;
      const res =
        t.config.format === 'order-events'
          ? decodeOrderEvent(payload, now, t.config.machine)
          : decodeMessage(t, captures, payload, now);
      if (res.ok) ctx.commit(res.samples);
      else ctx.deadLetter({ source: this.id, topic, reason: res.reason, payload });
      return;
    }
    ctx.deadLetter({ source: this.id, topic, reason: 'no topic mapping matches', payload });
  }
}
