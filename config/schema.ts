/**
 * The agent's configuration schema (DESIGN.md §6). Parsed at the edge with zod and typed inside.
 * Every default lives here, next to its option. Unknown keys are errors (a typo must not be ignored).
 * config/schema.json is generated from this file: `npm run schema`.
 */
import { z } from 'zod';

const id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'use letters, digits, "_", ".", ":" or "-" (no spaces or "/")');

const port = z.number().int().min(0).max(65535);

const signal = z
  .string()
  .min(1)
  .regex(/^[a-z][a-z0-9_]*$|^\{\d+\}$/, 'a signal is snake_case (energy_kwh, parts_total, state …) or a capture like "{1}"');

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

/** Fields common to every tag mapping, whatever the protocol. */
const mappingFields = {
  machine: z.string().min(1),
  signal,
  /** multiply the raw value (e.g. 0.001 for Wh → kWh) */
  scale: z.number().finite().optional(),
  /** counters: the raw value (before scale) at which the counter wraps to 0 */
  rollover: z.number().positive().optional(),
  /** gauges/states: silence longer than this marks the tag stale on the dashboard */
  staleAfterS: z.number().positive().optional(),
};

/** OPC UA DataChangeFilter deadband: absolute (in the node's unit) or percent of its EURange. */
export const opcuaDeadbandSchema = z.strictObject({
  type: z.enum(['absolute', 'percent']),
  value: z.number().nonnegative(),
});

export const opcuaTagSchema = z.strictObject({
  nodeId: z
    .string()
    .min(1)
    .regex(/^(ns=\d+;)?(i=\d+|s=.+|g=[0-9a-fA-F-]{36}|b=.+)$|^nsu=.+;(i|s|g|b)=.+$/, 'an OPC UA NodeId like "ns=2;s=Printer1.Energy" or "ns=3;i=1001"'),
  ...mappingFields,
  samplingIntervalMs: z.number().int().nonnegative().optional(),
  /** values the server keeps between publishes (1 = the latest only); default: the source's */
  queueSize: z.number().int().min(1).max(10_000).optional(),
  /** when the queue is full, drop the oldest value (true) or the newest (false); default: the source's */
  discardOldest: z.boolean().optional(),
  /** report a change only beyond this deadband (numeric nodes); default: the source's (none) */
  deadband: opcuaDeadbandSchema.optional(),
});

export const opcuaSourceSchema = z.strictObject({
  id,
  type: z.literal('opcua'),
  endpoint: z.string().regex(/^opc\.tcp:\/\/[^\s/:]+(:\d+)?(\/.*)?$/, 'an endpoint like opc.tcp://10.0.0.5:4840'),
  securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('None'),
  securityPolicy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']).default('None'),
  auth: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('anonymous') }),
      z.strictObject({ type: z.literal('username'), username: z.string().min(1), password: z.string() }),
      z.strictObject({ type: z.literal('certificate'), cert: z.string().min(1), key: z.string().min(1) }),
    ])
    .default({ type: 'anonymous' }),
  /** trust any server certificate without asking (logged as a warning at every connect); keep it off */
  autoAcceptUnknownCertificates: z.boolean().default(false),
  samplingIntervalMs: z.number().int().nonnegative().default(1000),
  queueSize: z.number().int().min(1).max(10_000).default(10),
  discardOldest: z.boolean().default(true),
  deadband: opcuaDeadbandSchema.optional(),
  /** tags per subscription; more tags make more subscriptions */
  maxItemsPerSubscription: z.number().int().min(1).max(100_000).default(10_000),
  /** monitored items per CreateMonitoredItems call (many PLC servers refuse more than 1000) */
  maxItemsPerCall: z.number().int().min(1).max(1000).default(1000),
  /** notifications per Publish response (0: as many as the server sends); small responses keep the agent's memory flat */
  maxNotificationsPerPublish: z.number().int().min(0).max(100_000).default(1000),
  /** a subscription reports at least this often (data or keep-alive); silence past twice this rebuilds it */
  keepAliveMs: z.number().int().min(100).max(600_000).default(10_000),
  /** connect, open a session and subscribe within this time, or try again */
  connectTimeoutMs: z.number().int().min(1000).default(15_000),
  /** the session the server keeps while the agent is unreachable */
  sessionTimeoutMs: z.number().int().min(1000).default(60_000),
  /** capped exponential backoff between connection attempts */
  reconnect: z
    .strictObject({ minMs: z.number().int().min(10).default(1000), maxMs: z.number().int().min(10).default(30_000) })
    .default({ minMs: 1000, maxMs: 30_000 }),
  tags: z.array(opcuaTagSchema).min(1),
});

/** A JSON field mapping: a dotted path ("energy.kwh", "samples.0.v"), or a path with its own scale/rollover. */
const fieldMapping = z.union([
  z.string().min(1),
  z.strictObject({ path: z.string().min(1), scale: z.number().finite().optional(), rollover: z.number().positive().optional() }),
]);

export const mqttTopicSchema = z
  .strictObject({
    /** MQTT topic filter; each "+" is a capture usable as "{1}", "{2}" … in machine or signal */
    filter: z.string().min(1).refine(validTopicFilter, 'an MQTT topic filter ("+" and "#" only as whole levels, "#" last)'),
    format: z.enum(['json', 'plain', 'order-events']).default('json'),
    machine: z.string().min(1).optional(),
    /** plain payloads: the signal the value maps to */
    signal: signal.optional(),
    scale: z.number().finite().optional(),
    rollover: z.number().positive().optional(),
    timestamp: z
      .strictObject({ field: z.string().min(1), unit: z.enum(['ms', 's', 'iso']).default('ms') })
      .optional(),
    /** json payloads: signal → field path */
    fields: z.record(signal, fieldMapping).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.format !== 'order-events' && !t.machine) {
      ctx.addIssue({ code: 'custom', path: ['machine'], message: `a "${t.format}" topic needs "machine" (a name or a capture like "{1}")` });
    }
    if (t.format === 'json' && (!t.fields || Object.keys(t.fields).length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['fields'], message: 'a json topic needs "fields" mapping signals to payload paths' });
    }
    if (t.format === 'plain' && !t.signal) {
      ctx.addIssue({ code: 'custom', path: ['signal'], message: 'a plain topic needs "signal"' });
    }
    const captures = (t.filter.match(/\+/g) ?? []).length;
    for (const [key, v] of [['machine', t.machine], ['signal', t.signal]] as const) {
      for (const m of (v ?? '').matchAll(/\{(\d+)\}/g)) {
        const n = Number(m[1]);
        if (n < 1 || n > captures) {
          ctx.addIssue({ code: 'custom', path: [key], message: `capture {${n}} does not exist: the filter has ${captures} "+" level(s)` });
        }
      }
    }
  });

function validTopicFilter(f: string): boolean {
  const levels = f.split('/');
  return levels.every((l, i) => (l.includes('+') ? l === '+' : true) && (l.includes('#') ? l === '#' && i === levels.length - 1 : true));
}

export const mqttSourceSchema = z.strictObject({
  id,
  type: z.literal('mqtt'),
  url: z.string().regex(/^(mqtts?|wss?):\/\/.+/, 'a broker URL like mqtt://host:1883, mqtts://, ws:// or wss://'),
  clientId: z.string().min(1).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  protocolVersion: z.union([z.literal(4), z.literal(5)]).default(4),
  qos: z.union([z.literal(0), z.literal(1)]).default(1),
  /** a persistent session: the broker keeps QoS 1 messages while the agent is away */
  clean: z.boolean().default(false),
  maxPayloadBytes: z.number().int().positive().default(256 * 1024),
  /** seconds between keep-alive pings */
  keepaliveS: z.number().int().min(0).max(65535).default(30),
  /** mqtts:// and wss://: files in PEM format (paths relative to the working directory) */
  tls: z
    .strictObject({
      /** CA certificate(s) that signed the broker's certificate (default: the system's CAs) */
      ca: z.string().min(1).optional(),
      /** client certificate and its private key, for brokers that authenticate clients by certificate */
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      /** false accepts any broker certificate: only for a lab, never in a plant */
      rejectUnauthorized: z.boolean().default(true),
      /** the name to check the broker certificate against, when it differs from the URL's host */
      servername: z.string().min(1).optional(),
    })
    .refine((t) => (t.cert === undefined) === (t.key === undefined), 'tls.cert and tls.key go together')
    .optional(),
  topics: z.array(mqttTopicSchema).default([]),
  /** Sparkplug B host: decode births, data and deaths of edge nodes and map metrics to machines */
  sparkplug: z
    .strictObject({
      /** Sparkplug group ids to subscribe to; default all ("+") */
      groups: z.array(z.string().min(1).regex(/^[^/+#]+$/, 'a group id without "/", "+" or "#"')).min(1).default(['+']),
      /** send an NCMD "Node Control/Rebirth" on a seq gap or data before a birth (the only message the agent ever sends to a device) */
      rebirth: z.boolean().default(true),
      /** seconds before a rebirth request for the same edge node may be repeated */
      rebirthHoldoffS: z.number().positive().default(10),
      /** first matching rule wins; metrics no rule matches are ignored */
      metrics: z.array(sparkplugMetricRuleSchema()).min(1),
    })
    .optional(),
}).superRefine((s, ctx) => {
  if (s.topics.length === 0 && !s.sparkplug) {
    ctx.addIssue({ code: 'custom', path: ['topics'], message: 'an mqtt source needs "topics" (or a "sparkplug" block)' });
  }
});

/**
 * A Sparkplug metric rule. Patterns use "*" for any text (metric names contain "/");
 * machine and signal may use {group}, {node}, {device}, {metric} and {1}, {2} … for the "*" of
 * the metric pattern. A signal that is not snake_case after filling is made so ("Energy/Total" → energy_total).
 */
function sparkplugMetricRuleSchema() {
  return z.strictObject({
    group: z.string().min(1).default('*'),
    node: z.string().min(1).default('*'),
    /** "" matches node-level metrics (NBIRTH/NDATA); default "*" matches any device and the node itself */
    device: z.string().default('*'),
    metric: z.string().min(1),
    machine: z.string().min(1),
    signal: z.string().min(1),
    scale: z.number().finite().optional(),
    rollover: z.number().positive().optional(),
  });
}

export const modbusRegisterSchema = z
  .strictObject({
    ...mappingFields,
    table: z.enum(['holding', 'input', 'coil', 'discrete']).default('holding'),
    /** 0-based protocol address (register 40001 is holding address 0) */
    address: z.number().int().min(0).max(65535),
    /** default uint16 for registers, bool for coils and discrete inputs */
    type: z.enum(['int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'bool']).optional(),
    /** multi-register values: "big" = high word first (Modicon), "little" = low word first */
    wordOrder: z.enum(['big', 'little']).default('big'),
    /** bytes inside each register: "big" as Modbus specifies, "little" for swapped-byte devices */
    byteOrder: z.enum(['big', 'little']).default('big'),
    /** added after scale: value = raw × scale + offset */
    offset: z.number().finite().optional(),
  })
  .superRefine((r, ctx) => {
    if ((r.table === 'coil' || r.table === 'discrete') && r.type !== undefined && r.type !== 'bool') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `a ${r.table} is one bit: use type bool (or leave type out)` });
    }
  });

/** Registers polled together at their own interval (fast power readings, slow energy counters). */
export const modbusGroupSchema = z.strictObject({
  name: z.string().min(1).optional(),
  intervalMs: z.number().int().min(10),
  registers: z.array(modbusRegisterSchema).min(1),
});

/** One Modbus TCP device (or one unit id behind a gateway): its own connection and timers. */
const modbusDeviceFields = {
  port: port.default(502),
  unitId: z.number().int().min(0).max(255).default(1),
  /** interval of `registers` (groups have their own) */
  intervalMs: z.number().int().min(10).default(1000),
  /** a request unanswered this long counts as a failure; the device is reconnected with backoff */
  timeoutMs: z.number().int().positive().default(1000),
  registers: z.array(modbusRegisterSchema).default([]),
  groups: z.array(modbusGroupSchema).default([]),
};

export const modbusDeviceSchema = z.strictObject({ id, host: z.string().min(1), ...modbusDeviceFields });

export const modbusSourceSchema = z
  .strictObject({
    id,
    type: z.literal('modbus'),
    /** the single-device form; several devices go under `devices` */
    host: z.string().min(1).optional(),
    ...modbusDeviceFields,
    devices: z.array(modbusDeviceSchema).default([]),
    /** reconnect backoff after a failure: doubles from min to max */
    reconnect: z
      .strictObject({ minMs: z.number().int().positive().default(1000), maxMs: z.number().int().positive().default(30_000) })
      .default({ minMs: 1000, maxMs: 30_000 }),
  })
  .superRefine((s, ctx) => {
    const own = s.registers.length + s.groups.length;
    if (s.host === undefined && own > 0) ctx.addIssue({ code: 'custom', path: ['host'], message: 'registers need a "host" (or move them under devices[])' });
    if (s.host !== undefined && own === 0) ctx.addIssue({ code: 'custom', path: ['registers'], message: `device ${s.host} has no registers or groups` });
    if (s.host === undefined && s.devices.length === 0) ctx.addIssue({ code: 'custom', path: ['host'], message: 'a modbus source needs "host" and "registers", or "devices"' });
    s.devices.forEach((d, i) => {
      if (d.registers.length + d.groups.length === 0) ctx.addIssue({ code: 'custom', path: ['devices', i, 'registers'], message: `device "${d.id}" has no registers or groups` });
    });
  });

/** Every register of a modbus source with its path in the config, for checks and tooling. */
export function modbusRegisterPaths(s: z.output<typeof modbusSourceSchema>): { path: (string | number)[]; register: z.output<typeof modbusRegisterSchema> }[] {
  const out: { path: (string | number)[]; register: z.output<typeof modbusRegisterSchema> }[] = [];
  const device = (d: { registers: z.output<typeof modbusRegisterSchema>[]; groups: z.output<typeof modbusGroupSchema>[] }, base: (string | number)[]): void => {
    d.registers.forEach((r, i) => out.push({ path: [...base, 'registers', i], register: r }));
    d.groups.forEach((g, gi) => g.registers.forEach((r, i) => out.push({ path: [...base, 'groups', gi, 'registers', i], register: r })));
  };
  device(s, []);
  s.devices.forEach((d, i) => device(d, ['devices', i]));
  return out;
}

export const sourceSchema = z.discriminatedUnion('type', [opcuaSourceSchema, mqttSourceSchema, modbusSourceSchema]);

const stateName = z.enum(['running', 'idle', 'down', 'planned_stop']);

export const machineSchema = z.strictObject({
  id,
  name: z.string().min(1).optional(),
  line: z.string().min(1).default('default'),
  product: z.string().min(1).optional(),
  /** seconds per unit at rated speed, for OEE performance */
  idealCycleTimeS: z.number().positive().optional(),
  /** raw state codes (numbers or text) → state */
  stateMap: z.record(z.string(), stateName).default({}),
  /** a held value (power, state) ends after this long without a new sample */
  maxHoldS: z.number().positive().default(3600),
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
      })
      .default({ host: '127.0.0.1', port: 8080 }),
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
        synchronous: z.enum(['NORMAL', 'FULL']).default('NORMAL'),
        batchRows: z.number().int().min(1).max(1000).default(1000),
        batchMs: z.number().int().min(1).max(100).default(100),
        /** minute rollups are kept this long (hour rollups: rollupHourDays) */
        rollupMinuteDays: z.number().positive().default(14),
        rollupHourDays: z.number().positive().default(730),
      })
      .default({ maxBytes: 2 * 1024 ** 3, retainDays: 14, synchronous: 'NORMAL', batchRows: 1000, batchMs: 100, rollupMinuteDays: 14, rollupHourDays: 730 }),
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
    // Tags must name configured machines (captures like "{1}" are resolved at run time).
    const machines = new Set(cfg.machines.map((m) => m.id));
    cfg.sources.forEach((s, si) => {
      if (s.type === 'mqtt') {
        s.topics.forEach((t, ti) => {
          if (t.machine !== undefined && !/\{\d+\}/.test(t.machine) && !machines.has(t.machine)) {
            ctx.addIssue({ code: 'custom', path: ['sources', si, 'topics', ti, 'machine'], message: `unknown machine "${t.machine}": add it under machines[]` });
          }
        });
      }
      const list = s.type === 'opcua' ? s.tags.map((t, ti) => ({ path: ['tags', ti], machine: t.machine })) : s.type === 'modbus' ? modbusRegisterPaths(s).map((r) => ({ path: r.path, machine: r.register.machine })) : [];
      list.forEach((t) => {
        if (!machines.has(t.machine)) {
          ctx.addIssue({ code: 'custom', path: ['sources', si, ...t.path, 'machine'], message: `unknown machine "${t.machine}": add it under machines[]` });
        }
      });
      if (s.type === 'mqtt' && s.sparkplug) {
        s.sparkplug.metrics.forEach((r, ri) => {
          if (!/\{[^}]+\}/.test(r.machine) && !machines.has(r.machine)) {
            ctx.addIssue({ code: 'custom', path: ['sources', si, 'sparkplug', 'metrics', ri, 'machine'], message: `unknown machine "${r.machine}": add it under machines[]` });
          }
        });
      }
    });
    if (cfg.http.host !== '127.0.0.1' && cfg.http.host !== 'localhost' && cfg.http.host !== '::1' && !cfg.http.token) {
      ctx.addIssue({ code: 'custom', path: ['http', 'token'], message: `binding to ${cfg.http.host} requires http.token (the dashboard would be open to the network)` });
    }
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type OpcuaSourceConfig = z.output<typeof opcuaSourceSchema>;
export type OpcuaTagConfig = z.output<typeof opcuaTagSchema>;
export type OpcuaDeadband = z.output<typeof opcuaDeadbandSchema>;
export type MqttSourceConfig = z.output<typeof mqttSourceSchema>;
export type MqttTopicConfig = z.output<typeof mqttTopicSchema>;
export type ModbusSourceConfig = z.output<typeof modbusSourceSchema>;
export type ModbusRegisterConfig = z.output<typeof modbusRegisterSchema>;
export type ModbusDeviceConfig = z.output<typeof modbusDeviceSchema>;
export type SparkplugConfig = NonNullable<MqttSourceConfig['sparkplug']>;
export type MachineConfig = z.output<typeof machineSchema>;
export type ShiftConfig = z.output<typeof shiftSchema>;
