/**
 * The summed components of each machine's windows: the windows are split into fine windows
 * (hours, price changes); full past hours come from the cache, else from the buffer's hour
 * rollups, else from raw rows read chunk by chunk; the fine components are summed back into
 * the windows, and a whole past window made only of full hours is kept too.
 */
import {
  accumulate,
  computeMachineKpisByWindow,
  priceAt,
  splitWindows,
  withCostAndCarbon,
  ZERO_COMPONENTS,
  type EnergySource,
  type Interval,
  type KpiComponents,
  type PriceSegment,
} from '../kpi/index.ts';
import { COUNTER_SIGNALS, type CounterSignal } from '../model/index.ts';
import type { ComponentCache } from './component-cache.ts';
import { readChunks, type Fine } from './fine-windows.ts';
import { hoursFromRollups } from './hours-from-rollups.ts';
import type { KpiServiceOptions } from './options.ts';
import type { KpiBuffer, KpiPlant } from './ports.ts';
import type { QueryCalendar } from './query-calendar.ts';
import type { MachineCut, WindowComponents } from './query-types.ts';

/** The calendar of one computation: the span of all windows and what cuts it finer. */
interface Span {
  lo: number;
  hi: number;
  hourStarts: Set<number>;
  bounds: number[];
  segments: PriceSegment[];
  planned: Interval[] | undefined;
  tariffed: boolean;
  factor: number | null;
  now: number;
}

/** Fine windows of a list of windows (shared by the machines that share the list, read only). */
interface SplitPlan {
  fines: readonly Fine[];
  /** 1: every fine window of the window is a full past hour (the sum may be kept) */
  allHours: Uint8Array;
}

/** One machine's windows being summed. */
interface MachineSums {
  cuts: MachineCut[];
  acc: (KpiComponents | undefined)[];
  src: EnergySource[];
  /** 1: the window's components were kept whole (one lookup) */
  whole: Uint8Array;
  /** 1: every fine window of the window is a full past hour (the sum may be kept) */
  allHours: Uint8Array;
}

export class WindowComponentsReader {
  /** full hours taken from the buffer's hour rollups since start */
  hoursFromRollupTables = 0;

  constructor(
    private readonly plant: KpiPlant,
    private readonly buffer: KpiBuffer,
    private readonly calendar: QueryCalendar,
    private readonly cache: ComponentCache,
    private readonly opts: KpiServiceOptions,
  ) {}

  /** Per machine of `ids`, the components of each of its windows, in order. */
  read(ids: readonly string[], cutsByMachine: ReadonlyMap<string, MachineCut[]>): Map<string, WindowComponents[]> {
    const out = new Map<string, WindowComponents[]>();
    const span = this.span(cutsByMachine);
    if (!span) return out;
    const sums = new Map<string, MachineSums>();
    const missing = new Map<string, readonly Fine[]>();
    // machines share their cuts unless grouped by order: split each distinct list once
    const splits = new Map<MachineCut[], SplitPlan>();
    for (const id of ids) {
      const cuts = cutsByMachine.get(id) ?? [];
      let split = splits.get(cuts);
      if (!split) {
        split = this.plan(cuts, span);
        splits.set(cuts, split);
      }
      const { machine, todo } = this.fromCache(id, cuts, split);
      sums.set(id, machine);
      if (todo.length > 0) missing.set(id, todo);
    }
    const add = (id: string, f: Fine, comps: KpiComponents, source: EnergySource): void => {
      if (f.cacheable) this.cache.storeHour(id, f.start, { end: f.end, components: comps, source });
      const s = sums.get(id) as MachineSums;
      accumulate(s.acc, f.parent, comps);
      if (source !== 'none') s.src[f.parent] = source;
    };
    if (this.opts.cache && this.opts.rollups && missing.size > 0) {
      const input = { missing, planned: span.planned, segments: span.tariffed ? span.segments : null, factor: span.factor };
      for (const [id, block] of hoursFromRollups(this.plant, this.buffer, input, (id) => sums.get(id) as MachineSums)) {
        this.cache.storeBlock(id, block);
        this.hoursFromRollupTables += block.size;
      }
    }
    this.fromRawRows(missing, span, add);
    if (this.opts.cache) for (const [id, s] of sums) this.keepWholeWindows(id, s);
    for (const id of ids) {
      const s = sums.get(id) as MachineSums;
      out.set(
        id,
        s.cuts.map((c, i) => ({ components: s.acc[i] ?? { ...ZERO_COMPONENTS, windowS: (c.end - c.start) / 1000 }, source: s.src[i] ?? 'none' })),
      );
    }
    return out;
  }

  private span(cutsByMachine: ReadonlyMap<string, MachineCut[]>): Span | undefined {
    let lo = Infinity;
    let hi = -Infinity;
    for (const cuts of cutsByMachine.values()) {
      for (const c of cuts) {
        lo = Math.min(lo, c.start);
        hi = Math.max(hi, c.end);
      }
    }
    if (!(hi > lo)) return undefined;
    const hours = this.calendar.hours(lo, hi);
    const segments = this.calendar.priceSegments(lo, hi);
    return {
      lo,
      hi,
      hourStarts: this.calendar.hourStarts(lo, hi),
      bounds: [...hours, ...segments.map((s) => s.start)],
      segments,
      planned: this.calendar.plannedIntervals(lo, hi),
      tariffed: this.calendar.tariff() !== undefined,
      factor: this.plant.energy.gridEmissionFactorKgPerKwh ?? null,
      now: Date.now(),
    };
  }

  /** A list of windows split into fine windows, once for every machine that shares it. */
  private plan(cuts: readonly MachineCut[], span: Span): SplitPlan {
    const split = splitWindows(cuts.map((c): Interval => [c.start, c.end]), span.bounds);
    const allHours = new Uint8Array(cuts.length).fill(1);
    const fines = split.fine.map((w, k): Fine => {
      const parent = split.parent[k] as number;
      // a full past hour: fine windows are split at every hour, so both ends on one is one hour
      const full = this.opts.cache && w[1] <= span.now && span.hourStarts.has(w[0]) && span.hourStarts.has(w[1]);
      if (!full) allHours[parent] = 0;
      return { start: w[0], end: w[1], parent, cacheable: full };
    });
    return { fines, allHours };
  }

  /** A machine's windows from the cache: whole windows, then cached hours; the rest to compute. */
  private fromCache(id: string, cuts: MachineCut[], plan: SplitPlan): { machine: MachineSums; todo: readonly Fine[] } {
    const cachedWindows = this.cache.windows(id);
    const s: MachineSums = {
      cuts,
      acc: new Array<KpiComponents | undefined>(cuts.length),
      src: new Array<EnergySource>(cuts.length).fill('none'),
      whole: new Uint8Array(cuts.length),
      allHours: plan.allHours,
    };
    // nothing kept for this machine (a cold start): every fine window is to compute
    if (!this.cache.has(id)) return { machine: s, todo: plan.fines };
    if (cachedWindows) {
      cuts.forEach((c, i) => {
        const hit = cachedWindows.get(`${c.start}|${c.end}`);
        if (!hit) return;
        s.acc[i] = { ...hit.components, leadTimeHist: { ...hit.components.leadTimeHist } };
        s.src[i] = hit.source;
        s.whole[i] = 1;
      });
    }
    const todo: Fine[] = [];
    for (const f of plan.fines) {
      if (s.whole[f.parent] === 1) continue;
      const hit = f.cacheable ? this.cache.hour(id, f.start) : undefined;
      if (hit && hit.end === f.end) {
        accumulate(s.acc, f.parent, hit.components);
        if (hit.source !== 'none') s.src[f.parent] = hit.source;
      } else todo.push(f);
    }
    return { machine: s, todo };
  }

  /** The missing fine windows from raw rows, chunk by chunk. */
  private fromRawRows(missing: ReadonlyMap<string, readonly Fine[]>, span: Span, add: (id: string, f: Fine, c: KpiComponents, source: EnergySource) => void): void {
    for (const chunk of readChunks(missing, this.opts.chunkMs)) {
      const machines = [...chunk.windows.keys()];
      const data = this.buffer.window(machines, chunk.start, chunk.end);
      for (const id of machines) {
        const fines = chunk.windows.get(id) ?? [];
        const m = this.plant.machine(id);
        const rows = computeMachineKpisByWindow({
          machine: id,
          windows: fines.map((f): Interval => [f.start, f.end]),
          samples: data.get(id) ?? [],
          rollover: this.rolloverOf(id),
          idealCycleTimeS: m.idealCycleTimeS,
          maxHoldS: m.maxHoldMs / 1000,
          measuredSignals: new Set(this.buffer.signals(id)),
          ...(span.planned ? { plannedIntervals: span.planned } : {}),
        });
        rows.forEach((r, k) => {
          const f = fines[k] as Fine;
          add(id, f, withCostAndCarbon(r.components, span.tariffed ? priceAt(span.segments, f.start) : null, span.factor), r.energySource);
        });
      }
    }
  }

  /** Remembers the windows made only of full past hours (not kept whole yet). */
  private keepWholeWindows(id: string, s: MachineSums): void {
    s.cuts.forEach((c, i) => {
      const comps = s.acc[i];
      if (s.whole[i] === 1 || s.allHours[i] !== 1 || comps === undefined) return;
      this.cache.storeWindow(id, c, { end: c.end, components: { ...comps, leadTimeHist: { ...comps.leadTimeHist } }, source: s.src[i] ?? 'none' });
    });
  }

  /** The machine's counter rollovers, in stored units (resolved from the drivers' mappings). */
  private rolloverOf(id: string): Partial<Record<CounterSignal, number>> {
    const out: Partial<Record<CounterSignal, number>> = {};
    for (const sig of COUNTER_SIGNALS) {
      const r = this.plant.rollover(id, sig);
      if (r > 0) out[sig] = r;
    }
    return out;
  }
}
