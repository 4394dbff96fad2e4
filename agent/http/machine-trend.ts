/**
 * The machine page's trend (`GET /api/machines/:id/trend`): energy and output per bucket over
 * this shift, the last day or the last week, and the state changes in it. Pure over the KPI
 * service and the buffer it is given, so the query worker (agent/query-worker) computes it
 * beside the buffer's read-only copy, off the ingest thread.
 */
import type { KpiRequest, MachineKpiRow } from './ports.ts';
import { isMachineState, type MachineState, type SampleValue } from '../model/index.ts';
import type { Plant } from '../plant/index.ts';
import { currentShift } from './shift-window.ts';

export type TrendRange = 'shift' | 'day' | 'week';

export interface Trend {
  machine: string;
  range: TrendRange;
  from: string;
  to: string;
  stepS: number;
  /** one row per bucket: [bucket start (epoch ms), energy kWh, good units, scrap units] */
  buckets: [number, number | null, number | null, number | null][];
  /** state changes in the range: [epoch ms, state or null for unknown] */
  states: [number, MachineState | null][];
}

/** What a trend reads: machine rows and series points (the buffer's raw ones for states). */
export interface TrendPorts {
  kpis: { kpis(q: KpiRequest): MachineKpiRow[]; series(machine: string, signal: string, from: number, to: number): [number, SampleValue][] };
  buffer: { series(machine: string, signal: string, from: number, to: number): [number, SampleValue][] };
}

export type TrendPlant = Pick<Plant, 'shifts' | 'site' | 'machine'>;

const TREND_STEPS: Record<TrendRange, { spanMs: number; stepMs: number }> = {
  shift: { spanMs: 0, stepMs: 5 * 60_000 },
  day: { spanMs: 86_400_000, stepMs: 3_600_000 },
  week: { spanMs: 7 * 86_400_000, stepMs: 6 * 3_600_000 },
};

export function machineTrend(ports: TrendPorts, plant: TrendPlant, machine: string, range: TrendRange, now: number): Trend {
  const { spanMs, stepMs } = TREND_STEPS[range];
  const shift = range === 'shift' ? currentShift(plant.shifts, plant.site.timezone, now) : undefined;
  const from = shift ? shift.start : Math.floor((now - spanMs) / stepMs) * stepMs;
  const to = shift ? Math.min(now, shift.end) : now;
  const buckets: Trend['buckets'] = [];
  for (let t = from; t < to; t += stepMs) {
    const end = Math.min(t + stepMs, to);
    const row = ports.kpis.kpis({ from: t, to: end, machine: machine, groupBy: 'none' })[0];
    buckets.push([t, row?.energyKwh ?? null, row?.unitsGood ?? null, row?.unitsScrap ?? null]);
  }
  const raw = ports.buffer.series(machine, 'state', from, to);
  // the state holding at `from` comes from before the range
  const before = ports.kpis.series(machine, 'state', from - plant.machine(machine).maxHoldMs, from);
  const first = before[before.length - 1];
  const states: Trend['states'] = [];
  if (first) states.push([from, stateOf(first[1])]);
  let prev: MachineState | null | undefined = states[0]?.[1];
  for (const [ts, v] of raw) {
    const s = stateOf(v);
    if (s !== prev) states.push([ts, s]);
    prev = s;
  }
  return { machine, range, from: new Date(from).toISOString(), to: new Date(to).toISOString(), stepS: stepMs / 1000, buckets, states };
}

/** States are stored by name (the Plant maps codes before the buffer): anything else is unknown. */
function stateOf(v: SampleValue): MachineState | null {
  return isMachineState(v) ? v : null;
}
