/**
 * Components of full past hours from the buffer's hour rollups (Σ counter deltas, ms per state,
 * ∫ power), the same arithmetic as the engine's on raw rows (agent/buffer/rollups.ts), so a
 * month is ~720 rows per series instead of millions of samples. Hours partly in a shift, and
 * hours a held value may still reach (after a series' newest sample), are left to the raw path.
 */
import { completeUnits, leadTimeComponents, priceAt, withCostAndCarbon, ZERO_COMPONENTS, type EnergySource, type Interval, type KpiComponents, type PriceSegment } from '../kpi/index.ts';
import type { HourRollup } from '../buffer/index.ts';
import type { MachineState } from '../model/index.ts';
import { HOUR_MS, type Fine } from './fine-windows.ts';
import { KPI_SIGNALS } from './kpi-signals.ts';
import type { KpiBuffer, KpiPlant } from './ports.ts';
import { plannedMs } from './query-calendar.ts';

export interface RollupHoursInput {
  /** per machine, the fine windows still to compute; the handled ones are removed */
  missing: Map<string, Fine[]>;
  planned: readonly Interval[] | undefined;
  segments: readonly PriceSegment[] | null;
  factor: number | null;
}

export type HourDone = (machine: string, f: Fine, c: KpiComponents, source: EnergySource) => void;

/** Fills the eligible hours of `input.missing` from the rollups; returns how many. */
export function hoursFromRollups(plant: KpiPlant, buffer: KpiBuffer, input: RollupHoursInput, done: HourDone): number {
  const eligible = eligibleHours(buffer, input);
  if (eligible.size === 0) return 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const list of eligible.values()) {
    lo = Math.min(lo, list[0]?.start ?? Infinity);
    hi = Math.max(hi, list[list.length - 1]?.end ?? -Infinity);
  }
  const index = buffer.hourRollups([...eligible.keys()], KPI_SIGNALS, lo, hi);
  let n = 0;
  for (const [id, fines] of eligible) {
    const ideal = plant.machine(id).idealCycleTimeS;
    // as on the raw path: a signal the machine has counts 0 where it has no samples
    const has = new Set(buffer.signals(id));
    const bySignal = index.get(id) ?? new Map<string, Map<number, HourRollup>>();
    const handled = new Set<Fine>();
    for (const f of fines) {
      const row = (sig: string): HourRollup | undefined => bySignal.get(sig)?.get(f.start);
      const inShift = plannedMs(input.planned, f.start, f.end) === HOUR_MS;
      const { components, source } = hourComponents(row, has, ideal, inShift);
      done(id, f, withCostAndCarbon(components, input.segments ? priceAt(input.segments, f.start) : null, input.factor), source);
      n++;
      handled.add(f);
    }
    const rest = (input.missing.get(id) ?? []).filter((f) => !handled.has(f));
    if (rest.length === 0) input.missing.delete(id);
    else input.missing.set(id, rest);
  }
  return n;
}

/**
 * Per machine, the fine windows that are full hours, wholly in or out of shifts, and complete
 * in the rollup tables (agent/buffer: `hourRollupsCompleteUntil`).
 */
function eligibleHours(buffer: KpiBuffer, input: RollupHoursInput): Map<string, Fine[]> {
  const eligible = new Map<string, Fine[]>();
  for (const [id, fines] of input.missing) {
    const until = buffer.hourRollupsCompleteUntil(id);
    const list = fines.filter((f) => {
      if (!f.cacheable || f.end - f.start !== HOUR_MS || f.start % HOUR_MS !== 0 || f.end > until) return false;
      const cov = plannedMs(input.planned, f.start, f.end);
      return cov === 0 || cov === HOUR_MS;
    });
    if (list.length > 0) eligible.set(id, list);
  }
  return eligible;
}

/** One full hour's components from its rollup rows (`row(signal)`), as the engine would compute them. */
function hourComponents(row: (signal: string) => HourRollup | undefined, has: ReadonlySet<string>, ideal: number | null, inShift: boolean): { components: KpiComponents; source: EnergySource } {
  const delta = (sig: string): number | null => (has.has(sig) ? (row(sig)?.delta ?? 0) : null);
  const units = completeUnits(delta('parts_total'), delta('parts_good'), delta('parts_scrap'));
  let energy: number | null = null;
  let source: EnergySource = 'none';
  if (has.has('energy_kwh')) {
    energy = row('energy_kwh')?.delta ?? 0;
    source = 'counter';
  } else if (has.has('power_kw')) {
    energy = (row('power_kw')?.integral ?? 0) / 3_600_000;
    source = 'power';
  }
  const st = row('state')?.stateMs;
  const ms = (k: MachineState): number => (inShift && st ? st[k] : 0);
  const stopMs = ms('planned_stop');
  const known = ms('running') + ms('idle') + ms('down') + stopMs;
  const components: KpiComponents = {
    ...ZERO_COMPONENTS,
    windowS: HOUR_MS / 1000,
    plannedS: inShift ? (HOUR_MS - stopMs) / 1000 : 0,
    runningS: ms('running') / 1000,
    idleS: ms('idle') / 1000,
    downS: ms('down') / 1000,
    plannedStopS: stopMs / 1000,
    unknownS: inShift ? (HOUR_MS - known) / 1000 : 0,
    unscheduledS: inShift ? 0 : HOUR_MS / 1000,
    energyKwh: energy,
    unitsTotal: units.unitsTotal,
    unitsGood: units.unitsGood,
    unitsScrap: units.unitsScrap,
    idealS: ideal !== null && units.unitsTotal !== null ? ideal * units.unitsTotal : null,
    qaInspected: delta('qa_inspected'),
    qaRejected: delta('qa_rejected'),
    qaEscaped: delta('qa_escaped'),
    qaFalseReject: delta('qa_false_reject'),
    ...leadTimeComponents([]),
  };
  return { components, source };
}
