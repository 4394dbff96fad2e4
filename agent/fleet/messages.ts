/**
 * What agents publish upstream (DESIGN.md §6 "Upstream MQTT", notes/fleet-protocol.md), parsed
 * once at the fleet's edge with zod. Everything on the broker is hostile input: a message that
 * does not parse becomes a dead letter with its reason, never an exception in the ingest loop.
 */
import { z } from 'zod';
import type { KpiComponents } from '../kpi/index.ts';

/** A topic level: no wildcard, separator or control character (the agent's input boundary guarantees it). */
const level = z.string().min(1).max(128).regex(/^[^/+#\u0000-\u001f]+$/, 'a valid topic level');
const instance = z.string().min(1).max(64);
const sampleId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const cursorId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const epochMs = z.number().int().min(0).max(8.64e15);

const sampleSchema = z.object({
  id: sampleId,
  machine: level,
  signal: z.string().min(1).max(128),
  ts: epochMs,
  value: z.union([z.number(), z.string().max(65_536), z.boolean(), z.null()]),
  quality: z.enum(['good', 'uncertain', 'bad']),
});

export const samplesMessageSchema = z
  .object({
    agent: level,
    site: level,
    // an agent from before the fleet protocol sends neither: its ids are keyed under one
    // instance per agent, and each batch is taken to follow the previous id (gaps cannot be
    // told from drops, which only matters for the confirmation such an agent does not read)
    instance: instance.optional(),
    firstId: sampleId,
    lastId: sampleId,
    prevLastId: cursorId.optional(),
    samples: z.array(sampleSchema).min(1),
  })
  .transform((m) => ({ ...m, instance: m.instance ?? `legacy:${m.site}/${m.agent}`, prevLastId: m.prevLastId ?? m.firstId - 1 }))
  .superRefine((m, ctx) => {
    if (m.prevLastId >= m.firstId || m.firstId > m.lastId) ctx.addIssue({ code: 'custom', message: `ids must satisfy prevLastId < firstId ≤ lastId (${m.prevLastId}, ${m.firstId}, ${m.lastId})` });
    let prev = m.prevLastId;
    for (const s of m.samples) {
      if (s.id < m.firstId || s.id > m.lastId) {
        ctx.addIssue({ code: 'custom', message: `sample id ${s.id} is outside [firstId, lastId]` });
        return;
      }
      // the agent reads in id order; the store relies on it (no id twice in one batch)
      if (s.id <= prev) {
        ctx.addIssue({ code: 'custom', message: `sample ids must increase (${s.id} after ${prev})` });
        return;
      }
      prev = s.id;
    }
  });
export type SamplesMessage = z.output<typeof samplesMessageSchema>;

const count = z.number().finite().nullable();
/** the KPI row's `components` (agent/kpi/components.ts); extra keys are kept in the JSON column */
export const componentsSchema = z.looseObject({
  windowS: z.number().finite(),
  plannedS: z.number().finite(),
  runningS: z.number().finite(),
  idleS: z.number().finite(),
  downS: z.number().finite(),
  plannedStopS: z.number().finite(),
  unknownS: z.number().finite(),
  unscheduledS: z.number().finite(),
  energyKwh: count,
  unitsTotal: count,
  unitsGood: count,
  unitsScrap: count,
  idealS: count,
  qaInspected: count,
  qaRejected: count,
  qaEscaped: count,
  qaFalseReject: count,
  energyCost: count,
  co2eKg: count,
  orders: z.number().int().min(0),
  ordersFromRelease: z.number().int().min(0),
  leadTimeSumS: z.number().finite(),
  leadTimeMinS: count,
  leadTimeMaxS: count,
  leadTimeHist: z.record(z.string().regex(/^\d{1,5}$/), z.number().int().min(0)),
});

export const hoursMessageSchema = z.object({
  agent: level,
  site: level,
  instance,
  machine: level,
  // a whole local hour: on the quarter hour in UTC (zones like Asia/Kolkata are offset by 30 min)
  hourStart: epochMs.refine((t) => t % 900_000 === 0, 'the start of an hour (epoch ms on a quarter hour)'),
  revision: z.number().int().min(0).max(2 ** 31 - 1),
  components: componentsSchema,
});
export type HoursMessage = Omit<z.output<typeof hoursMessageSchema>, 'components'> & { components: KpiComponents };

const name = z.string().max(256);
export const plantMessageSchema = z.object({
  agent: level,
  site: level,
  instance,
  siteName: name.nullish(),
  timezone: z.string().max(64).nullish(),
  machines: z
    .array(
      z.object({
        id: level,
        name: name.nullish(),
        line: name.nullish(),
        product: name.nullish(),
        idealCycleTimeS: z.number().positive().finite().nullish(),
      }),
    )
    .max(10_000),
});
export type PlantMessage = z.output<typeof plantMessageSchema>;

export type TopicKind = 'samples' | 'hours' | 'plant' | 'status' | 'confirm';

export interface ParsedTopic {
  kind: TopicKind;
  site: string;
  agent: string;
  /** the machine of an hours topic */
  machine?: string;
}

/** `{prefix}/{site}/{agent}/{kind}[/{machine}]`, or undefined for a topic the fleet does not read. */
export function parseTopic(prefix: string, topic: string): ParsedTopic | undefined {
  if (!topic.startsWith(`${prefix}/`)) return undefined;
  const rest = topic.slice(prefix.length + 1).split('/');
  const [site, agent, kind, machine] = rest;
  if (site === undefined || agent === undefined || !site || !agent) return undefined;
  if (rest.length === 3 && (kind === 'samples' || kind === 'plant' || kind === 'status' || kind === 'confirm')) return { kind, site, agent };
  if (rest.length === 4 && kind === 'hours' && machine) return { kind, site, agent, machine };
  return undefined;
}

/** The first issue of a zod error, as a dead letter's reason. */
export function reasonOf(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return 'invalid payload';
  const path = i.path.join('.');
  return `${path ? `${path}: ` : ''}${i.message}${err.issues.length > 1 ? ` (+${err.issues.length - 1} more)` : ''}`;
}
