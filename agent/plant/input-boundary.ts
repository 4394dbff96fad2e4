/**
 * The one boundary for plant input (DESIGN.md §2, STYLE.md 14): every sample of a source passes
 * here before the buffer. A timestamp outside the accepted window, a name that is not safe as a
 * topic level, a value that is not finite or too long, and a series past the source's cap leave
 * as a rejection with its reason (the runtime stores it as a dead letter); past here, nobody
 * distrusts a timestamp or a name again.
 *
 * Hot path: a sample of a series seen before costs a window compare, a value check and two
 * hash look-ups; names are checked once per series, when it first arrives.
 */
import { INPUT_LIMITS, nameProblem, quote, type Sample } from '../model/index.ts';

export type BadTimestamp = 'deadLetter' | 'arrival';

export interface BoundaryPolicy {
  /** a timestamp further ahead of arrival than this is out of the window */
  maxFutureMs: number;
  /** a timestamp older than arrival minus this is out of the window (buffer.retainDays) */
  retainMs: number;
  /** what happens to a sample whose timestamp is out of the window */
  badTimestamp: BadTimestamp;
  /** distinct series this source may create; more are refused */
  maxSeries: number;
}

export const INPUT_BOUNDARY_DEFAULTS = {
  /** no plant data is older than this (2000-01-01T00:00:00Z): earlier is a clock that was never set */
  floorMs: Date.UTC(2000, 0, 1),
  maxFutureS: 300,
  badTimestamp: 'deadLetter' as BadTimestamp,
  maxSeries: 10_000,
  /** refused series remembered (each is dead-lettered once); past this they are only counted */
  maxRefusedTracked: 100_000,
} as const;

export type Reject = (sample: Sample, reason: string) => void;

const YEAR_MS = 365.25 * 86_400_000;

/** "3.1e+6 years", "2.5 days", "40 s": how far a timestamp is off, for a reason. */
export function span(ms: number): string {
  const units: [number, string][] = [[YEAR_MS, 'years'], [86_400_000, 'days'], [3_600_000, 'h'], [1000, 's']];
  for (const [u, name] of units) {
    const v = ms / u;
    if (v >= 1 || u === 1000) return `${v >= 1e5 ? v.toExponential(1) : Number(v.toPrecision(3))} ${name}`;
  }
  return `${ms} ms`;
}

export class SourceBoundary {
  /** series admitted so far: machine → signals */
  private readonly known = new Map<string, Set<string>>();
  private seriesCount = 0;
  /** the previous sample's machine and its signals: a message or a poll usually holds several signals of one machine */
  private lastMachine: string | undefined;
  private lastSignals: Set<string> | undefined;
  private readonly refused = new Set<string>();
  /** series stored in earlier runs: counted against the cap, admitted (and announced) when they arrive */
  private readonly seeded = new Set<string>();
  /** distinct series refused because the source reached maxSeries */
  seriesCapped = 0;
  /** samples whose timestamp was out of the window and set to their arrival time */
  clamped = 0;

  constructor(
    private readonly policy: BoundaryPolicy,
    /** called once per series admitted (binding, health) */
    private readonly onNewSeries: (machine: string, signal: string) => void = () => undefined,
  ) {}

  /** Counts a series stored for this source in an earlier run against its cap. */
  seed(machine: string, signal: string): void {
    const key = `${machine}\u0000${signal}`;
    if (this.seeded.has(key)) return;
    this.seeded.add(key);
    this.seriesCount++;
  }

  /** The samples that pass, in order (the same array when all pass); the rest go to `reject`. */
  admit(samples: readonly Sample[], now: number, reject: Reject): readonly Sample[] {
    const lo = Math.max(INPUT_BOUNDARY_DEFAULTS.floorMs, now - this.policy.retainMs);
    const hi = now + this.policy.maxFutureMs;
    let out: Sample[] | undefined;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i] as Sample;
      const r = this.check(s, lo, hi, now, reject);
      if (r === s && out === undefined) continue;
      out ??= samples.slice(0, i);
      if (r !== null) out.push(r);
    }
    return out ?? samples;
  }

  /** The sample, its replacement (clamped or rounded timestamp), or null when rejected. */
  private check(s: Sample, lo: number, hi: number, now: number, reject: Reject): Sample | null {
    let out = s;
    const ts = s.ts;
    if (!(ts >= lo && ts <= hi)) {
      const why = this.timestampProblem(ts, lo, now);
      if (this.policy.badTimestamp === 'deadLetter') {
        reject(s, why);
        return null;
      }
      this.clamped++;
      out = { ...s, ts: now };
    } else if (Math.floor(ts) !== ts) out = { ...s, ts: Math.round(ts) };
    const v = s.value;
    if (typeof v === 'number') {
      if (v - v !== 0) {
        reject(s, `value ${String(v)} is not a finite number`);
        return null;
      }
    } else if (typeof v === 'string') {
      if (v.length > INPUT_LIMITS.maxStringValueChars) {
        reject(s, `text value of ${v.length} chars exceeds ${INPUT_LIMITS.maxStringValueChars}`);
        return null;
      }
    } else if (v !== null && typeof v !== 'boolean') {
      reject(s, `value of type ${typeof v} is not a number, text, boolean or null`);
      return null;
    }
    if (s.machine !== this.lastMachine) {
      this.lastMachine = s.machine;
      this.lastSignals = this.known.get(s.machine);
    }
    if (this.lastSignals?.has(s.signal) === true) return out;
    return this.admitSeries(s, reject) ? out : null;
  }

  /** A series seen for the first time: its names checked, then the cap. */
  private admitSeries(s: Sample, reject: Reject): boolean {
    const problem = nameProblem('machine', s.machine) ?? nameProblem('signal', s.signal);
    if (problem !== undefined) {
      reject(s, problem);
      return false;
    }
    const key = `${s.machine}\u0000${s.signal}`;
    const seeded = this.seeded.delete(key);
    if (!seeded && this.seriesCount >= this.policy.maxSeries) {
      if (this.refused.has(key)) return false;
      this.seriesCapped++;
      // remembered up to a bound: past it a refusal is counted again but no longer stored
      if (this.refused.size >= INPUT_BOUNDARY_DEFAULTS.maxRefusedTracked) return false;
      this.refused.add(key);
      reject(s, `series ${quote(s.machine)} ${quote(s.signal)} refused: the source reached maxSeries ${this.policy.maxSeries} (later samples of it are dropped without a dead letter)`);
      return false;
    }
    let signals = this.known.get(s.machine);
    if (signals === undefined) this.known.set(s.machine, (signals = new Set()));
    signals.add(s.signal);
    this.lastMachine = undefined; // its set may have been created just now
    if (!seeded) this.seriesCount++;
    this.onNewSeries(s.machine, s.signal);
    return true;
  }

  private timestampProblem(ts: unknown, lo: number, now: number): string {
    if (typeof ts !== 'number' || !Number.isFinite(ts)) return `timestamp ${quote(ts)} is not a finite number of epoch ms`;
    if (ts > now) return `timestamp ${ts} is ${span(ts - now)} ahead of arrival (maxFutureS ${this.policy.maxFutureMs / 1000})`;
    const floor = lo === INPUT_BOUNDARY_DEFAULTS.floorMs ? '2000-01-01' : `retainDays ${Number((this.policy.retainMs / 86_400_000).toPrecision(4))}`;
    return `timestamp ${ts} is ${span(now - ts)} before arrival, older than the accepted window (${floor})`;
  }
}
