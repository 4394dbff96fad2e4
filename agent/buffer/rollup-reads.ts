/**
 * Reads of the rollup tables (rollups.ts describes them): rows with the open hold of each
 * series' newest sample added as the KPI engine counts it, and the baselines before a time.
 * The store flushes before calling these.
 */
import type Database from 'better-sqlite3';
import { QUALITY_NAME } from './quality-codes.ts';
import { MACHINE_STATES, type MachineState, type SampleValue } from '../model/index.ts';
import { Accumulator, mergeTail, newAcc, orNull, valueOf, type Acc, type DbValue, type SeriesState } from './rollup-accumulator.ts';
import { allSeries, COLUMNS, fromDb, type DbRollupRow } from './rollup-sql.ts';
import { HOUR_MS, MINUTE_MS, type Baseline, type OpenHoldHour, type Resolution, type RollupRow } from './rollups.ts';

/** Rollup rows of machines' series with start in [from, to), including open holds. */
export function readRollupRows(db: Database.Database, machines: readonly string[], from: number, to: number, resolution: Resolution, stateOf: (sid: number) => SeriesState): RollupRow[] {
  const table = resolution === 'hour' ? 'rollup_hour' : 'rollup_minute';
  const size = resolution === 'hour' ? HOUR_MS : MINUTE_MS;
  const wanted = new Set(machines);
  const out: RollupRow[] = [];
  const q = db.prepare(`SELECT ${COLUMNS} FROM ${table} WHERE series = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`);
  const series = allSeries(db).filter((s) => wanted.has(s.machine));
  for (const s of series) {
    const byBucket = new Map<number, Acc>();
    for (const r of q.all(s.id, from, to) as DbRollupRow[]) byBucket.set(r.bucket, fromDb(r));
    // the newest sample's hold is open: count it up to maxHold, as the KPI engine does
    addOpenHold(byBucket, stateOf(s.id), from, to, size);
    for (const b of [...byBucket.keys()].sort((x, y) => x - y)) out.push(toRow(s.machine, s.signal, byBucket.get(b) as Acc, size));
  }
  out.sort((a, b) => (a.machine < b.machine ? -1 : a.machine > b.machine ? 1 : a.signal < b.signal ? -1 : a.signal > b.signal ? 1 : a.start - b.start));
  return out;
}

/** The open hold of series `st`'s newest sample per hour in [from, to) (RollupStore.openHoldHours). */
export function openHoldHours(st: SeriesState, from: number, to: number): OpenHoldHour[] {
  const hours = new Map<number, Acc>();
  addOpenHold(hours, st, from, to, HOUR_MS);
  return [...hours.values()].sort((x, y) => x.bucket - y.bucket).map((a) => ({ bucket: a.bucket, stateMs: [a.st0, a.st1, a.st2, a.st3], integral: a.integral }));
}

/** Adds the open hold of series `st`'s newest sample in [from, to) to `byBucket`, in buckets of `size` ms. */
function addOpenHold(byBucket: Map<number, Acc>, st: SeriesState, from: number, to: number, size: number): void {
  for (const a of openHoldMinutes(st, from, to)) {
    const b = Math.floor(a.bucket / size) * size;
    let into = byBucket.get(b);
    if (into === undefined) {
      into = newAcc(st.id, b);
      byBucket.set(b, into);
    }
    mergeTail(into, a);
  }
}

/** The minutes of the open hold of a series' newest sample, clipped to [from, to). */
function openHoldMinutes(st: SeriesState, from: number, to: number): Iterable<Acc> {
  if (!st.hasLast || (st.holdSlot < 0 && Number.isNaN(st.holdValue))) return [];
  const tail = new Accumulator(from, to);
  const saved = st.acc;
  st.acc = undefined;
  tail.span(st, st.lastTs, st.lastTs + st.maxHold, st.holdSlot, st.holdValue);
  st.acc = saved;
  return tail.minutes.values();
}

/** Per signal of `machine`: the last sample and the last good sample with ts < t (t hour-aligned). */
export function readBaselines(db: Database.Database, machine: string, t: number): Baseline[] {
  const hour = Math.floor(t / HOUR_MS) * HOUR_MS;
  const last = db.prepare('SELECT last_ts, last_value, last_quality FROM rollup_hour WHERE series = ? AND bucket < ? AND last_ts IS NOT NULL ORDER BY bucket DESC LIMIT 1');
  const good = db.prepare('SELECT last_good_ts, last_good_value FROM rollup_hour WHERE series = ? AND bucket < ? AND last_good_ts IS NOT NULL ORDER BY bucket DESC LIMIT 1');
  return allSeries(db)
    .filter((s) => s.machine === machine)
    .map((s) => {
      const l = last.get(s.id, hour) as { last_ts: number; last_value: DbValue; last_quality: number } | undefined;
      const g = good.get(s.id, hour) as { last_good_ts: number; last_good_value: DbValue } | undefined;
      return {
        signal: s.signal,
        last: l ? { ts: l.last_ts, value: toSampleValue(l.last_value), quality: QUALITY_NAME[l.last_quality] ?? 'bad' } : null,
        lastGood: g ? { ts: g.last_good_ts, value: toSampleValue(g.last_good_value) } : null,
      };
    });
}

function toSampleValue(v: DbValue): SampleValue {
  return v;
}

function toRow(machine: string, signal: string, a: Acc, size: number): RollupRow {
  const slots = [a.st0, a.st1, a.st2, a.st3];
  const stateMs = {} as Record<MachineState, number>;
  MACHINE_STATES.forEach((name, i) => (stateMs[name] = slots[i] ?? 0));
  return {
    machine,
    signal,
    start: a.bucket,
    end: a.bucket + size,
    samples: a.n,
    goodSamples: a.nGood,
    numericCount: a.numN,
    sum: a.numSum,
    min: orNull(a.numMin),
    max: orNull(a.numMax),
    delta: a.delta,
    stateMs,
    integral: a.integral,
    heldMs: a.heldMs,
    firstTs: orNull(a.firstTs),
    lastTs: orNull(a.lastTs),
    lastValue: toSampleValue(valueOf(a.lastNum, a.lastText)),
    lastQuality: a.lastQuality < 0 ? null : (QUALITY_NAME[a.lastQuality] ?? 'bad'),
    lastGoodTs: orNull(a.lastGoodTs),
    lastGoodValue: toSampleValue(valueOf(a.lastGoodNum, a.lastGoodText)),
  };
}
