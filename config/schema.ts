/**
 * The agent's configuration schema (DESIGN.md §6). Parsed at the edge with zod and typed inside.
 * Every default lives here, next to its option. Unknown keys are errors (a typo must not be ignored).
 * config/schema.json is generated from this file: `npm run schema`.
 */
import { z } from 'zod';
import { id, port } from '../drivers/mapping-schema.ts';
import { descriptorOf, sourceSchema } from '../drivers/registry.ts';
import { isTemplate } from '../drivers/series-mapping.ts';
import { MACHINE_DEFAULTS } from './machine-defaults.ts';

export { sourceSchema } from '../drivers/registry.ts';
export type { SourceConfig } from '../drivers/registry.ts';
export { opcuaSourceSchema, opcuaTagSchema, opcuaDeadbandSchema } from '../drivers/opcua/opcua-schema.ts';
export type { OpcuaSourceConfig, OpcuaTagConfig, OpcuaDeadband } from '../drivers/opcua/opcua-schema.ts';
export { mqttSourceSchema, mqttTopicSchema } from '../drivers/mqtt/mqtt-schema.ts';
export type { MqttSourceConfig, MqttTopicConfig } from '../drivers/mqtt/mqtt-schema.ts';
export { modbusSourceSchema, modbusRegisterSchema, modbusDeviceSchema } from '../drivers/modbus/modbus-schema.ts';
export type { ModbusSourceConfig, ModbusRegisterConfig, ModbusDeviceConfig } from '../drivers/modbus/modbus-schema.ts';
export type { SparkplugConfig } from '../drivers/sparkplug/sparkplug-schema.ts';

/** Byte sizes: a number of bytes, or a string like "512MiB", "2GiB", "100MB". */
const byteSize = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$/i, 'a size like 2GiB, 512MiB or a number of bytes')
    .transform(parseByteSize)
    .pipe(z.number().int().positive('a size above 0')),
]);

export function parseByteSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(s);
  if (!m) return Number.NaN;
  const units: Record<string, number> = {
    '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
    kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
  };
  const mult = units[(m[2] ?? '').toLowerCase()];
  return mult === undefined ? Number.NaN : Math.round(Number(m[1]) * mult);
}

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a wall-clock time "HH:MM" (24 h)');

function isIanaZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const stateName = z.enum(['running', 'idle', 'down', 'planned_stop']);

export const machineSchema = z.strictObject({
  id,
  name: z.string().min(1).optional(),
  line: z.string().min(1).default(MACHINE_DEFAULTS.line),
  product: z.string().min(1).optional(),
  /** seconds per unit at rated speed, for OEE performance */
  idealCycleTimeS: z.number().positive().optional(),
  /** raw state codes (numbers or text) → state */
  stateMap: z.record(z.string(), stateName).default({}),
  /** a held value (power, state) ends after this long without a new sample */
  maxHoldS: z.number().positive().default(MACHINE_DEFAULTS.maxHoldS),
});

export const shiftSchema = z.strictObject({
  name: z.string().min(1),
  start: hhmm,
  end: hhmm,
  /** ISO weekdays the shift starts on (1 = Monday … 7 = Sunday); default every day */
  days: z.array(z.number().int().min(1).max(7)).min(1).optional(),
});

const baselineSchema = z.strictObject({
  energyPerUnitKwh: z.number().positive().optional(),
  leadTimeS: z.number().positive().optional(),
  scrapRate: z.number().min(0).max(1).optional(),
});

const tariffPeriodSchema = z.strictObject({
  name: z.string().min(1),
  start: hhmm,
  /** at or before start means the next day */
  end: hhmm,
  /** ISO weekdays the period starts on (1 = Monday … 7 = Sunday); default every day */
  days: z.array(z.number().int().min(1).max(7)).min(1).optional(),
  pricePerKwh: z.number().nonnegative(),
});

/** An energy tariff: one price, or prices by wall-clock time in site.timezone. */
export const tariffSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('flat'), pricePerKwh: z.number().nonnegative() }),
  z.strictObject({
    type: z.literal('time-of-use'),
    /** the price outside every period */
    pricePerKwh: z.number().nonnegative(),
    /** where periods overlap, the one listed first wins */
    periods: z.array(tariffPeriodSchema).min(1),
  }),
]);

const bandSchema = z.strictObject({
  band: z.tuple([z.number(), z.number()]),
  source: z.string().min(1),
});

export const configSchema = z
  .strictObject({
    site: z
      .strictObject({
        id,
        name: z.string().min(1).optional(),
        timezone: z.string().refine(isIanaZone, 'an IANA time zone like Europe/Berlin').default('UTC'),
        locale: z.string().min(2).default('en-GB'),
      }),
    agent: z
      .strictObject({
        id,
        dataDir: z.string().min(1).default('./data'),
        logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
      }),
    http: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8080),
        token: z.string().min(16, 'a token of at least 16 characters').optional(),
        /** more names the dashboard is reached by (a proxy, a DNS name); the bind address and localhost are always allowed; "*" turns the Host check off */
        allowedHosts: z.array(z.string().min(1).max(253)).max(64).default([]),
        /** origins allowed to frame the dashboard (kiosk portals); empty: no framing at all */
        frameAncestors: z.array(z.string().regex(/^(https?:\/\/[^\s;,']+|'self')$/, "an origin like https://portal.example or 'self'")).max(16).default([]),
        /** live streams (/api/stream) served at once; one more gets 503 */
        maxStreams: z.number().int().min(1).max(10_000).default(32),
        /** the query routes' budget; each key defaults to HTTP_QUERY_DEFAULTS (agent/http/query-budget.ts) */
        query: z
          .strictObject({
            maxRangeDays: z.number().positive().optional(),
            maxRows: z.number().int().positive().optional(),
            maxSeriesPoints: z.number().int().positive().optional(),
            deadlineS: z.number().positive().optional(),
            maxQueued: z.number().int().nonnegative().optional(),
            workerMemoryMb: z.number().int().min(64).optional(),
          })
          .optional(),
      })
      .default({ host: '127.0.0.1', port: 8080, allowedHosts: [], frameAncestors: [], maxStreams: 32 }),
    simulator: z
      .strictObject({
        enabled: z.boolean().default(false),
        opcuaPort: port.default(48401),
        mqttPort: port.default(18831),
        seed: z.number().int().default(42),
        /** simulated seconds per real second */
        speed: z.number().positive().max(1000).default(1),
      })
      .default({ enabled: false, opcuaPort: 48401, mqttPort: 18831, seed: 42, speed: 1 }),
    sources: z.array(sourceSchema).default([]),
    machines: z.array(machineSchema).default([]),
    shifts: z.array(shiftSchema).default([]),
    benchmarks: z
      .strictObject({
        baselines: z.record(z.string(), baselineSchema).default({}),
        bands: z
          .strictObject({
            energyPerUnit: bandSchema.optional(),
            leadTime: bandSchema.optional(),
            scrapRate: bandSchema.optional(),
            qaAccuracy: bandSchema.optional(),
            productLineVolume: bandSchema.optional(),
          })
          .default({}),
      })
      .default({ baselines: {}, bands: {} }),
    /** cost and carbon per unit (KPI rows `costPerUnit`, `co2ePerUnitKg`); without them those are null */
    energy: z
      .strictObject({
        currency: z.string().min(1).default('EUR'),
        tariff: tariffSchema.optional(),
        /** grid emission factor, kg CO2e per kWh */
        gridEmissionFactorKgPerKwh: z.number().nonnegative().optional(),
      })
      .default({ currency: 'EUR' }),
    buffer: z
      .strictObject({
        maxBytes: byteSize.default(2 * 1024 ** 3),
        retainDays: z.number().positive().default(14),
        /** a sample dated further ahead of its arrival than this is out of the accepted window (sources[].badTimestamp) */
        maxFutureS: z.number().positive().default(300),
        synchronous: z.enum(['NORMAL', 'FULL']).default('NORMAL'),
        batchRows: z.number().int().min(1).max(1000).default(1000),
        batchMs: z.number().int().min(1).max(100).default(100),
        /** minute rollups are kept this long (hour rollups: rollupHourDays) */
        rollupMinuteDays: z.number().positive().default(14),
        rollupHourDays: z.number().positive().default(730),
      })
      .default({ maxBytes: 2 * 1024 ** 3, retainDays: 14, maxFutureS: 300, synchronous: 'NORMAL', batchRows: 1000, batchMs: 100, rollupMinuteDays: 14, rollupHourDays: 730 }),
    upstream: z
      .strictObject({
        url: z.string().regex(/^(mqtts?|wss?):\/\/.+/, 'a broker URL like mqtts://central.example:8883'),
        topicPrefix: z.string().min(1).default('shopfloor'),
        clientId: z.string().min(1).optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        batchSize: z.number().int().min(1).max(10000).default(1000),
        /** batches published and not yet acknowledged (PUBACK), at most */
        inFlight: z.number().int().min(1).max(100).default(8),
        /** retained KPI snapshots per machine are re-published this often (0: only on connect) */
        kpiIntervalS: z.number().min(0).default(60),
        /** TLS (mqtts://, wss://): PEM files of the CA to trust and of a client certificate */
        ca: z.string().min(1).optional(),
        cert: z.string().min(1).optional(),
        key: z.string().min(1).optional(),
        /** verify the broker's certificate (turn off only for a test broker) */
        rejectUnauthorized: z.boolean().default(true),
        /** what lets retention delete a sample: the broker's PUBACK, or the fleet's retained confirmation (end-to-end) */
        confirm: z.enum(['broker', 'fleet']).default('broker'),
        /** with confirm: fleet, resend from the confirmed id when confirmation stays behind the broker's acknowledgements this long */
        confirmTimeoutS: z.number().positive().default(60),
      })
      .optional(),
  })
  .superRefine((cfg, ctx) => {
    const dup = (items: { id: string }[], path: string): void => {
      const seen = new Map<string, number>();
      items.forEach((it, i) => {
        const prev = seen.get(it.id);
        if (prev !== undefined) {
          ctx.addIssue({ code: 'custom', path: [path, i, 'id'], message: `duplicate id "${it.id}" (also ${path}[${prev}])` });
        } else seen.set(it.id, i);
      });
    };
    dup(cfg.sources, 'sources');
    dup(cfg.machines, 'machines');
    // Tags must name configured machines (templates like "{1}" are filled at run time).
    const machines = new Set(cfg.machines.map((m) => m.id));
    cfg.sources.forEach((s, si) => {
      const reported = new Set<string>();
      for (const m of descriptorOf(s).mappings(s)) {
        if (isTemplate(m.machine) || machines.has(m.machine)) continue;
        const path = ['sources', si, ...m.path.slice(0, m.path[0] === 'topics' ? 2 : m.path.length), 'machine'];
        const key = path.join('.');
        if (reported.has(key)) continue;
        reported.add(key);
        ctx.addIssue({ code: 'custom', path, message: `unknown machine "${m.machine}": add it under machines[]` });
      }
    });
    if (cfg.http.host !== '127.0.0.1' && cfg.http.host !== 'localhost' && cfg.http.host !== '::1' && !cfg.http.token) {
      ctx.addIssue({ code: 'custom', path: ['http', 'token'], message: `binding to ${cfg.http.host} requires http.token (the dashboard would be open to the network)` });
    }
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type MachineConfig = z.output<typeof machineSchema>;
export type ShiftConfig = z.output<typeof shiftSchema>;
