/**
 * Per-series settings (counter rollover, staleness) resolved from the drivers' mappings.
 * A mapping names its machine and signal literally or by a template ("{1}" of an MQTT filter,
 * "{node}" of a Sparkplug rule). A literal mapping of a series' machine and signal wins.
 * Otherwise the series is resolved among the templates of the source that delivered it (the
 * agent binds a series to its source when it first sees it, and the buffer keeps the binding,
 * so `shopfloor-agent kpi` beside it resolves the same way): two sources' templates may both
 * fit a machine name, but only the one that produced the series says how it wraps. A series
 * no source has been bound to yet takes the first template (in config order) that fits.
 */
import { isTemplate, type SeriesMapping } from '../../drivers/series-mapping.ts';
import { isCounterSignal } from '../model/index.ts';

export interface SeriesSettings {
  /** counters: the stored value at which the counter wraps (0: it does not wrap) */
  rollover: number;
  /** silence longer than this marks the series stale; undefined: never */
  staleAfterMs: number | undefined;
  /** the declaration it came from ("cells: ns=2;s=Printer1.Parts", "hall2: hall2/+/telemetry count.total"); undefined: none */
  origin: string | undefined;
}

const NO_SERIES_SETTINGS: Readonly<SeriesSettings> = Object.freeze({ rollover: 0, staleAfterMs: undefined, origin: undefined });

interface TemplateMapping {
  source: string;
  machine: RegExp;
  signal: RegExp;
  mapping: SeriesMapping;
}

const PLACEHOLDER = /\{[^}]+\}/g;

/** A template as an anchored pattern: each placeholder matches one or more characters. */
function templatePattern(template: string): RegExp {
  const parts = template.split(PLACEHOLDER).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.+')}$`, 's');
}

const key = (machine: string, signal: string): string => `${machine}\u0000${signal}`;

export class SeriesSettingsResolver {
  private readonly literal = new Map<string, SeriesSettings>();
  private readonly templates: TemplateMapping[] = [];
  private readonly resolved = new Map<string, SeriesSettings>();
  /** series → the source that delivers it */
  private readonly sourceOf = new Map<string, string>();

  constructor(sources: readonly { id: string; mappings: readonly SeriesMapping[] }[]) {
    for (const src of sources) {
      for (const m of src.mappings) {
        if (isTemplate(m.machine) || isTemplate(m.signal)) {
          this.templates.push({ source: src.id, machine: templatePattern(m.machine), signal: templatePattern(m.signal), mapping: m });
          continue;
        }
        const k = key(m.machine, m.signal);
        this.literal.set(k, merge(this.literal.get(k), m, src.id));
      }
    }
  }

  /** Records which source delivers a series; true when that is news (the caller keeps it). */
  bind(source: string, machine: string, signal: string): boolean {
    const k = key(machine, signal);
    if (this.sourceOf.get(k) === source) return false;
    this.sourceOf.set(k, source);
    this.resolved.delete(k);
    return true;
  }

  /** The settings of a series; a series no mapping names has none. */
  get(machine: string, signal: string): SeriesSettings {
    const k = key(machine, signal);
    let s = this.resolved.get(k);
    if (s === undefined) {
      s = this.literal.get(k) ?? this.fromTemplates(machine, signal, this.sourceOf.get(k));
      this.resolved.set(k, s);
    }
    return s;
  }

  private fromTemplates(machine: string, signal: string, source: string | undefined): SeriesSettings {
    for (const t of this.templates) {
      if (source !== undefined && t.source !== source) continue;
      if (t.machine.test(machine) && t.signal.test(signal)) return merge(undefined, t.mapping, t.source, signal);
    }
    return NO_SERIES_SETTINGS;
  }
}

/** Two literal mappings of one series: the first rollover declared, the shortest staleness. */
function merge(prev: SeriesSettings | undefined, m: SeriesMapping, source: string, signal = m.signal): SeriesSettings {
  const rollover = isCounterSignal(signal) && m.rollover !== undefined && m.rollover > 0 ? m.rollover : 0;
  const staleAfterMs = m.staleAfterS === undefined ? undefined : m.staleAfterS * 1000;
  if (!prev) return { rollover, staleAfterMs, origin: `${source}: ${m.origin}` };
  return {
    origin: prev.origin,
    rollover: prev.rollover > 0 ? prev.rollover : rollover,
    staleAfterMs: prev.staleAfterMs === undefined ? staleAfterMs : staleAfterMs === undefined ? prev.staleAfterMs : Math.min(prev.staleAfterMs, staleAfterMs),
  };
}
