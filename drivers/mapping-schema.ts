/**
 * The zod pieces every driver's config schema shares (part of the driver contract): ids,
 * signal names and the mapping fields a tag, topic field, register or rule may declare.
 * The top-level config (config/schema.ts) uses the same ids.
 */
import { z } from 'zod';

export const id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'use letters, digits, "_", ".", ":" or "-" (no spaces or "/")');

export const port = z.number().int().min(0).max(65535);

export const signal = z
  .string()
  .min(1)
  .regex(/^[a-z][a-z0-9_]*$|^\{\d+\}$/, 'a signal is snake_case (energy_kwh, parts_total, state …) or a capture like "{1}"');

/** multiply the raw value (e.g. 0.001 for Wh → kWh) */
export const scale = z.number().finite();
/** counters: the raw value (before scale) at which the counter wraps to 0 */
export const rollover = z.number().positive();
/** silence longer than this marks the tag stale on the dashboard */
export const staleAfterS = z.number().positive();

/** Fields common to every tag mapping, whatever the protocol. */
export const mappingFields = {
  machine: z.string().min(1),
  signal,
  scale: scale.optional(),
  rollover: rollover.optional(),
  staleAfterS: staleAfterS.optional(),
};

/**
 * Fields every source has, read by the input boundary (agent/plant/input-boundary.ts), not by
 * the driver: what happens to a sample dated outside the accepted window, and how many
 * distinct series the source may create.
 */
export const sourceInputFields = {
  /** deadLetter: the sample is stored as a dead letter with its reason; arrival: it is kept with its arrival time */
  badTimestamp: z.enum(['deadLetter', 'arrival']).default('deadLetter'),
  /** distinct (machine, signal) series this source may create; the rest are refused and counted (health: seriesCapped) */
  maxSeries: z.number().int().positive().default(10_000),
};
