/**
 * The plant model (DESIGN.md §2), built once from a valid config: machines and their
 * defaults, per-series settings from the drivers' mappings (resolved for captured machines
 * when a series is first seen), one prepared state decoder per machine, the shifts and the
 * calendar's zone. Buffer, rollups, KPI service, HTTP, forwarder, CLI and simulator read it
 * (or a narrow port of it); none of them reads the raw config or switches on a source type.
 */
import { descriptorOf, type SourceConfig, type SourceType } from '../../drivers/registry.ts';
import { isTemplate, type SeriesMapping } from '../../drivers/series-mapping.ts';
import type { Config, ShiftConfig } from '../../config/schema.ts';
import { MACHINE_DEFAULTS } from '../../config/machine-defaults.ts';
import { decodeState, makeStateDecoder, type StateDecoder } from '../kpi/state-time.ts';
import { MACHINE_STATES, type MachineState, type Sample } from '../model/index.ts';
import { SeriesSettingsResolver, type SeriesSettings } from './series-settings.ts';
import { INPUT_BOUNDARY_DEFAULTS, type BoundaryPolicy } from './input-boundary.ts';

export interface MachineInfo {
  id: string;
  name: string;
  line: string;
  product: string | null;
  /** seconds per unit at rated speed (OEE performance); null: not configured */
  idealCycleTimeS: number | null;
  /** a held value (power, state) ends after this long without a new sample */
  maxHoldMs: number;
  /** false for a machine seen only in data (a topic capture): it has the defaults */
  configured: boolean;
}

export interface PlantSource {
  id: string;
  type: SourceType;
  config: SourceConfig;
  /** every tag, topic field, register or rule of the source */
  mappings: readonly SeriesMapping[];
}

export interface SiteInfo {
  id: string;
  name: string;
  timezone: string;
  locale: string;
}

export class Plant {
  readonly site: SiteInfo;
  readonly agentId: string;
  readonly dataDir: string;
  readonly shifts: readonly ShiftConfig[];
  readonly sources: readonly PlantSource[];
  /** true when some machine maps raw state codes (else samples pass the normaliser untouched) */
  readonly mapsStates: boolean;
  private readonly machinesById: Map<string, MachineInfo>;
  private readonly decoders = new Map<string, StateDecoder>();
  private readonly settings: SeriesSettingsResolver;
  private readonly feedsByMachine = new Map<string, Set<string>>();

  /** settings of the agent's own parts, as validated (defaults filled in by the schema) */
  readonly http: Config['http'];
  readonly buffer: Config['buffer'];
  readonly upstream: Config['upstream'];
  readonly simulator: Config['simulator'];
  readonly energy: Config['energy'];
  readonly benchmarks: Config['benchmarks'];

  constructor(config: Config) {
    this.http = config.http;
    this.buffer = config.buffer;
    this.upstream = config.upstream;
    this.simulator = config.simulator;
    this.energy = config.energy;
    this.benchmarks = config.benchmarks;
    const s = config.site;
    this.site = { id: s.id, name: s.name ?? s.id, timezone: s.timezone, locale: s.locale };
    this.agentId = config.agent.id;
    this.dataDir = config.agent.dataDir;
    this.shifts = config.shifts;
    this.machinesById = new Map(
      config.machines.map((m): [string, MachineInfo] => [
        m.id,
        { id: m.id, name: m.name ?? m.id, line: m.line, product: m.product ?? null, idealCycleTimeS: m.idealCycleTimeS ?? null, maxHoldMs: m.maxHoldS * 1000, configured: true },
      ]),
    );
    let mapsStates = false;
    for (const m of config.machines) {
      if (Object.keys(m.stateMap).length === 0) continue;
      this.decoders.set(m.id, makeStateDecoder(m.stateMap));
      mapsStates = true;
    }
    this.mapsStates = mapsStates;
    this.sources = config.sources.map((src) => ({ id: src.id, type: src.type, config: src, mappings: descriptorOf(src).mappings(src) }));
    this.settings = new SeriesSettingsResolver(this.sources);
    for (const src of this.sources) {
      for (const m of src.mappings) {
        if (!this.machinesById.has(m.machine)) continue; // a template names its machines only in data
        const set = this.feedsByMachine.get(m.machine) ?? new Set<string>();
        set.add(src.id);
        this.feedsByMachine.set(m.machine, set);
      }
    }
  }

  /** Configured machines, in config order. */
  machineIds(): string[] {
    return [...this.machinesById.keys()];
  }

  /** A machine's settings; a machine seen only in data gets the defaults. */
  machine(id: string): MachineInfo {
    return (
      this.machinesById.get(id) ?? {
        id,
        name: id,
        line: MACHINE_DEFAULTS.line,
        product: null,
        idealCycleTimeS: null,
        maxHoldMs: MACHINE_DEFAULTS.maxHoldS * 1000,
        configured: false,
      }
    );
  }

  isConfigured(id: string): boolean {
    return this.machinesById.has(id);
  }

  /** Whether a source names machines or signals by templates (only their series need binding to it). */
  capturesSeries(source: string): boolean {
    return this.sources.some((s) => s.id === source && s.mappings.some((m) => isTemplate(m.machine) || isTemplate(m.signal)));
  }

  /**
   * Records that `source` delivers a series (the agent calls it when a series first arrives;
   * the buffer keeps the bindings for readers in other processes). True when that is news.
   */
  bindSeries(source: string, machine: string, signal: string): boolean {
    return this.settings.bind(source, machine, signal);
  }

  /** Rollover and staleness of a series, from the tag, field, register or rule that produces it. */
  series(machine: string, signal: string): SeriesSettings {
    return this.settings.get(machine, signal);
  }

  /** The tag, topic field, register or rule a series comes from, as "source: declaration" (health views). */
  origin(machine: string, signal: string): string | undefined {
    return this.settings.origin(machine, signal);
  }

  rollover(machine: string, signal: string): number {
    return this.settings.get(machine, signal).rollover;
  }

  maxHoldMs(machine: string): number {
    return this.machine(machine).maxHoldMs;
  }

  /** Every tag, topic field, register and rule of every source. */
  mappingCount(): number {
    return this.sources.reduce((n, s) => n + s.mappings.length, 0);
  }

  /** Sources configured to feed a machine by name (templates learn theirs from the data). */
  feeds(machine: string): ReadonlySet<string> {
    return this.feedsByMachine.get(machine) ?? new Set();
  }

  /** What the input boundary accepts from a source (agent/plant/input-boundary.ts). */
  inputPolicy(sourceId: string): BoundaryPolicy {
    const src = this.sources.find((s) => s.id === sourceId)?.config;
    return {
      maxFutureMs: (this.buffer.maxFutureS ?? INPUT_BOUNDARY_DEFAULTS.maxFutureS) * 1000,
      retainMs: this.buffer.retainDays * 86_400_000,
      badTimestamp: src?.badTimestamp ?? INPUT_BOUNDARY_DEFAULTS.badTimestamp,
      maxSeries: src?.maxSeries ?? INPUT_BOUNDARY_DEFAULTS.maxSeries,
    };
  }

  /**
   * The one place state codes are mapped (DESIGN.md §2): a `state` sample leaves with its
   * state's name when the machine's stateMap knows the code; past here nobody maps again.
   */
  normalise(s: Sample): Sample {
    if (s.signal !== 'state' || s.value === null) return s;
    const decoder = this.decoders.get(s.machine);
    if (!decoder) return s;
    const slot = decodeState(decoder, s.value);
    if (slot < 0) return s;
    const state = MACHINE_STATES[slot] as MachineState;
    return state === s.value ? s : { ...s, value: state };
  }
}
