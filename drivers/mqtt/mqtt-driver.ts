/**
 * MQTT source: subscribes to topic filters (and Sparkplug B groups) and maps messages to
 * samples (mqtt-ingest.ts). At QoS 1 a message is acknowledged (PUBACK) only after its
 * samples are committed; with a persistent session (clean: false) the broker redelivers
 * anything the agent had not acknowledged when it died.
 *
 * Group commit. MQTT.js handles incoming packets one at a time and sends the PUBACK from
 * handleMessage's callback; committing one SQLite transaction per message caps ingest at
 * the commit rate. Instead the driver lets MQTT.js go on to the next packet at once but
 * holds back the PUBACK itself (it intercepts the client's packet writer for PUBACKs only),
 * collects the samples of every message that arrived in the same turn of the event loop,
 * commits them in one transaction and only then writes the held PUBACKs, in order. When the
 * commit fails no PUBACK is sent and the connection is dropped, so the broker redelivers.
 * PUBACKs held for a connection that has since gone are discarded (never written to the next
 * connection, whose packet ids mean other messages); those messages are redelivered and
 * stored again (at least once). test/e2e/mqtt-sigkill.test.ts kills the agent mid-stream
 * and finds every message.
 */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { Driver, DriverContext } from '../driver.ts';
import type { Sample } from '../../agent/model/index.ts';
import type { MqttSourceConfig } from './mqtt-schema.ts';
import { MqttIngest } from './mqtt-ingest.ts';

export interface MqttDriverOptions {
  /** client id when the config gives none: stable per agent and source, so the session persists */
  defaultClientId: string;
  reconnectPeriodMs: number;
  connectTimeoutMs: number;
  /** a group is committed at once when it reaches this many samples (else at the end of the event-loop turn) */
  groupMaxSamples: number;
}

export const MQTT_DRIVER_DEFAULTS: MqttDriverOptions = {
  defaultClientId: 'shopfloor-agent',
  reconnectPeriodMs: 1000,
  connectTimeoutMs: 10_000,
  groupMaxSamples: 1000,
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
  private group: GroupCommit | undefined;
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
    const group = new GroupCommit(client, ctx, this.options.groupMaxSamples);
    this.group = group;
    const collect: DriverContext = { ...ctx, commit: (samples) => group.add(samples) };
    client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void) => {
      let rebirth: { topic: string; payload: Uint8Array } | undefined;
      try {
        const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
        rebirth = this.ingest.ingest(collect, packet.topic, payload, Date.now()).rebirth;
      } catch (err) {
        // a dead letter could not be stored (disk full, I/O error): do not acknowledge
        group.fail(err);
        return;
      }
      callback(); // MQTT.js goes on to the next packet; its PUBACK waits in the group
      if (rebirth) {
        ctx.log.info({ topic: rebirth.topic }, 'sparkplug: requesting a rebirth (seq gap or data before birth)');
        client.publish(rebirth.topic, Buffer.from(rebirth.payload), { qos: 0, retain: false });
      }
    };
    client.on('connect', (connack) => {
      // With a resumed session the broker still has our subscriptions; otherwise subscribe.
      // "connected" means messages flow: after the SUBACK, since a broker routes nothing to a
      // new session before its subscriptions exist (a publisher waiting for it would lose data).
      if (!connack.sessionPresent || this.config.clean) {
        client.subscribe(filters, { qos: this.config.qos }, (err, granted) => {
          if (err) ctx.setState('error', `subscribe failed: ${err.message}`);
          else {
            const refused = (granted ?? []).filter((g) => g.qos >= 0x80).map((g) => g.topic);
            if (refused.length > 0) ctx.setState('error', `subscribe refused by the broker for ${refused.join(', ')} (check its ACL)`);
            else ctx.setState('connected');
          }
        });
      } else ctx.setState('connected');
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
    this.group?.flush();
    await Promise.race([
      client.endAsync(false),
      new Promise<void>((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
    if (!client.disconnected) client.end(true);
  }
}

type PacketWriter = (packet: { cmd: string }, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

/**
 * Holds PUBACKs until the samples of their messages are committed (see the file comment).
 * Relies on MQTT.js sending every packet through client._sendPacket (true for MQTT.js 5;
 * the SIGKILL and commit-failure tests would catch a change).
 */
class GroupCommit {
  private samples: Sample[] = [];
  private acks: { packet: { cmd: string }; stream: unknown }[] = [];
  private scheduled = false;
  private readonly send: PacketWriter;

  constructor(
    private readonly client: MqttClient,
    private readonly ctx: DriverContext,
    private readonly maxSamples: number,
  ) {
    const c = client as unknown as { _sendPacket: PacketWriter };
    const original = c._sendPacket.bind(client) as PacketWriter;
    this.send = original;
    c._sendPacket = (packet, cb, ...rest) => {
      if (packet.cmd !== 'puback' && this.acks.length === 0) return original(packet, cb, ...rest);
      if (packet.cmd !== 'puback') {
        // keep the order of what we send: held PUBACKs go first
        this.flush();
        return original(packet, cb, ...rest);
      }
      this.acks.push({ packet, stream: client.stream });
      this.schedule();
      cb?.(); // the next incoming packet may be processed now
    };
  }

  add(samples: readonly Sample[]): void {
    for (const s of samples) this.samples.push(s);
    if (this.samples.length >= this.maxSamples) this.flush();
    else this.schedule();
  }

  /** Commit what was collected, then write the PUBACKs that waited for it. */
  flush(): void {
    this.scheduled = false;
    const samples = this.samples;
    const acks = this.acks;
    this.samples = [];
    this.acks = [];
    if (samples.length > 0) {
      try {
        this.ctx.commit(samples);
      } catch (err) {
        this.fail(err);
        return;
      }
    }
    for (const a of acks) {
      // a PUBACK belongs to the connection its message came on
      if (a.stream === this.client.stream && !this.client.stream.destroyed) this.send(a.packet);
    }
  }

  /** Nothing collected is acknowledged: drop the connection so that the broker redelivers. */
  fail(err: unknown): void {
    this.samples = [];
    this.acks = [];
    this.ctx.log.error({ err }, 'could not store messages; reconnecting without acknowledging them (the broker redelivers)');
    this.client.stream.destroy();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      if (this.scheduled) this.flush();
    });
  }
}
