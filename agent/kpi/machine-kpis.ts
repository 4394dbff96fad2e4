/**
 * Per-machine KPI rows for one window or many (DESIGN.md §4), from one sorted pass per tag.
 *
 * What the caller passes in `samples` (see `samplesForWindow`, which does exactly this over
 * an in-memory list; the buffer does the same in SQL):
 *   - every sample of the machine with `from ≤ ts < to` (for many windows: from the first
 *     window's start to the last window's end), any quality, in any order;
 *   - per counter signal (`energy_kwh`, `parts_*`, `qa_*`): the last good-quality sample with
 *     a numeric value before `from`, however old: it is the baseline of the first delta;
 *   - for `power_kw` and `state`: the last sample before `from`, of any quality: its value
 *     may still hold at `from` (a sample older than `maxHoldS` before `from` holds nothing, so
 *     the look-back may stop there).
 * Passing more is harmless: older samples only set baselines and holds, samples of other
 * machines and samples at or after the last window's end are ignored.
 */
import { MACHINE_DEFAULTS } from '../../config/machine-defaults.ts';
import { COUNTER_SIGNALS, type CounterSignal, type MachineState } from '../model/index.ts';
import { ratiosFromComponents, type KpiComponents, type KpiRatios } from './components.ts';
import { accumulateCounterDeltas } from './counter-deltas.ts';
import {
  accumulatePowerKwMs,
  MS_PER_HOUR,
  resolveEnergySource,
  type EnergySource,
  type EnergySourceOption,
} from './energy.ts';
import { buildScopes } from './planned-scopes.ts';
import type { KpiSample } from './sample-order.ts';
import { groupSignals } from './signal-groups.ts';
import { accumulateStateMs, makeStateDecoder, STATE_COUNT, STATE_SLOT } from './state-time.ts';
import { ZERO_LEAD_TIME } from './lead-time.ts';
import { completeUnits } from './units.ts';
import { areSortedDisjoint, intervalEnd, toWindowSet, type Interval } from './windows.ts';

/** Per-machine settings (config `machines[]` and the tag mappings' `rollover`). */
export interface MachineKpiOptions {
  /** per counter signal: the value at which it wraps to 0, in stored units (after `scale`) */
  rollover?: Partial<Record<CounterSignal, number>>;
  /** raw state code → state (config `machines[].stateMap`); state names are always understood */
  stateMap?: Readonly<Record<string, MachineState>>;
  /** seconds per unit at rated speed; without it performance and OEE are null */
  idealCycleTimeS?: number | null;
  /** a held value (power, state) ends this long after its sample; default: a machine's (config/machine-defaults.ts) */
  maxHoldS?: number;
  /**
   * Planned time as `[start, end)` intervals (any order, may overlap); time of a window
   * outside them is `unscheduledS`, not planned. Default: every window is planned throughout.
   */
  plannedIntervals?: readonly Interval[];
  /** default `auto`: the `energy_kwh` counter when the input has one, else ∫ `power_kw` */
  energySource?: EnergySourceOption;
  /**
   * Signals the machine has (e.g. every series the buffer holds for it): a counter listed here
   * counts 0, not "not measured", in windows without its samples, and `energy_kwh`/`power_kw`
   * here decide the energy source. Without it, only the samples passed decide.
   */
  measuredSignals?: ReadonlySet<string>;
}

/** Every default of the engine, in one place. */
export const KPI_DEFAULTS = {
  maxHoldS: MACHINE_DEFAULTS.maxHoldS,
  energySource: 'auto',
} as const satisfies Required<Pick<MachineKpiOptions, 'maxHoldS' | 'energySource'>>;

export interface MachineKpiInput extends MachineKpiOptions {
  machine: string;
  /** window start, epoch ms (inclusive) */
  from: number;
  /** window end, epoch ms (exclusive) */
  to: number;
  /** see the module comment: the window's samples plus the baselines before `from` */
  samples: readonly KpiSample[];
}

export interface MachineKpiWindowsInput extends MachineKpiOptions {
  machine: string;
  /** `[start, end)` windows, e.g. the hours or days of a range; one row each, same order */
  windows: readonly Interval[];
  /** the samples from the earliest window start to the latest end, plus baselines before it */
  samples: readonly KpiSample[];
}

export interface StateSeconds {
  runningS: number;
  idleS: number;
  downS: number;
  plannedStopS: number;
  unknownS: number;
  /** outside the planned intervals */
  unscheduledS: number;
}

export interface MachineKpis extends KpiRatios {
  machine: string;
  /** epoch ms; the HTTP layer formats ISO */
  periodStart: number;
  periodEnd: number;
  energyKwh: number | null;
  energySource: EnergySource;
  unitsTotal: number | null;
  unitsGood: number | null;
  unitsScrap: number | null;
  plannedS: number;
  stateSeconds: StateSeconds;
  components: KpiComponents;
}

/** KPIs of one machine over `[from, to)`. */
export function computeMachineKpis(input: MachineKpiInput): MachineKpis {
  const rows = computeSortedWindows(input, [[input.from, input.to]]);
  return rows[0] as MachineKpis;
}

/**
 * KPIs of one machine for many windows in one pass per tag. Rows come in the order of
 * `windows`. Sorted disjoint windows (adjacent is fine) are the fast path; overlapping ones
 * are computed one by one. Each row equals `computeMachineKpis` for its window, except that
 * what the machine measures (energy source, which counters exist) is decided once per call.
 */
export function computeMachineKpisByWindow(input: MachineKpiWindowsInput): MachineKpis[] {
  const { windows } = input;
  if (areSortedDisjoint(windows)) return computeSortedWindows(input, windows);
  const order = windows.map((_, i) => i);
  order.sort((a, b) => (windows[a] as Interval)[0] - (windows[b] as Interval)[0]);
  const sorted = order.map((i) => windows[i] as Interval);
  if (!areSortedDisjoint(sorted)) return windows.map((w) => computeSortedWindows(input, [w])[0] as MachineKpis);
  const rows = computeSortedWindows(input, sorted);
  const out = new Array<MachineKpis>(windows.length);
  for (let k = 0; k < order.length; k++) out[order[k] as number] = rows[k] as MachineKpis;
  return out;
}

function positiveOr(value: number | null | undefined, fallback: number): number {
  return typeof value === 'number' && value > 0 ? value : fallback;
}

const MS = 1000;

function computeSortedWindows(
  input: MachineKpiOptions & { machine: string; samples: readonly KpiSample[] },
  windows: readonly Interval[],
): MachineKpis[] {
  const n = windows.length;
  if (n === 0) return [];
  const ws = toWindowSet(windows);
  const lastEnd = ws.ends[n - 1] as number;
  const groups = groupSignals(input.samples, input.machine, lastEnd);
  const maxHoldMs = positiveOr(input.maxHoldS, KPI_DEFAULTS.maxHoldS) * MS;

  // Counters: per window Σ deltas; null for a signal the input has no sample of.
  const counterSums: Partial<Record<CounterSignal, Float64Array>> = {};
  for (const signal of COUNTER_SIGNALS) {
    const list = groups.counters[signal];
    if (list.length === 0 && input.measuredSignals?.has(signal) !== true) continue;
    const sums = new Float64Array(n);
    accumulateCounterDeltas(list, ws, positiveOr(input.rollover?.[signal], 0), sums);
    counterSums[signal] = sums;
  }

  const energySource = resolveEnergySource(
    input.energySource ?? KPI_DEFAULTS.energySource,
    groups.counters.energy_kwh.length > 0 || input.measuredSignals?.has('energy_kwh') === true,
    groups.power.length > 0 || input.measuredSignals?.has('power_kw') === true,
  );
  let energyKwh: Float64Array | undefined;
  if (energySource === 'counter') {
    energyKwh = counterSums.energy_kwh;
  } else if (energySource === 'power') {
    const kwMs = new Float64Array(n);
    accumulatePowerKwMs(groups.power, ws, maxHoldMs, kwMs);
    for (let w = 0; w < n; w++) kwMs[w] = (kwMs[w] as number) / MS_PER_HOUR;
    energyKwh = kwMs;
  }

  const scopes = buildScopes(ws, input.plannedIntervals);
  const stateMs = new Float64Array(n * STATE_COUNT);
  if (groups.state.length > 0) {
    accumulateStateMs(groups.state, scopes, makeStateDecoder(input.stateMap), maxHoldMs, stateMs);
  }

  const ideal = input.idealCycleTimeS;
  const idealCycleTimeS = typeof ideal === 'number' && ideal > 0 && Number.isFinite(ideal) ? ideal : null;
  const rows = new Array<MachineKpis>(n);
  for (let w = 0; w < n; w++) {
    const windowMs = (ws.ends[w] as number) - (ws.starts[w] as number);
    const scopeMs = scopes.scopeMs[w] as number;
    const base = w * STATE_COUNT;
    const runningMs = stateMs[base + STATE_SLOT.running] as number;
    const idleMs = stateMs[base + STATE_SLOT.idle] as number;
    const downMs = stateMs[base + STATE_SLOT.down] as number;
    const plannedStopMs = stateMs[base + STATE_SLOT.planned_stop] as number;
    const unknownMs = scopeMs - runningMs - idleMs - downMs - plannedStopMs;
    const units = completeUnits(
      sumAt(counterSums.parts_total, w),
      sumAt(counterSums.parts_good, w),
      sumAt(counterSums.parts_scrap, w),
    );
    const energy = energyKwh === undefined ? null : (energyKwh[w] as number);
    const components: KpiComponents = {
      windowS: windowMs / MS,
      plannedS: (scopeMs - plannedStopMs) / MS,
      runningS: runningMs / MS,
      idleS: idleMs / MS,
      downS: downMs / MS,
      plannedStopS: plannedStopMs / MS,
      unknownS: unknownMs / MS,
      unscheduledS: (windowMs - scopeMs) / MS,
      energyKwh: energy,
      unitsTotal: units.unitsTotal,
      unitsGood: units.unitsGood,
      unitsScrap: units.unitsScrap,
      idealS: idealCycleTimeS !== null && units.unitsTotal !== null ? idealCycleTimeS * units.unitsTotal : null,
      qaInspected: sumAt(counterSums.qa_inspected, w),
      qaRejected: sumAt(counterSums.qa_rejected, w),
      qaEscaped: sumAt(counterSums.qa_escaped, w),
      qaFalseReject: sumAt(counterSums.qa_false_reject, w),
      // cost, carbon and lead times come from outside the samples of one machine: see kpi-rows.ts
      energyCost: null,
      co2eKg: null,
      ...ZERO_LEAD_TIME,
    };
    const window = windows[w] as Interval;
    rows[w] = {
      machine: input.machine,
      periodStart: window[0],
      periodEnd: intervalEnd(window),
      energyKwh: energy,
      unitsTotal: units.unitsTotal,
      unitsGood: units.unitsGood,
      unitsScrap: units.unitsScrap,
      ...ratiosFromComponents(components),
      energySource,
      plannedS: components.plannedS,
      stateSeconds: {
        runningS: components.runningS,
        idleS: components.idleS,
        downS: components.downS,
        plannedStopS: components.plannedStopS,
        unknownS: components.unknownS,
        unscheduledS: components.unscheduledS,
      },
      components,
    };
  }
  return rows;
}

function sumAt(sums: Float64Array | undefined, w: number): number | null {
  return sums === undefined ? null : (sums[w] as number);
}
