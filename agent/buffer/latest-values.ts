/**
 * The newest value of every series (the dashboard's live view), kept in memory: updated in
 * place per committed sample, restored at start-up from the rollups (a writer) or raw rows.
 */
import type Database from 'better-sqlite3';
import type { Quality, SampleValue, StoredSample } from '../model/index.ts';
import { setById } from './by-id.ts';
import { QUALITY_NAME } from './quality-codes.ts';
import type { SeriesName } from './series-registry.ts';

export interface LatestValue {
  machine: string;
  signal: string;
  ts: number;
  value: SampleValue;
  quality: Quality;
  /** when the value last changed (for states: "in this state since") */
  since: number;
}

/**
 * latestById's entry, updated in place per committed sample. A number value sits in a double
 * field, which V8 overwrites in place; a field that may also hold a string or null would box
 * every new number in a fresh heap object, promoted by the next scavenges (it lives for a
 * second, until the series' next sample): one per sample at 50,000 tags.
 */
export interface LatestSlot {
  machine: string;
  signal: string;
  ts: number;
  isNum: boolean;
  /** the value when isNum, else NaN */
  num: number;
  /** the value when not a number, else null */
  other: SampleValue;
  quality: Quality;
  since: number;
}

function latestSlot(machine: string, signal: string, ts: number, value: SampleValue, quality: Quality, since: number): LatestSlot {
  const slot: LatestSlot = { machine, signal, ts, isNum: true, num: NaN, other: null, quality, since };
  putValue(slot, value);
  return slot;
}

/** the value into the slot's number or other field */
function putValue(slot: LatestSlot, v: SampleValue): void {
  if (typeof v === 'number') {
    slot.isNum = true;
    slot.num = v;
    slot.other = null;
  } else {
    slot.isNum = false;
    slot.num = NaN;
    slot.other = v;
  }
}

/** in place: one object per series, not one per sample (latestValues hands out copies) */
export function updateLatest(latestById: (LatestSlot | undefined)[], k: number, s: StoredSample): void {
  const prev = latestById[k];
  if (prev === undefined) {
    setById(latestById, k, latestSlot(s.machine, s.signal, s.ts, s.value, s.quality, s.ts));
    return;
  }
  if (prev.ts > s.ts) return; // a late sample does not change "now"
  const v = s.value;
  const same = typeof v === 'number' ? prev.isNum && prev.num === v : !prev.isNum && prev.other === v;
  if (!same || prev.quality !== s.quality) prev.since = s.ts;
  putValue(prev, v);
  prev.ts = s.ts;
  prev.quality = s.quality;
}

export function latestValues(latestById: readonly (LatestSlot | undefined)[], machine?: string): LatestValue[] {
  const out: LatestValue[] = [];
  for (const l of latestById) {
    if (l !== undefined && (machine === undefined || l.machine === machine)) {
      out.push({ machine: l.machine, signal: l.signal, ts: l.ts, value: l.isNum ? l.num : l.other, quality: l.quality, since: l.since });
    }
  }
  return out;
}

/**
 * The newest value of every series at start-up. A writer has just replayed its rollups, so
 * each series' newest hour row holds it: one key seek per series. (The samples table is
 * indexed by ts only: a per-series scan would read the whole table for a quiet series, hours
 * for a big buffer with many tags.) A read-only reader cannot count on the writer having
 * flushed its rollups and reads raw rows. `since` is restored exactly for `state` (the
 * dashboard's "in this state since"); other signals start from their newest sample.
 */
export function loadLatest(db: Database.Database, series: ReadonlyMap<number, SeriesName>, latestById: (LatestSlot | undefined)[], readonly: boolean): void {
  const newestHour = db.prepare('SELECT last_ts AS ts, last_value AS value, last_quality AS quality FROM rollup_hour WHERE series = ? AND last_ts IS NOT NULL ORDER BY bucket DESC LIMIT 1');
  const newestRaw = db.prepare('SELECT ts, value, quality FROM samples WHERE series = ? ORDER BY ts DESC, id DESC LIMIT 1');
  const last = readonly ? newestRaw : newestHour;
  for (const [id, s] of series) {
    const r = last.get(id) as { ts: number; value: SampleValue; quality: number } | undefined;
    if (!r) continue;
    const since = s.signal === 'state' ? stateSince(db, id, r, readonly) : r.ts;
    setById(latestById, id, latestSlot(s.machine, s.signal, r.ts, r.value, QUALITY_NAME[r.quality] ?? 'bad', since));
  }
}

/**
 * When the newest value of a state series began: its minute rollups walked back from the
 * newest; a minute that ended on another value (or quality) ends the walk, the run began at
 * the first sample after it. A minute holding several samples may hide another value inside:
 * its raw rows are checked (that minute only). A read-only reader scans raw rows.
 */
function stateSince(db: Database.Database, id: number, newest: { ts: number; value: SampleValue; quality: number }, readonly: boolean): number {
  // (ts, id) order, as everywhere: equal timestamps are ordered by arrival
  const otherIn = db.prepare('SELECT ts, id FROM samples WHERE series = ? AND ts >= ? AND ts < ? AND (value IS NOT ? OR quality != ?) ORDER BY ts DESC, id DESC LIMIT 1');
  const firstAfter = db.prepare('SELECT ts FROM samples WHERE series = ? AND (ts > ? OR (ts = ? AND id > ?)) ORDER BY ts, id LIMIT 1');
  const runAfter = (other: { ts: number; id: number }): number => (firstAfter.get(id, other.ts, other.ts, other.id) as { ts: number } | undefined)?.ts ?? newest.ts;
  if (readonly) {
    const other = otherIn.get(id, -Infinity, Infinity, newest.value, newest.quality) as { ts: number; id: number } | undefined;
    return other ? runAfter(other) : ((firstAfter.get(id, -Infinity, -Infinity, 0) as { ts: number } | undefined)?.ts ?? newest.ts);
  }
  const rows = db
    .prepare('SELECT bucket, n, first_ts, last_ts, last_value, last_quality FROM rollup_minute WHERE series = ? ORDER BY bucket DESC')
    .iterate(id) as IterableIterator<{ bucket: number; n: number; first_ts: number; last_ts: number; last_value: SampleValue; last_quality: number }>;
  let since = newest.ts;
  for (const r of rows) {
    if (r.n === 0) continue; // a minute the previous value was only held through
    // the minute's last sample is the newest of its timestamp (ties go to the later arrival)
    if (r.last_value !== newest.value || r.last_quality !== newest.quality) return runAfter({ ts: r.last_ts, id: Number.MAX_SAFE_INTEGER });
    if (r.n > 1) {
      const other = otherIn.get(id, r.bucket, r.bucket + 60_000, newest.value, newest.quality) as { ts: number; id: number } | undefined;
      if (other) return runAfter(other);
    }
    since = r.first_ts;
  }
  return since;
}
