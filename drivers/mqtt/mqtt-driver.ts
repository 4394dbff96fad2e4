/**
 * MQTT source: subscribes to topic filters (and Sparkplug B groups) and maps messages to
 * samples (mqtt-ingest.ts). At QoS 1 a message is acknowledged only after its samples are
 * committed: MQTT.js sends the PUBACK when handleMessage's callback runs, so we commit
 * synchronously inside it (better-sqlite3 is synchronous; a WAL commit costs tens of µs).
 * With a persistent session (clean: false) the broker redelivers anything the agent had
 * not acknowledged when it died.
 */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { Driver, DriverContext } from '../driver.ts';
import type { MqttSourceConfig } from '../../config/schema.ts';
import { MqttIngest } from './mqtt-ingest.ts';

export interface MqttDriverOptions {
  /** client id when the config gives none: stable per agent and source, so the session persists */
  defaultClientId: string;
  reconnectPeriodMs: number;
  connectTimeoutMs: number;
}

export const MQTT_DRIVER_DEFAULTS: MqttDriverOptions = {
  defaultClientId: 'shopfloor-agent',
  reconnectPeriodMs: 1000,
  connectTimeoutMs: 10_000,
};

/** TLS material read from the files the config names; a problem is a reason, not a throw. */
export function tlsOptions(config: MqttSourceConfig): { ok: true; options: Partial<IClientOptions> } | { ok: false; reason: string } {
  const t = config.tls;
  if (!t) return { ok: true, options: {} };
  const options: Partial<IClientOptions> = { rejectUnauthorized: t.rejectUnauthorized };
  if (t.servername) options.servername = t.servername;
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = t[key];
    if (file === undefined) continue;
    try {
      options[key] = readFileSync(file);
    } catch (e) {
      return { ok: false, reason: `cannot read tls.${key} "${file}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; fix the path in the source's tls block` };
    }
  }
  return { ok: true, options };
}

export class MqttDriver implements Driver {
  readonly type = 'mqtt';
  readonly id: string;
  private client: MqttClient | undefined;
  private readonly ingest: MqttIngest;
  private readonly options: MqttDriverOptions;

  constructor(
    private readonly config: MqttSourceConfig,
    options: Partial<MqttDriverOptions> = {},
  ) {
    this.id = config.id;
    this.options = { ...MQTT_DRIVER_DEFAULTS, ...options };
    this.ingest = new MqttIngest(config);
  }

  async start(ctx: DriverContext): Promise<void> {
    const tls = tlsOptions(this.config);
    if (!tls.ok) {
      ctx.setState('error', tls.reason);
      return;
    }
    ctx.setState('connecting');
    const client = mqtt.connect(this.config.url, {
      clientId: this.config.clientId ?? this.options.defaultClientId,
      clean: this.config.clean,
      protocolVersion: this.config.protocolVersion,
      username: this.config.username,
      password: this.config.password,
      keepalive: this.config.keepaliveS,
      reconnectPeriod: this.options.reconnectPeriodMs,
      connectTimeout: this.options.connectTimeoutMs,
      resubscribe: true,
      ...tls.options,
    });
    this.client = client;
    const filters = this.ingest.filters();
    client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void) => {
      let rebirth: { topic: string; payload: Uint8Array } | undefined;
      try {
        const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
        rebirth = this.ingest.ingest(ctx, packet.topic, payload, Date.now()).rebirth;
      } catch (err) {
        // The commit failed (disk full, I/O error): do not acknowledge. Dropping the
        // connection makes the broker redeliver once we are back.
        ctx.log.error({ err, source: this.id }, 'could not store message; reconnecting without acknowledging it');
        client.stream.destroy();
        return;
      }
      callback();
      if (rebirth) {
        ctx.log.info({ topic: rebirth.topic }, 'sparkplug: requesting a rebirth (seq gap or data before birth)');
        client.publish(rebirth.topic, Buffer.from(rebirth.payload), { qos: 0, retain: false });
      }
    };
    client.on('connect', (connack) => {
      ctx.setState('connected');
      // With a resumed session the broker still has our subscriptions; otherwise subscribe.
      if (!connack.sessionPresent || this.config.clean) {
        client.subscribe(filters, { qos: this.config.qos }, (err) => {
          if (err) ctx.setState('error', `subscribe failed: ${err.message}`);
        });
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
}
