/**
 * What the dashboard shows, computed from the running agent: machine tiles with their
 * staleness, the current shift's KPIs, machine trends, orders, and the engineers' health
 * view. Shared by the JSON routes and the live stream, so both always say the same thing.
 */
import type { DashboardPlant, DashboardPorts, Health, MachineKpiRow } from './ports.ts';
import type { DeadLetterRow } from '../buffer/index.ts';
import { type MachineState, type Quality, type SampleValue } from '../model/index.ts';
import { tileStatus, type TileStatus } from './machine-status.ts';
import { currentShift, type ShiftWindow } from './shift-window.ts';
import { orderTable, type OrderRow } from './order-table.ts';
import { machineTrend, type Trend, type TrendRange } from './machine-trend.ts';

export type { Trend, TrendRange } from './machine-trend.ts';

export interface SiteInfo {
  id: string;
  name: string;
  agent: string;
  timezone: string;
  locale: string;
  shifts: { name: string; start: string; end: string }[];
  /** the server's clock, so a browser with a wrong clock still shows the right "time in state" */
  now: string;
}

export interface ShiftKpi {
  machine: string;
  energyKwh: number | null;
  unitsTotal: number | null;
  unitsGood: number | null;
  unitsScrap: number | null;
  energyPerUnitKwh: number | null;
  scrapRate: number | null;
  availability: number | null;
  /** the share of planned time that was measured (availability and OEE cover only that) */
  coverage: number | null;
  performance: number | null;
  quality: number | null;
  oee: number | null;
}

export interface ShiftKpis {
  shift: { name: string; start: string; end: string };
  now: string;
  rows: ShiftKpi[];
}

export interface Overview {
  now: string;
  machines: TileStatus[];
  kpi: ShiftKpis;
}

export interface TagView {
  machine: string;
  signal: string;
  value: SampleValue;
  quality: Quality;
  at: string;
  ageS: number;
  staleAfterS: number | null;
  silentTooLong: boolean;
  /** the tag, topic field, register or rule that delivers it (source: declaration); null when none names it */
  origin: string | null;
}

export interface Diagnostics {
  now: string;
  health: Health;
  sources: { id: string; type: string; state: string; detail: string | null; since: string; lastSampleAt: string | null; deadLetters: number; machines: string[] }[];
  tags: TagView[];
  deadLetters: DeadLetterRow[];
}

export class DashboardModel {
  /** per machine, the last good state a tile showed: said (dimmed) when the source goes quiet */
  private readonly lastGoodState = new Map<string, MachineState>();

  constructor(
    /** the running agent, through the ports the dashboard reads */
    private readonly agent: DashboardPorts,
    private readonly plant: DashboardPlant,
  ) {}

  site(now = Date.now()): SiteInfo {
    const s = this.plant.site;
    return {
      id: s.id,
      name: s.name,
      agent: this.plant.agentId,
      timezone: s.timezone,
      locale: s.locale,
      shifts: this.plant.shifts.map((x) => ({ name: x.name, start: x.start, end: x.end })),
      now: new Date(now).toISOString(),
    };
  }

  shift(now = Date.now()): ShiftWindow {
    return currentShift(this.plant.shifts, this.plant.site.timezone, now);
  }

  tiles(now = Date.now()): TileStatus[] {
    const statuses = this.agent.sourceStatus();
    const latest = this.agent.buffer.latest();
    return this.agent.kpis.machineIds().map((id) => {
      const m = this.plant.machine(id);
      const fed = new Set(this.plant.feeds(id));
      for (const s of statuses) if (s.machines.has(id)) fed.add(s.id);
      const mine = latest.filter((l) => l.machine === id);
      const tile = tileStatus({
        id,
        name: m.name,
        line: m.line,
        product: m.product,
        latest: mine,
        sources: statuses.filter((s) => fed.has(s.id)),
        staleAfterMs: this.staleLimits(id, mine),
        previousState: this.lastGoodState.get(id),
        now,
      });
      if (tile.state) this.lastGoodState.set(id, tile.state);
      return tile;
    });
  }

  /** On the agent's thread, by its own KPI service: bounded (this shift, ≤ 1 day × the machines). */
  shiftKpis(now = Date.now()): ShiftKpis {
    const shift = this.shift(now);
    const to = Math.min(now, shift.end);
    const rows = to > shift.start ? this.agent.kpis.kpis({ from: shift.start, to, groupBy: 'none' }) : [];
    return {
      shift: { name: shift.name, start: new Date(shift.start).toISOString(), end: new Date(shift.end).toISOString() },
      now: new Date(now).toISOString(),
      rows: rows.map(pickKpi),
    };
  }

  overview(now = Date.now()): Overview {
    return { now: new Date(now).toISOString(), machines: this.tiles(now), kpi: this.shiftKpis(now) };
  }

  hasMachine(id: string): boolean {
    return this.agent.kpis.machineIds().includes(id);
  }

  /** In-process: the route asks the query worker for the same (agent/http/machine-trend.ts). */
  trend(machine: string, range: TrendRange, now = Date.now()): Trend {
    return machineTrend(this.agent, this.plant, machine, range, now);
  }

  orders(machine: string, from: number, to: number): OrderRow[] {
    return orderTable(this.agent.kpis.orderList(), machine, from, to);
  }

  diagnostics(now = Date.now()): Diagnostics {
    const tags = this.agent.buffer
      .latest()
      .map((l): TagView => {
        const limit = this.plant.series(l.machine, l.signal).staleAfterMs;
        return {
          machine: l.machine,
          signal: l.signal,
          value: l.value,
          quality: l.quality,
          at: new Date(l.ts).toISOString(),
          ageS: Math.max(0, (now - l.ts) / 1000),
          staleAfterS: limit === undefined ? null : limit / 1000,
          silentTooLong: limit !== undefined && now - l.ts > limit,
          origin: this.plant.origin(l.machine, l.signal) ?? null,
        };
      })
      .sort((a, b) => a.machine.localeCompare(b.machine) || a.signal.localeCompare(b.signal));
    return {
      now: new Date(now).toISOString(),
      health: this.agent.health(),
      sources: this.agent.sourceStatus().map((s) => ({
        id: s.id,
        type: s.type,
        state: s.state,
        detail: s.detail ?? null,
        since: new Date(s.since).toISOString(),
        lastSampleAt: s.lastSampleAt === undefined ? null : new Date(s.lastSampleAt).toISOString(),
        deadLetters: s.deadLetters,
        machines: [...s.machines].sort(),
      })),
      tags,
      deadLetters: this.agent.buffer.deadLetters(50),
    };
  }

  /** signal → staleAfterS (ms) of the series a machine has, from the Plant */
  private staleLimits(machine: string, latest: readonly { signal: string }[]): Map<string, number> {
    const out = new Map<string, number>();
    for (const l of latest) {
      const ms = this.plant.series(machine, l.signal).staleAfterMs;
      if (ms !== undefined) out.set(l.signal, ms);
    }
    return out;
  }
}

function pickKpi(r: MachineKpiRow): ShiftKpi {
  return {
    machine: r.machine,
    energyKwh: r.energyKwh,
    unitsTotal: r.unitsTotal,
    unitsGood: r.unitsGood,
    unitsScrap: r.unitsScrap,
    energyPerUnitKwh: r.energyPerUnitKwh,
    scrapRate: r.scrapRate,
    availability: r.availability,
    coverage: r.coverage,
    performance: r.performance,
    quality: r.quality,
    oee: r.oee,
  };
}
