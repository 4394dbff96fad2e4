/**
 * The fleet aggregator's configuration (DESIGN.md §6 "Fleet"): `shopfloor-agent fleet -c fleet.yaml`.
 * Parsed at the edge with zod like the agent's config; every default lives here, next to its
 * option; unknown keys are errors. config/fleet-schema.json is generated from this file
 * (`npm run schema`).
 */
import { z } from 'zod';
import { id, port } from '../drivers/mapping-schema.ts';
import { configSchema } from './schema.ts';
import { loadWithSchema, type LoadConfigOptions, type SchemaResult } from './loader.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** MQTT topic levels: no wildcards, no empty level at either end. */
const topicPrefix = z
  .string()
  .min(1)
  .regex(/^[^#+$\u0000]+$/, 'a topic prefix without "+", "#" or "$"')
  .refine((s) => !s.startsWith('/') && !s.endsWith('/'), 'no "/" at the start or the end');

/** A JetStream stream name (no ".", "*", ">" or spaces). */
const streamName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a stream name of letters, digits, "_" and "-"');

/** `broker.jetstream`: the streams and consumer the fleet creates or checks at start-up (agent/fleet/ingest/jetstream-transport.ts). */
export const jetstreamSchema = z.strictObject({
  /** the work stream: `{p}.*.*.samples` and `{p}.*.*.hours.*`, consumed by the group's one durable consumer */
  stream: streamName.default('SHOPFLOOR_UPSTREAM'),
  /** the state stream: `{p}.*.*.status` and `{p}.*.*.plant`, the last message per subject, read whole by every worker */
  stateStream: streamName.default('SHOPFLOOR_STATE'),
  /** copies of each stream in the cluster (1, 3 or 5 in practice); cannot change once a stream exists */
  replicas: z.number().int().min(1).max(5).default(1),
  storage: z.enum(['file', 'memory']).default('file'),
  /**
   * limits: messages stay until maxAgeS / maxBytes (several groups may read; nothing is lost
   * before the first consumer exists); interest: removed once every group's consumer acked;
   * workqueue: removed on ack, one group only. Cannot change once the stream exists.
   */
  retention: z.enum(['limits', 'interest', 'workqueue']).default('limits'),
  /** the work stream drops messages older than this, s */
  maxAgeS: z.number().int().min(60).max(10 * 365 * 86_400).default(7 * 86_400),
  /** the work stream's size limit, bytes (the oldest are dropped beyond it); -1: none */
  maxBytes: z.number().int().min(-1).default(-1),
  /** a message published again with the same `Nats-Msg-Id` within this window is dropped by the stream, s */
  duplicateWindowS: z.number().int().min(1).max(86_400).default(120),
  /** a message delivered and not acknowledged this long is delivered again (to any worker), s */
  ackWaitS: z.number().int().min(1).max(3600).default(30),
  /** messages delivered and not yet acknowledged across all workers of the group: at least ingest.maxPending × workers, or some workers wait */
  maxAckPending: z.number().int().min(1).max(1_000_000).default(1000),
});

export type JetStreamConfig = z.output<typeof jetstreamSchema>;

/** The JetStream settings of a nats:// config without a `broker.jetstream` block. */
export function jetstreamDefaults(): JetStreamConfig {
  return jetstreamSchema.parse({});
}

/** What an mqtt:// broker reads and a nats:// one cannot honour: a value other than the default is an error. */
const MQTT_ONLY = { sessionExpiryS: 7 * 86_400, mqttVersion: 5, shared: true } as const;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export const fleetConfigSchema = z
  .strictObject({
    fleet: z.strictObject({
      /** names this fleet process: its MQTT client id (persistent session), or its NATS connection name, is `shopfloor-fleet-<id>` */
      id,
      dataDir: z.string().min(1).default('./fleet-data'),
      logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    }),
    broker: z.strictObject({
      /**
       * mqtt:// or mqtts://: an MQTT 5 broker, shared subscription per `group`; nats://: a NATS
       * cluster with JetStream (agents reach it through its MQTT listener), several seed URLs
       * comma-separated (`nats://n1:4222,nats://n2:4222`)
       */
      url: z
        .string()
        .regex(/^(mqtts?|nats):\/\/[^\s]+$/, 'a broker URL like mqtts://central.example:8883 or nats://n1:4222,nats://n2:4222')
        .refine((u) => !u.includes(',') || u.split(',').every((x) => /^nats:\/\/[^\s,]+$/.test(x)), 'several URLs (a seed list) only as nats://…,nats://…'),
      topicPrefix: topicPrefix.default('shopfloor'),
      /** the shared-subscription group (`$share/<group>/…`): fleet processes of one group split the load */
      group: id.default('shopfloor-fleet'),
      username: z.string().optional(),
      password: z.string().optional(),
      /** PEM files for mqtts:// or a nats:// cluster with TLS */
      ca: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      rejectUnauthorized: z.boolean().default(true),
      /** how long the broker keeps this process's session (and queues QoS 1 messages) while it is away */
      sessionExpiryS: z.number().int().min(60).max(0xffffffff).default(MQTT_ONLY.sessionExpiryS),
      /**
       * 4 = MQTT 3.1.1, for a broker without MQTT 5 (the demo's embedded one): a persistent
       * session without expiry and without Receive Maximum, and each message acknowledged on
       * receipt, not after the commit (agents with `upstream.confirm: fleet` resend what the
       * fleet did not store)
       */
      mqttVersion: z.union([z.literal(5), z.literal(4)]).default(MQTT_ONLY.mqttVersion),
      /** false: plain subscriptions, for a broker without shared subscriptions; run one fleet process on it */
      shared: z.boolean().default(MQTT_ONLY.shared),
      /** nats:// only: the JetStream streams and the group's consumer (absent: all defaults) */
      jetstream: jetstreamSchema.optional(),
    }),
    database: z
      .strictObject({
        /** PostgreSQL; absent: SQLite in fleet.dataDir (the embedded default) */
        url: z.string().regex(/^postgres(ql)?:\/\/.+/, 'a PostgreSQL URL like postgres://fleet@db.example/fleet').optional(),
        /** the PostgreSQL schema the tables live in (one per fleet instance) */
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier like fleet or fleet_eu')
          .default('fleet'),
      })
      .default({ schema: 'fleet' }),
    ingest: z
      .strictObject({
        /** a transaction commits at this many sample rows … */
        batchRows: z.number().int().min(1).max(100_000).default(20_000),
        /** … or this long after its first message */
        batchMs: z.number().int().min(1).max(5000).default(100),
        /** unacknowledged messages held at most (the broker's in-flight window for this client) */
        maxPending: z.number().int().min(1).max(65_535).default(100),
        /** a larger payload is dead-lettered */
        maxPayloadBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(16 * 1024 * 1024),
        /** a retained confirmation per agent is published at most this often */
        confirmIntervalMs: z.number().int().min(0).max(60_000).default(200),
      })
      .default({ batchRows: 20_000, batchMs: 100, maxPending: 100, maxPayloadBytes: 16 * 1024 * 1024, confirmIntervalMs: 200 }),
    http: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8090),
        token: z.string().min(16, 'a token of at least 16 characters').optional(),
        /** `Host` names the dashboard answers besides the bind address and this machine's (a proxy's, a DNS name); "*" turns the check off */
        allowedHosts: z.array(z.string().min(1).max(253)).max(64).default([]),
      })
      .default({ host: '127.0.0.1', port: 8090, allowedHosts: [] }),
    benchmarks: configSchema.shape.benchmarks,
  })
  .superRefine((cfg, ctx) => {
    checkBroker(cfg.broker, ctx);
    const js = cfg.broker.jetstream;
    if (js && js.maxAckPending < cfg.ingest.maxPending) {
      ctx.addIssue({ code: 'custom', path: ['broker', 'jetstream', 'maxAckPending'], message: `broker.jetstream.maxAckPending (${js.maxAckPending}, the whole group's) is below ingest.maxPending (${cfg.ingest.maxPending}, one worker's): a worker could never hold a full batch` });
    }
    if (!LOOPBACK.has(cfg.http.host) && !cfg.http.token) {
      ctx.addIssue({ code: 'custom', path: ['http', 'token'], message: `binding to ${cfg.http.host} requires http.token (the fleet API would be open to the network)` });
    }
  });

type BrokerInput = { url: string; topicPrefix: string; group: string; jetstream?: JetStreamConfig | undefined } & { -readonly [K in keyof typeof MQTT_ONLY]: number | boolean };

/** The transport's own rules: JetStream keys only with nats://, MQTT-only keys only with mqtt(s)://, NATS-safe names. */
function checkBroker(b: BrokerInput, ctx: z.RefinementCtx): void {
  const issue = (key: string, message: string, ...sub: string[]): void => ctx.addIssue({ code: 'custom', path: ['broker', key, ...sub], message });
  if (!b.url.startsWith('nats://')) {
    if (b.jetstream) issue('jetstream', 'broker.jetstream applies to a nats:// broker only: remove it or use broker.url: nats://…');
    return;
  }
  for (const [key, def] of Object.entries(MQTT_ONLY)) {
    if (b[key as keyof typeof MQTT_ONLY] !== def) issue(key, `broker.${key} applies to mqtt:// and mqtts:// only (JetStream has no MQTT session): remove it`);
  }
  // NATS's MQTT listener refuses topics with "." or " " (they are subject separators)
  if (/[.\s*>]/.test(b.topicPrefix)) issue('topicPrefix', 'with nats:// a topic prefix without ".", spaces, "*" or ">" (NATS subjects)');
  if (/[.\s*>]/.test(b.group)) issue('group', 'with nats:// a group without "." (it names the JetStream consumer)');
  const js = b.jetstream;
  if (js && js.stream === js.stateStream) issue('jetstream', 'broker.jetstream.stream and stateStream must differ', 'stateStream');
  if (js && js.duplicateWindowS > js.maxAgeS) issue('jetstream', 'broker.jetstream.duplicateWindowS cannot be longer than maxAgeS', 'duplicateWindowS');
}

export type FleetConfig = z.output<typeof fleetConfigSchema>;
export type FleetConfigInput = z.input<typeof fleetConfigSchema>;
export type FleetConfigResult = SchemaResult<FleetConfig>;

/** Parses, substitutes and validates fleet config text; a relative dataDir is resolved against `cwd`. */
export function loadFleetConfigText(text: string, opts: LoadConfigOptions = {}): FleetConfigResult {
  const res = loadWithSchema(text, fleetConfigSchema, 'at least fleet.id and broker.url (see config/fleet-example.yaml)', opts);
  if (res.ok) res.config.fleet.dataDir = resolve(opts.cwd ?? process.cwd(), res.config.fleet.dataDir);
  return res;
}

export function loadFleetConfigFile(path: string, env: Record<string, string | undefined> = process.env): FleetConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    return { ok: false, problems: [{ code: 'SFA_ERR_CONFIG_NOT_FOUND', path: '', message: `cannot read fleet config file ${path} (${why}): pass -c FILE` }] };
  }
  return loadFleetConfigText(text, { env, file: path });
}
