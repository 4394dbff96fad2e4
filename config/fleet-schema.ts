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

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export const fleetConfigSchema = z
  .strictObject({
    fleet: z.strictObject({
      /** names this fleet process: its MQTT client id (persistent session) is `shopfloor-fleet-<id>` */
      id,
      dataDir: z.string().min(1).default('./fleet-data'),
      logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    }),
    broker: z.strictObject({
      url: z
        .string()
        .regex(/^(mqtts?|nats):\/\/.+/, 'a broker URL like mqtts://central.example:8883')
        .refine((u) => !u.startsWith('nats://'), 'nats:// (JetStream) is not yet supported: use an mqtt:// or mqtts:// broker'),
      topicPrefix: topicPrefix.default('shopfloor'),
      /** the shared-subscription group (`$share/<group>/…`): fleet processes of one group split the load */
      group: id.default('shopfloor-fleet'),
      username: z.string().optional(),
      password: z.string().optional(),
      /** PEM files for mqtts:// */
      ca: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      rejectUnauthorized: z.boolean().default(true),
      /** how long the broker keeps this process's session (and queues QoS 1 messages) while it is away */
      sessionExpiryS: z.number().int().min(60).max(0xffffffff).default(7 * 86_400),
      /**
       * 4 = MQTT 3.1.1, for a broker without MQTT 5 (the demo's embedded one): a persistent
       * session without expiry and without Receive Maximum, and each message acknowledged on
       * receipt, not after the commit (agents with `upstream.confirm: fleet` resend what the
       * fleet did not store)
       */
      mqttVersion: z.union([z.literal(5), z.literal(4)]).default(5),
      /** false: plain subscriptions, for a broker without shared subscriptions; run one fleet process on it */
      shared: z.boolean().default(true),
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
    if (!LOOPBACK.has(cfg.http.host) && !cfg.http.token) {
      ctx.addIssue({ code: 'custom', path: ['http', 'token'], message: `binding to ${cfg.http.host} requires http.token (the fleet API would be open to the network)` });
    }
  });

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
