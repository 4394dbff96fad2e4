/**
 * The in-memory side of the rollups: one accumulator per (series, minute) and what the
 * incremental path remembers per series, updated in place per sample (the commit's hot path).
 */
import { counterDelta } from '../kpi/counter-deltas.ts';
import { decodeState, STATE_COUNT, type StateDecoder } from '../kpi/state-time.ts';
import { MINUTE_MS } from './rollups.ts';

// series * BUCKET_KEY + minute index: unique below 2^53; divisible by 60, so key / 60 keys the hour
const BUCKET_KEY = 1.2e9;

export type DbValue = number | string | null;
export type Kind = 'counter' | 'state' | 'gauge';

/**
 * One (series, bucket) accumulator, also the row shape in memory. It lives for its minute, in
 * the old generation: every field a sample writes holds a plain double (NaN: none) or a small
 * integer, which V8 updates in place.
 * A field that may hold null or a string would box each new number in a fresh heap object that
 * then lives for a second, promoted by every scavenge (≈ 50 bytes a sample at 50,000 series).
 * A value (number, string or null) is kept as two fields: `…Num` (NaN when the value is not a
 * number: stored numbers are finite) and `…Text` (the string, or null).
 */
export interface Acc {
  series: number;
  bucket: number;
  n: number;
  nGood: number;
  numN: number;
  numSum: number;
  numMin: number;
  numMax: number;
  delta: number;
  /** ms per state slot (running, idle, down, planned_stop): plain fields, no array per bucket */
  st0: number;
  st1: number;
  st2: number;
  st3: number;
  integral: number;
  heldMs: number;
  firstTs: number;
  lastTs: number;
  lastNum: number;
  lastText: string | null;
  /** -1: none */
  lastQuality: number;
  lastGoodTs: number;
  lastGoodNum: number;
  lastGoodText: string | null;
}

/** What the incremental path remembers per series: the newest sample and the counter baseline. */
export interface SeriesState {
  id: number;
  machine: string;
  signal: string;
  kind: Kind;
  rollover: number;
  maxHold: number;
  decoder: StateDecoder;
  hasLast: boolean;
  lastTs: number;
  /** state slot held by the newest sample (-1: none) */
  holdSlot: number;
  /** gauge value held by the newest sample (NaN: none) */
  holdValue: number;
  hasGood: boolean;
  lastGood: number;
  /** cache of the accumulator of the newest minute */
  acc: Acc | undefined;
  /** the ingest call that last saw this series, and the newest ts up to there in that call */
  batch: number;
  batchNewest: number;
}

export function newAcc(series: number, bucket: number): Acc {
  return {
    series,
    bucket,
    n: 0,
    nGood: 0,
    numN: 0,
    numSum: 0,
    numMin: NaN,
    numMax: NaN,
    delta: 0,
    st0: 0,
    st1: 0,
    st2: 0,
    st3: 0,
    integral: 0,
    heldMs: 0,
    firstTs: NaN,
    lastTs: NaN,
    lastNum: NaN,
    lastText: null,
    lastQuality: -1,
    lastGoodTs: NaN,
    lastGoodNum: NaN,
    lastGoodText: null,
  };
}

/** null for "none" (NaN), as the tables and the read API have it */
export const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);
/** the value a `…Num` / `…Text` pair holds */
export const valueOf = (num: number, text: string | null): DbValue => (Number.isNaN(num) ? text : num);

/** `into` += `a` (a is newer or disjoint in time; ties in last_ts go to `a`). */
export function mergeAcc(into: Acc, a: Acc): void {
  into.n += a.n;
  into.nGood += a.nGood;
  into.numN += a.numN;
  into.numSum += a.numSum;
  // NaN (none) on either side: a comparison with it is false
  if (!Number.isNaN(a.numMin) && !(a.numMin >= into.numMin)) into.numMin = a.numMin;
  if (!Number.isNaN(a.numMax) && !(a.numMax <= into.numMax)) into.numMax = a.numMax;
  into.delta += a.delta;
  addStates(into, a);
  into.integral += a.integral;
  into.heldMs += a.heldMs;
  if (!Number.isNaN(a.firstTs) && !(a.firstTs >= into.firstTs)) into.firstTs = a.firstTs;
  if (!Number.isNaN(a.lastTs) && !(a.lastTs < into.lastTs)) {
    into.lastTs = a.lastTs;
    into.lastNum = a.lastNum;
    into.lastText = a.lastText;
    into.lastQuality = a.lastQuality;
  }
  if (!Number.isNaN(a.lastGoodTs) && !(a.lastGoodTs < into.lastGoodTs)) {
    into.lastGoodTs = a.lastGoodTs;
    into.lastGoodNum = a.lastGoodNum;
    into.lastGoodText = a.lastGoodText;
  }
}

// the accumulator has one field per state slot
const FOUR_SLOTS: 4 = STATE_COUNT;

function addStates(into: Acc, a: Acc): void {
  into.st0 += a.st0;
  into.st1 += a.st1;
  into.st2 += a.st2;
  into.st3 += a.st3;
}

/** slot: index in MACHINE_STATES (agent/kpi/state-time.ts decodes to it) */
function addStateMs(a: Acc, slot: number, ms: number): void {
  if (slot >= FOUR_SLOTS) throw new Error(`state slot ${slot}`);
  if (slot === 0) a.st0 += ms;
  else if (slot === 1) a.st1 += ms;
  else if (slot === 2) a.st2 += ms;
  else a.st3 += ms;
}

/** Adds only the hold part of a tail accumulator (it holds no samples). */
export function mergeTail(into: Acc, a: Acc): void {
  addStates(into, a);
  into.integral += a.integral;
  into.heldMs += a.heldMs;
}

export function setLast(a: Acc, v: DbValue): void {
  if (typeof v === 'number') {
    a.lastNum = v;
    a.lastText = null;
  } else {
    a.lastNum = NaN;
    a.lastText = v;
  }
}

export function setLastGood(a: Acc, v: DbValue): void {
  if (typeof v === 'number') {
    a.lastGoodNum = v;
    a.lastGoodText = null;
  } else {
    a.lastGoodNum = NaN;
    a.lastGoodText = v;
  }
}

/**
 * Accumulates contributions of samples, in (ts, id) order per series, into minute buckets.
 * With a clip [lo, hi) only contributions inside it are kept (recomputation of a range).
 */
export class Accumulator {
  readonly minutes = new Map<number, Acc>();
  constructor(
    private readonly lo = -Infinity,
    private readonly hi = Infinity,
  ) {}

  get size(): number {
    return this.minutes.size;
  }

  clear(): void {
    this.minutes.clear();
  }

  bucketAcc(st: SeriesState, ts: number): Acc {
    const minute = Math.floor(ts / MINUTE_MS);
    const cached = st.acc;
    if (cached !== undefined && cached.bucket === minute * MINUTE_MS) return cached;
    const k = st.id * BUCKET_KEY + minute;
    let a = this.minutes.get(k);
    if (a === undefined) {
      a = newAcc(st.id, minute * MINUTE_MS);
      this.minutes.set(k, a);
    }
    st.acc = a;
    return a;
  }

  /** One sample: close the previous hold, count the sample, start its hold. */
  add(st: SeriesState, ts: number, value: DbValue, quality: number): void {
    if (st.hasLast) {
      const from = st.lastTs;
      const cap = from + st.maxHold;
      const to = ts < cap ? ts : cap;
      if (to > from) {
        if (st.holdSlot >= 0) this.span(st, from, to, st.holdSlot, 0);
        else if (!Number.isNaN(st.holdValue)) this.span(st, from, to, -1, st.holdValue);
      }
    }
    const isNum = typeof value === 'number' && Number.isFinite(value);
    const good = quality === 0;
    if (ts >= this.lo && ts < this.hi) {
      const a = this.bucketAcc(st, ts);
      a.n++;
      if (!(ts >= a.firstTs)) a.firstTs = ts; // NaN: none yet
      a.lastTs = ts;
      setLast(a, value);
      a.lastQuality = quality;
      if (good) {
        a.nGood++;
        a.lastGoodTs = ts;
        setLastGood(a, value);
        if (isNum) {
          const v = value;
          a.numN++;
          a.numSum += v;
          if (!(v >= a.numMin)) a.numMin = v;
          if (!(v <= a.numMax)) a.numMax = v;
          if (st.kind === 'counter' && st.hasGood) a.delta += counterDelta(st.lastGood, v, st.rollover);
        }
      }
    }
    if (good && isNum && st.kind === 'counter') {
      st.hasGood = true;
      st.lastGood = value;
    }
    st.hasLast = true;
    st.lastTs = ts;
    st.holdSlot = st.kind === 'state' && good ? decodeState(st.decoder, value) : -1;
    st.holdValue = st.kind === 'gauge' && good && isNum ? value : Number.NaN;
  }

  /** A hold [from, to) split over minute buckets (clipped). slot ≥ 0: state ms; else value·ms. */
  span(st: SeriesState, from: number, to: number, slot: number, value: number): void {
    let a = from > this.lo ? from : this.lo;
    const b = to < this.hi ? to : this.hi;
    while (a < b) {
      const end = Math.min(b, (Math.floor(a / MINUTE_MS) + 1) * MINUTE_MS);
      const acc = this.bucketAcc(st, a);
      const ms = end - a;
      if (slot >= 0) addStateMs(acc, slot, ms);
      else {
        acc.integral += value * ms;
        acc.heldMs += ms;
      }
      a = end;
    }
  }
}
