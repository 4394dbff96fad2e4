/**
 * Full past hours from the buffer's hour rollups (Σ counter deltas, ms per state, ∫ power), the
 * same arithmetic as the engine's on raw rows (machine-hours.ts), so a month is ~720 rows per
 * series instead of millions of samples. Hours partly in a shift, and hours the buffer says are
 * not complete in its tables (a reader beside a running agent), are left to the raw path.
 */
import { priceAt, type EnergySource, type Interval, type KpiComponents, type PriceSegment } from '../kpi/index.ts';
import type { HourSeries } from '../buffer/index.ts';
import { HOUR_MS, type Fine } from './fine-windows.ts';
import { KPI_SIGNALS } from './kpi-signals.ts';
import { HourBlock, MachineHours } from './machine-hours.ts';
import type { KpiBuffer, KpiPlant } from './ports.ts';
import { PlannedTime } from './query-calendar.ts';

export interface RollupHoursInput {
  /** per machine, the fine windows still to compute; the handled ones are removed */
  missing: Map<string, readonly Fine[]>;
  planned: readonly Interval[] | undefined;
  segments: readonly PriceSegment[] | null;
  factor: number | null;
}

/** A machine's windows being summed: `acc[parent]`, and where each window's energy came from. */
export interface WindowSums {
  acc: (KpiComponents | undefined)[];
  src: EnergySource[];
}

/**
 * Adds each eligible hour of `input.missing` into its window (`sumsOf(machine)`), in order per
 * machine, and returns per machine the block that keeps the hours.
 */
export function hoursFromRollups(plant: KpiPlant, buffer: KpiBuffer, input: RollupHoursInput, sumsOf: (machine: string) => WindowSums): Map<string, HourBlock> {
  const planned = new PlannedTime(input.planned);
  const eligible = eligibleHours(buffer, input.missing, planned);
  const blocks = new Map<string, HourBlock>();
  // the hours left to the raw path
  for (const [id, e] of eligible) {
    if (e.rest.length === 0) input.missing.delete(id);
    else input.missing.set(id, e.rest);
  }
  if (eligible.size === 0) return blocks;
  let lo = Infinity;
  let hi = -Infinity;
  for (const { hours } of eligible.values()) {
    for (const f of hours) {
      lo = Math.min(lo, f.start);
      hi = Math.max(hi, f.end);
    }
  }
  const bySeries = new Map<string, Map<string, HourSeries>>();
  for (const h of buffer.hourRollups([...eligible.keys()], KPI_SIGNALS, lo, hi)) {
    let m = bySeries.get(h.machine);
    if (!m) bySeries.set(h.machine, (m = new Map()));
    m.set(h.signal, h);
  }
  for (const [id, { hours: fines, inShift: shifts }] of eligible) {
    const hours = new MachineHours(bySeries.get(id), new Set(buffer.signals(id)), plant.machine(id).idealCycleTimeS);
    // a block holds each hour once, in order (windows may overlap: an hour asked twice is one)
    const starts: number[] = [];
    const inShift: number[] = [];
    const prices: number[] = [];
    const sums = sumsOf(id);
    fines.forEach((f, k) => {
      const shift = shifts[k] === 1;
      const price = input.segments ? priceAt(input.segments, f.start) : null;
      hours.addTo(sums.acc, f.parent, f.start, shift, price, input.factor);
      if (hours.source !== 'none') sums.src[f.parent] = hours.source;
      if (starts.length > 0 && (starts[starts.length - 1] as number) >= f.start) return;
      starts.push(f.start);
      inShift.push(shift ? 1 : 0);
      prices.push(price ?? NaN);
    });
    blocks.set(id, new HourBlock(hours, Float64Array.from(starts), Uint8Array.from(inShift), Float64Array.from(prices), input.factor));
  }
  return blocks;
}

/** A machine's fine windows: the hours the rollups answer (in shift or not), and the rest. */
interface Eligible {
  hours: Fine[];
  /** 1: the hour is wholly in a shift; 0: wholly outside */
  inShift: number[];
  rest: Fine[];
}

/**
 * Per machine, the fine windows that are full hours, wholly in or out of shifts, and complete
 * in the rollup tables (agent/buffer: `hourRollupsCompleteUntil`).
 */
function eligibleHours(buffer: KpiBuffer, missing: ReadonlyMap<string, readonly Fine[]>, planned: PlannedTime): Map<string, Eligible> {
  const eligible = new Map<string, Eligible>();
  for (const [id, fines] of missing) {
    const until = buffer.hourRollupsCompleteUntil(id);
    const e: Eligible = { hours: [], inShift: [], rest: [] };
    for (const f of fines) {
      const cov = f.cacheable && f.end - f.start === HOUR_MS && f.start % HOUR_MS === 0 && f.end <= until ? planned.ms(f.start, f.end) : -1;
      if (cov !== 0 && cov !== HOUR_MS) {
        e.rest.push(f);
        continue;
      }
      e.hours.push(f);
      e.inShift.push(cov === HOUR_MS ? 1 : 0);
    }
    if (e.hours.length > 0) eligible.set(id, e);
  }
  return eligible;
}
