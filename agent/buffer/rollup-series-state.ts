/**
 * A series' incremental state (rollup-accumulator.ts): made fresh for a new series or a range
 * recomputation, or warmed from the series' newest hour row when the buffer opens.
 */
import type Database from 'better-sqlite3';
import { makeStateDecoder, type StateDecoder } from '../kpi/state-time.ts';
import { isCounterSignal } from '../model/index.ts';
import { Accumulator, type DbValue, type Kind, type SeriesState } from './rollup-accumulator.ts';
import type { RollupStatements } from './rollup-sql.ts';
import type { RollupSeriesConfig } from './rollups.ts';

/** the decoder of series that are not `state` (never consulted: their holds are values) */
const NO_STATES: StateDecoder = makeStateDecoder(undefined);

/** one per machine: only `state` series decode, and all of a machine's share its stateMap */
function decoderOf(machine: string, cfg: RollupSeriesConfig, decoders: Map<string, StateDecoder>): StateDecoder {
  let d = decoders.get(machine);
  if (d === undefined) {
    d = makeStateDecoder(cfg.stateMap?.(machine));
    decoders.set(machine, d);
  }
  return d;
}

export function freshSeriesState(sid: number, machine: string, signal: string, cfg: RollupSeriesConfig, decoders: Map<string, StateDecoder>): SeriesState {
  const kind: Kind = isCounterSignal(signal) ? 'counter' : signal === 'state' ? 'state' : 'gauge';
  return {
    id: sid,
    machine,
    signal,
    kind,
    rollover: kind === 'counter' ? cfg.rollover(machine, signal) : 0,
    maxHold: cfg.maxHoldMs(machine),
    decoder: kind === 'state' ? decoderOf(machine, cfg, decoders) : NO_STATES,
    hasLast: false,
    lastTs: 0,
    holdSlot: -1,
    holdValue: Number.NaN,
    hasGood: false,
    lastGood: 0,
    acc: undefined,
    batch: 0,
    batchNewest: -Infinity,
  };
}

/**
 * Loads a fresh state's newest sample and counter baseline from the series' newest hour row
 * (the last sample and the last good one). Only series that have a state have contributions
 * pending, so for this one the tables hold every sample up to `processedId`.
 */
export function warmSeriesState(db: Database.Database, stmt: RollupStatements, st: SeriesState, processedId: number): void {
  const sid = st.id;
  const h = stmt.newestHour.get(sid) as { last_ts: number; last_value: DbValue; last_quality: number; last_good_ts: number | null; last_good_value: DbValue } | undefined;
  if (h === undefined) return;
  const warm = new Accumulator(Infinity, Infinity);
  if (st.kind === 'counter') {
    // the counter baseline: the last good numeric value (normally in the same row)
    let good: { ts: number; value: DbValue } | undefined;
    if (h.last_good_ts !== null) good = { ts: h.last_good_ts, value: h.last_good_value };
    else {
      const r = stmt.lastGoodHour.get(sid) as { last_good_ts: number; last_good_value: DbValue } | undefined;
      if (r) good = { ts: r.last_good_ts, value: r.last_good_value };
    }
    if (good !== undefined && typeof good.value !== 'number') {
      // a good non-numeric counter value (rare): the last numeric one from raw rows
      const r = db
        .prepare("SELECT ts, value FROM samples WHERE series = ? AND id <= ? AND quality = 0 AND typeof(value) IN ('integer', 'real') ORDER BY ts DESC, id DESC LIMIT 1")
        .get(sid, processedId) as { ts: number; value: DbValue } | undefined;
      good = r;
    }
    if (good !== undefined) warm.add(st, good.ts, good.value, 0);
  }
  warm.add(st, h.last_ts, h.last_value, h.last_quality);
}
