/**
 * Per-series settings (counter rollover, staleness) resolved from the drivers' mappings.
 * A mapping names its machine and signal literally or by a template ("{1}" of an MQTT filter,
 * "{device}" of a Sparkplug rule); a series is resolved when it is first asked for: a literal
 * mapping of its machine and signal wins, else the first template (in config order) that
 * matches both names. Every process resolves the same way from the same config (the agent,
 * `shopfloor-agent kpi` beside it), so nothing about a series needs to be stored with it.
 */
import { isTemplate, type SeriesMapping } from '../../drivers/series-mapping.ts';
import { isCounterSignal } from '../model/index.ts';

export interface SeriesSettings {
  /** counters: the stored value at which the counter wraps (0: it does not wrap) */
  rollover: number;
  /** silence longer than this marks the series stale; undefined: never */
  staleAfterMs: number | undefined;
}

export const NO_SERIES_SETTINGS: Readonly<SeriesSettings> = Object.freeze({ rollover: 0, staleAfterMs: undefined });

interface TemplateMapping {
  machine: RegExp;
  signal: RegExp;
  mapping: SeriesMapping;
}

const PLACEHOLDER = /\{[^}]+\}/g;

/** A template as an anchored pattern: each placeholder matches one or more characters. */
export function templatePattern(template: string): RegExp {
  const parts = template.split(PLACEHOLDER).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.+')}$`, 's');
}

export class SeriesSettingsResolver {
  private readonly literal = new Map<string, SeriesSettings>();
  private readonly templates: TemplateMapping[] = [];
  private readonly resolved = new Map<string, SeriesSettings>();

  constructor(mappings: readonly SeriesMapping[]) {
    for (const m of mappings) {
      if (isTemplate(m.machine) || isTemplate(m.signal)) {
        this.templates.push({ machine: templatePattern(m.machine), signal: templatePattern(m.signal), mapping: m });
        continue;
      }
      const key = `${m.machine}\u0000${m.signal}`;
      this.literal.set(key, merge(this.literal.get(key), m));
    }
  }

  /** The settings of a series; a series no mapping names has none. */
  get(machine: string, signal: string): SeriesSettings {
    const key = `${machine}\u0000${signal}`;
    let s = this.resolved.get(key);
    if (s === undefined) {
      s = this.literal.get(key) ?? this.fromTemplates(machine, signal);
      this.resolved.set(key, s);
    }
    return s;
  }

  private fromTemplates(machine: string, signal: string): SeriesSettings {
    for (const t of this.templates) {
      if (t.machine.test(machine) && t.signal.test(signal)) return merge(undefined, t.mapping, signal);
    }
    return NO_SERIES_SETTINGS;
  }
}

/** Two literal mappings of one series: the first rollover declared, the shortest staleness. */
function merge(prev: SeriesSettings | undefined, m: SeriesMapping, signal = m.signal): SeriesSettings {
  const rollover = isCounterSignal(signal) && m.rollover !== undefined && m.rollover > 0 ? m.rollover : 0;
  const staleAfterMs = m.staleAfterS === undefined ? undefined : m.staleAfterS * 1000;
  if (!prev) return { rollover, staleAfterMs };
  return {
    rollover: prev.rollover > 0 ? prev.rollover : rollover,
    staleAfterMs: prev.staleAfterMs === undefined ? staleAfterMs : staleAfterMs === undefined ? prev.staleAfterMs : Math.min(prev.staleAfterMs, staleAfterMs),
  };
}
