/**
 * The shapes a KPI query takes and gives (DESIGN.md §6 `/api/kpis`, `/api/benchmarks`,
 * `/api/machines`): the contract of the HTTP API and the `kpi` command.
 */
import type { BenchmarkRow, Cut, EnergySource, KpiComponents, LeadTimeStats } from '../kpi/index.ts';
import type { MachineState } from '../model/index.ts';

export type GroupBy = 'none' | 'hour' | 'shift' | 'day' | 'order';
export type KpiScope = 'machine' | 'line' | 'site';

export interface KpiQuery {
  from: number;
  to: number;
  machine?: string | undefined;
  line?: string | undefined;
  groupBy: GroupBy;
  /** machine rows (default), or rolled up per line or for the site */
  scope?: KpiScope | undefined;
}

/** A machine's row (DESIGN.md §6 `/api/kpis`). */
export interface KpiRow extends KpiRowBody {
  scope: 'machine';
  machine: string;
  line: string;
}

/** A line or site row: its machines' components summed, ratios recomputed. */
export interface RollupRow extends KpiRowBody {
  scope: 'line' | 'site';
  machine: null;
  /** null on site rows */
  line: string | null;
}

export interface KpiRowBody {
  product: string | null;
  /** the shift's name (groupBy=shift) or the order id (groupBy=order) */
  period?: string;
  periodStart: string;
  periodEnd: string;
  energyKwh: number | null;
  energySource: EnergySource | 'mixed';
  unitsTotal: number | null;
  unitsGood: number | null;
  unitsScrap: number | null;
  energyPerUnitKwh: number | null;
  scrapRate: number | null;
  plannedS: number;
  runningS: number;
  unknownS: number;
  /** `runningS / (plannedS − unknownS)`: over the measured part of planned time */
  availability: number | null;
  /** `(plannedS − unknownS) / plannedS`; null when nothing was planned */
  coverage: number | null;
  performance: number | null;
  performanceOver1: boolean;
  quality: number | null;
  oee: number | null;
  qaAccuracy: number | null;
  /** energy cost in `currency` (null without energy.tariff) */
  energyCost: number | null;
  costPerUnit: number | null;
  currency: string;
  /** kg CO2e (null without energy.gridEmissionFactorKgPerKwh) */
  co2eKg: number | null;
  co2ePerUnitKg: number | null;
  /** orders completed in the window; `basis`: measured from release or (no release known) from start */
  leadTime: LeadTimeStats;
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

export interface BenchmarkReport {
  from: string;
  to: string;
  /** cumulative volume is counted from here (the oldest sample in the buffer) */
  volumeSince: string | null;
  rows: BenchmarkRow[];
}

/** A window of one machine (groupBy=order cuts each machine's own). */
export interface MachineCut extends Cut {
  machine?: string;
}

/** A window's summed components and where its energy came from. */
export interface WindowComponents {
  components: KpiComponents;
  source: EnergySource;
}
