/** The config schema of a Sparkplug B metric rule (inside an `mqtt` source's `sparkplug` block). */
import { z } from 'zod';
import { rollover, scale, staleAfterS } from '../mapping-schema.ts';

/**
 * A Sparkplug metric rule. Patterns use "*" for any text (metric names contain "/");
 * machine and signal may use {group}, {node}, {device}, {metric} and {1}, {2} … for the "*" of
 * the metric pattern. A signal that is not snake_case after filling is made so ("Energy/Total" → energy_total).
 */
export const sparkplugMetricRuleSchema = z.strictObject({
  group: z.string().min(1).default('*'),
  node: z.string().min(1).default('*'),
  /** "" matches node-level metrics (NBIRTH/NDATA); default "*" matches any device and the node itself */
  device: z.string().default('*'),
  metric: z.string().min(1),
  machine: z.string().min(1),
  signal: z.string().min(1),
  scale: scale.optional(),
  rollover: rollover.optional(),
  staleAfterS: staleAfterS.optional(),
});

/** Sparkplug B host: decode births, data and deaths of edge nodes and map metrics to machines */
export const sparkplugSchema = z.strictObject({
  /** Sparkplug group ids to subscribe to; default all ("+") */
  groups: z.array(z.string().min(1).regex(/^[^/+#]+$/, 'a group id without "/", "+" or "#"')).min(1).default(['+']),
  /** send an NCMD "Node Control/Rebirth" on a seq gap or data before a birth (the only message the agent ever sends to a device) */
  rebirth: z.boolean().default(true),
  /** seconds before a rebirth request for the same edge node may be repeated */
  rebirthHoldoffS: z.number().positive().default(10),
  /** first matching rule wins; metrics no rule matches are ignored */
  metrics: z.array(sparkplugMetricRuleSchema).min(1),
});

export type SparkplugConfig = z.output<typeof sparkplugSchema>;
export type SparkplugMetricRule = z.output<typeof sparkplugMetricRuleSchema>;
