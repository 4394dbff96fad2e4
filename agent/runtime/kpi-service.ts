/**
 * Answers the KPI and machine queries of the HTTP API and the CLI: reads the buffer, cuts
 * windows in the site's time zone, and hands the samples to the pure KPI engine.
 */
import { DateTime } from 'luxon';
import type { Config, MachineConfig } from '../../config/schema.ts';
import type { SqliteBuffer } from '../buffer/index.ts';
import { computeMachineKpisByWindow, type Interval, type KpiComponents, type MachineKpis } from '../kpi/index.ts';
import { isCounterSignal, isMachineState, type CounterSignal, type MachineState, type SampleValue } from '../model/index.ts';

export type GroupBy = 'none' | 'hour' | 'shift' | 'day' | 'order';

export interface KpiQuery {
  from: number;
  to: number;
  machine?: string | undefined;
  line?: string | undefined;
  groupBy: GroupBy;
}

export interface KpiRow {
  machine: string;
  line: string;
  product: string | null;
  /** the shift's name when grouped by shift */
  period?: string;
  periodStart: string;
  periodEnd: string;
  energyKwh: number | null;
  unitsTotal: number | null;
  unitsGood: number | null;
  unitsScrap: number | null;
  energyPerUnitKwh: number | null;
  scrapRate: number | null;
  availability: number | null;
  performance: number | null;
  performanceOver1: boolean;
  quality: number | null;
  oee: number | null;
  /** lead times come from order events; computed by the KPI engine issue, null until then */
  leadTime: { orders: number | null; meanS: number | null; p50S: number | null; p90S: number | null; maxS: number | null };
  components: KpiComponents;
}

export interface MachineView {
  id: string;
  name: string;
  line: string;
  product: string | null;
  state: MachineState | null;
  stateSince: string | null;
  lastSampleAt: string | null;
}

export class KpiQueryError extends Error {
  readonly statusCode = 400;
}

/** A window cut: [start, end) plus an optional label (the shift's name). */
interface Cut {
  start: number;
  end: number;
  label?: string;
}

const MAX_WINDOWS = 10_000;

export class KpiService {
  private readonly machineById: Map<string, MachineConfig>;
  private readonly rollover = new Map<string, Partial<Record<CounterSignal, number>>>();

  constructor(
    private readonly config: Config,
    private readonly buffer: SqliteBuffer,
  ) {
    this.machineById = new Map(config.machines.map((m) => [m.id, m]));
    // rollover is declared in raw units; the buffer holds scaled values
    for (const src of config.sources) {
      const tags = src.type === 'opcua' ? src.tags : src.type === 'modbus' ? src.registers : [];
      for (const t of tags) {
        if (t.rollover !== undefined && isCounterSignal(t.signal)) {
          const m = this.rollover.get(t.machine) ?? {};
          m[t.signal] = t.rollover * (t.scale ?? 1);
          this.rollover.set(t.machine, m);
        }
      }
    }
  }

  /** Configured machines first, in config order, then machines only seen in data. */
  machineIds(): string[] {
    const seen = this.buffer.machines().filter((m) => !m.startsWith('_') && !this.machineById.has(m));
    return [...this.machineById.keys(), ...seen];
  }

  machines(): MachineView[] {
    return this.machineIds().map((id) => {
      const cfg = this.machineById.get(id);
      const latest = this.buffer.latest(id);
      const state = latest.find((l) => l.signal === 'state');
      const last = latest.reduce((t, l) => Math.max(t, l.ts), 0);
      const stateValue = state && state.quality === 'good' ? this.mapState(cfg, state.value) : null;
      return {
        id,
        name: cfg?.name ?? id,
        line: cfg?.line ?? 'default',
        product: cfg?.product ?? null,
        state: stateValue,
        stateSince: state && stateValue ? new Date(state.since).toISOString() : null,
        lastSampleAt: last > 0 ? new Date(last).toISOString() : null,
      };
    });
  }

  kpis(q: KpiQuery): KpiRow[] {
    if (!(q.to > q.from)) throw new KpiQueryError(`"to" must be after "from"`);
    let ids = this.machineIds();
    if (q.machine !== undefined) ids = ids.filter((m) => m === q.machine);
    if (q.line !== undefined) ids = ids.filter((m) => (this.machineById.get(m)?.line ?? 'default') === q.line);
    if (ids.length === 0) return [];
    const cuts = this.cuts(q);
    const planned = this.plannedIntervals(q.from, q.to);
    const data = this.buffer.window(ids, q.from, q.to);
    const rows: KpiRow[] = [];
    for (const id of ids) {
      const cfg = this.machineById.get(id);
      const results = computeMachineKpisByWindow({
        machine: id,
        windows: cuts.map((c): Interval => [c.start, c.end]),
        samples: data.get(id) ?? [],
        rollover: this.rollover.get(id),
        stateMap: cfg?.stateMap,
        idealCycleTimeS: cfg?.idealCycleTimeS ?? null,
        maxHoldS: cfg?.maxHoldS,
        ...(planned ? { plannedIntervals: planned } : {}),
      });
      results.forEach((r, i) => rows.push(this.toRow(r, cfg, cuts[i]?.label)));
    }
    return rows;
  }

  series(machine: string, signal: string, from: number, to: number, step?: number): [number, SampleValue][] {
    const last = isCounterSignal(signal) || signal === 'state' || signal === 'order_id';
    return this.buffer.series(machine, signal, from, to, step, last);
  }

  private toRow(r: MachineKpis, cfg: MachineConfig | undefined, label: string | undefined): KpiRow {
    return {
      machine: r.machine,
      line: cfg?.line ?? 'default',
      product: cfg?.product ?? null,
      ...(label !== undefined ? { period: label } : {}),
      periodStart: new Date(r.periodStart).toISOString(),
      periodEnd: new Date(r.periodEnd).toISOString(),
      energyKwh: r.energyKwh,
      unitsTotal: r.unitsTotal,
      unitsGood: r.unitsGood,
      unitsScrap: r.unitsScrap,
      energyPerUnitKwh: r.energyPerUnitKwh,
      scrapRate: r.scrapRate,
      availability: r.availability,
      performance: r.performance,
      performanceOver1: r.performanceOver1,
      quality: r.quality,
      oee: r.oee,
      leadTime: { orders: null, meanS: null, p50S: null, p90S: null, maxS: null },
      components: r.components,
    };
  }

  private mapState(cfg: MachineConfig | undefined, v: SampleValue): MachineState | null {
    if (isMachineState(v)) return v;
    const mapped = cfg?.stateMap[String(v)];
    return mapped ?? null;
  }

  /** The windows of a query, aligned to the site's wall clock. */
  private cuts(q: KpiQuery): Cut[] {
    const zone = this.config.site.timezone;
    switch (q.groupBy) {
      case 'none':
        return [{ start: q.from, end: q.to }];
      case 'hour':
      case 'day': {
        const unit = q.groupBy;
        const out: Cut[] = [];
        let t = DateTime.fromMillis(q.from, { zone }).startOf(unit);
        while (t.toMillis() < q.to) {
          const next = t.plus({ [unit === 'hour' ? 'hours' : 'days']: 1 });
          out.push({ start: Math.max(t.toMillis(), q.from), end: Math.min(next.toMillis(), q.to) });
          if (out.length > MAX_WINDOWS) throw new KpiQueryError(`more than ${MAX_WINDOWS} ${unit}s: narrow from/to`);
          t = next;
        }
        return out;
      }
      case 'shift': {
        if (this.config.shifts.length === 0) throw new KpiQueryError('groupBy=shift needs shifts[] in the config');
        return this.shiftCuts(q.from, q.to);
      }
      case 'order':
        throw new KpiQueryError('groupBy=order is not available yet in this version');
    }
  }

  /** Shift occurrences overlapping [from, to), clipped to it, in time order. */
  private shiftCuts(from: number, to: number): Cut[] {
    const zone = this.config.site.timezone;
    const out: Cut[] = [];
    let day = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 1 });
    while (day.toMillis() < to) {
      for (const s of this.config.shifts) {
        if (s.days && !s.days.includes(day.weekday)) continue;
        const [sh, sm] = s.start.split(':').map(Number) as [number, number];
        const [eh, em] = s.end.split(':').map(Number) as [number, number];
        const start = day.set({ hour: sh, minute: sm });
        let end = day.set({ hour: eh, minute: em });
        if (end <= start) end = end.plus({ days: 1 });
        const a = Math.max(start.toMillis(), from);
        const b = Math.min(end.toMillis(), to);
        if (b > a) out.push({ start: a, end: b, label: s.name });
      }
      day = day.plus({ days: 1 });
      if (out.length > MAX_WINDOWS) throw new KpiQueryError(`more than ${MAX_WINDOWS} shifts: narrow from/to`);
    }
    return out.sort((x, y) => x.start - y.start);
  }

  /** Shifts make time outside them unplanned; without shifts every hour is planned. */
  private plannedIntervals(from: number, to: number): Interval[] | undefined {
    if (this.config.shifts.length === 0) return undefined;
    return this.shiftCuts(from, to).map((c): Interval => [c.start, c.end]);
  }
}
