/**
 * Minute and hour rollups per series (machine, signal), kept incrementally as samples are
 * committed, so that KPI queries over weeks read ~168 rows per series and week instead of
 * millions of raw rows (DESIGN.md §2, §4).
 *
 * READ API (for the KPI engine):
 *   buffer.rollups.rollups(machines, from, to, 'minute' | 'hour') → RollupRow[]
 *     one row per (machine, signal, bucket) with start ∈ [from, to) (align from/to to the
 *     resolution), ordered by machine, signal, start. Per row:
 *     - `samples`, `goodSamples`: counts of raw samples (any quality / good) in the bucket;
 *     - gauges: `numericCount`, `sum`, `min`, `max` over good finite numeric values;
 *     - `delta`: counters (energy_kwh, parts_*, qa_*): Σ deltas between consecutive good numeric
 *       samples, each in the bucket of the LATER sample, reset/rollover rule of
 *       agent/kpi/counter-deltas.ts (`rollover` per tag from config, stored units);
 *     - `stateMs`: signal `state`: ms in each state in the bucket; a good sample whose value maps
 *       to a state (canonical names: the Plant mapped codes before the buffer) holds until the next sample of
 *       the series, a bad/uncertain or unmapped sample, or maxHoldS (agent/kpi/state-time.ts);
 *     - `integral`, `heldMs`: other numeric gauges: ∫ value dt in value·ms with the same
 *       zero-order hold (for `power_kw`: kW·ms, divide by 3.6e6 for kWh — energy of machines
 *       without a meter), and the ms a value was held;
 *     - `last*` / `lastGood*`: the last sample (by ts, id) in the bucket and the last good one:
 *       the baselines of the next bucket.
 *     The hold of the newest sample of a series is still open: it is included up to maxHoldS
 *     (as the KPI engine counts it), and shortened when the next sample arrives.
 *   buffer.rollups.baselines(machine, t) → per signal the last sample and the last good sample
 *     with ts < t (t aligned to an hour; reads hour rollups, O(signals)).
 *   buffer.hourRollups(machines, signals, from, to) → the KPI columns (delta, ms per state, ∫)
 *     of hour rows, per series in typed arrays (agent/buffer/kpi-reads.ts, for agent/kpi-query).
 *
 * Buckets are epoch-aligned (UTC) minutes and hours, `start` in epoch ms. A window that does
 * not fall on hour boundaries in UTC (a shift starting at :30, a zone with a :30/:45 offset)
 * is read as whole hours in the middle plus minute rows at its edges; sums (deltas, ms, ∫)
 * are additive over buckets, min/max combine, `last*` of the latest bucket wins.
 *
 * The tables are kept by RollupStore (rollup-store.ts); this file holds their shapes and defaults.
 */
import { MACHINE_DEFAULTS } from '../../config/machine-defaults.ts';
import type { MachineState, Quality, SampleValue } from '../model/index.ts';

export type Resolution = 'minute' | 'hour';
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

export interface RollupSeriesConfig {
  /** counters: the value at which the counter wraps (stored units); 0 = none */
  rollover(machine: string, signal: string): number;
  /** holds (state, gauges) end after this long without a sample */
  maxHoldMs(machine: string): number;
  /**
   * raw state codes → state, per machine. The agent's buffer holds canonical names (the Plant
   * maps codes before the buffer), so the agent gives none; a buffer of raw codes may.
   */
  stateMap?(machine: string): Readonly<Record<string, string>> | undefined;
}

export const ROLLUP_SERIES_DEFAULTS: RollupSeriesConfig = {
  rollover: () => 0,
  maxHoldMs: () => MACHINE_DEFAULTS.maxHoldS * 1000,
};

export interface RollupOptions {
  series: RollupSeriesConfig;
  /** write accumulated contributions at most this often (ms) */
  flushMs: number;
  /** …or when this many minute buckets are pending */
  maxPending: number;
}

// maxPending above twice the tag count of a large source (50,000 tags, two minutes pending): a flush per commit otherwise
export const ROLLUP_DEFAULTS: RollupOptions = { series: ROLLUP_SERIES_DEFAULTS, flushMs: 60_000, maxPending: 150_000 };

export interface RollupRow {
  machine: string;
  signal: string;
  start: number;
  end: number;
  samples: number;
  goodSamples: number;
  numericCount: number;
  sum: number;
  min: number | null;
  max: number | null;
  delta: number;
  stateMs: Record<MachineState, number>;
  integral: number;
  heldMs: number;
  firstTs: number | null;
  lastTs: number | null;
  lastValue: SampleValue;
  lastQuality: Quality | null;
  lastGoodTs: number | null;
  lastGoodValue: SampleValue;
}

/** One hour of an open hold (RollupStore.openHoldHours): ms per state slot, or ∫ value dt. */
export interface OpenHoldHour {
  bucket: number;
  /** running, idle, down, planned_stop (MACHINE_STATES order) */
  stateMs: [number, number, number, number];
  integral: number;
}

export interface Baseline {
  signal: string;
  last: { ts: number; value: SampleValue; quality: Quality } | null;
  lastGood: { ts: number; value: SampleValue } | null;
}
