/** The config schema of an `mqtt` source (DESIGN.md §6), owned by this driver. */
import { z } from 'zod';
import { id, rollover, scale, signal, sourceInputFields, staleAfterS } from '../mapping-schema.ts';
import { sparkplugSchema } from '../sparkplug/sparkplug-schema.ts';

/** A JSON field mapping: a dotted path ("energy.kwh", "samples.0.v"), or a path with its own scale/rollover. */
export const mqttFieldMappingSchema = z.union([
  z.string().min(1),
  z.strictObject({ path: z.string().min(1), scale: scale.optional(), rollover: rollover.optional(), staleAfterS: staleAfterS.optional() }),
]);

export const mqttTopicSchema = z
  .strictObject({
    /** MQTT topic filter; each "+" is a capture usable as "{1}", "{2}" … in machine or signal */
    filter: z.string().min(1).refine(validTopicFilter, 'an MQTT topic filter ("+" and "#" only as whole levels, "#" last)'),
    format: z.enum(['json', 'plain', 'order-events']).default('json'),
    machine: z.string().min(1).optional(),
    /** plain payloads: the signal the value maps to */
    signal: signal.optional(),
    scale: scale.optional(),
    rollover: rollover.optional(),
    staleAfterS: staleAfterS.optional(),
    timestamp: z
      .strictObject({ field: z.string().min(1), unit: z.enum(['ms', 's', 'iso']).default('ms') })
      .optional(),
    /** json payloads: signal → field path */
    fields: z.record(signal, mqttFieldMappingSchema).optional(),
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
  ...sourceInputFields,
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
  sparkplug: sparkplugSchema.optional(),
}).superRefine((s, ctx) => {
  if (s.topics.length === 0 && !s.sparkplug) {
    ctx.addIssue({ code: 'custom', path: ['topics'], message: 'an mqtt source needs "topics" (or a "sparkplug" block)' });
  }
});


export type MqttSourceConfig = z.output<typeof mqttSourceSchema>;
export type MqttTopicConfig = z.output<typeof mqttTopicSchema>;
