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
}

const NO_SERIES_SETTINGS: Readonly<SeriesSettings> = Object.freeze({ rollover: 0, staleAfterMs: undefined });

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

/**
 * Memory matters here (50,000 tags on a Raspberry Pi): literal mappings are kept only when they
 * declare a setting, only template resolutions are cached, and origins are indexed on first use.
 */
export class SeriesSettingsResolver {
  private readonly literal = new Map<string, SeriesSettings>();
  private readonly templates: TemplateMapping[] = [];
  private readonly resolved = new Map<string, SeriesSettings>();
  /** series → the source that delivers it */
  private readonly sourceOf = new Map<string, string>();
  private origins: Map<string, string> | undefined;
  /** series named literally (kept only when templates exist: a literal mapping wins over them) */
  private readonly named = new Set<string>();

  constructor(private readonly sources: readonly { id: string; mappings: readonly SeriesMapping[] }[]) {
    const templated = (m: SeriesMapping): boolean => isTemplate(m.machine) || isTemplate(m.signal);
    for (const src of sources) {
      for (const m of src.mappings) {
        if (templated(m)) this.templates.push({ source: src.id, machine: templatePattern(m.machine), signal: templatePattern(m.signal), mapping: m });
      }
    }
    for (const src of sources) {
      for (const m of src.mappings) {
        if (templated(m)) continue;
        const k = key(m.machine, m.signal);
        if (this.templates.length > 0) this.named.add(k);
        if (m.rollover === undefined && m.staleAfterS === undefined) continue;
        this.literal.set(k, merge(this.literal.get(k), m));
      }
    }
  }

  /** The declaration a series comes from ("cells: ns=2;s=Printer1.Parts", "hall2: hall2/+/telemetry count.total"). */
  origin(machine: string, signal: string): string | undefined {
    const k = key(machine, signal);
    if (!this.origins) {
      this.origins = new Map();
      for (const src of this.sources) {
        for (const m of src.mappings) if (!isTemplate(m.machine) && !isTemplate(m.signal) && !this.origins.has(key(m.machine, m.signal))) this.origins.set(key(m.machine, m.signal), `${src.id}: ${m.origin}`);
      }
    }
    const literal = this.origins.get(k);
    if (literal !== undefined) return literal;
    if (this.named.has(k)) return undefined;
    const t = this.template(machine, signal, this.sourceOf.get(k));
    return t ? `${t.source}: ${t.mapping.origin}` : undefined;
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
    const literal = this.literal.get(k);
    if (literal !== undefined) return literal;
    if (this.templates.length === 0 || this.named.has(k)) return NO_SERIES_SETTINGS;
    let s = this.resolved.get(k);
    if (s === undefined) {
      const t = this.template(machine, signal, this.sourceOf.get(k));
      s = t ? merge(undefined, t.mapping, signal) : NO_SERIES_SETTINGS;
      this.resolved.set(k, s);
    }
    return s;
  }

  private template(machine: string, signal: string, source: string | undefined): TemplateMapping | undefined {
    for (const t of this.templates) {
      if (source !== undefined && t.source !== source) continue;
      if (t.machine.test(machine) && t.signal.test(signal)) return t;
    }
    return undefined;
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
