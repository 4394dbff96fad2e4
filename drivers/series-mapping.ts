/**
 * What a driver tells the rest of the agent about the series its sources produce
 * (DESIGN.md §2): one entry per tag, topic field, register or rule, with the settings that
 * downstream code needs. Built from a valid config by each driver's descriptor.
 */
export type ConfigPath = readonly (string | number)[];

export interface SeriesMapping {
  /** a machine id, or a template filled at run time ("{1}" of an MQTT filter, "{node}" of a Sparkplug rule) */
  machine: string;
  /** a signal, or a template like the machine's */
  signal: string;
  /** the factor the driver multiplies raw values by (1: none) */
  scale: number;
  /** counters: the stored value at which the counter wraps (raw rollover × scale); undefined: it does not */
  rollover: number | undefined;
  /** silence longer than this marks the series stale on the dashboard; undefined: never */
  staleAfterS: number | undefined;
  /** the config path of the declaration inside its source (`['tags', 3]`), for errors and health */
  path: ConfigPath;
  /** the declaration in the source's own terms ("ns=2;s=Printer1.Parts", "plant/+/telemetry count.total") */
  origin: string;
}

/** A template's placeholders: `{1}`, `{node}` … */
export const TEMPLATE_PLACEHOLDER = /\{[^}]+\}/;

export function isTemplate(s: string): boolean {
  return TEMPLATE_PLACEHOLDER.test(s);
}

/** Rollover in stored units: declared in raw units, the buffer holds scaled values. */
export function storedRollover(rollover: number | undefined, scale: number): number | undefined {
  return rollover === undefined ? undefined : rollover * scale;
}

/** What a tag, field, register or rule declares (scale and rollover in raw units). */
export interface MappingDeclaration {
  machine: string;
  signal: string;
  scale?: number | undefined;
  rollover?: number | undefined;
  staleAfterS?: number | undefined;
}

/** A declaration as a mapping: default scale 1, rollover in stored units. */
export function seriesMapping(d: MappingDeclaration, path: ConfigPath, origin: string): SeriesMapping {
  const scale = d.scale ?? 1;
  return { machine: d.machine, signal: d.signal, scale, rollover: storedRollover(d.rollover, scale), staleAfterS: d.staleAfterS, path, origin };
}
