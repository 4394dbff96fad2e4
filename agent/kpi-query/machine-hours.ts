/**
 * A machine's full past hours as its hour rollup rows say (agent/buffer/kpi-reads.ts: typed
 * arrays per series), turned into the components the engine would compute from raw rows. The
 * hours stay in the rows they came from (an HourBlock in the cache), and their components are
 * built when asked: a month of 50 machines is 36,000 hours, and an object each, kept, costs more
 * to allocate and to carry through the garbage collector than reading them again.
 */
import { accumulate, completeUnits, ZERO_COMPONENTS, type EnergySource, type KpiComponents } from '../kpi/index.ts';
import type { HourSeries } from '../buffer/index.ts';
import { COUNTER_SIGNALS } from '../model/index.ts';
import type { CacheEntry } from './component-cache.ts';
import { HOUR_MS } from './fine-windows.ts';

/** A cursor over one series' hour rows: the next hour in one step, any other by a search. */
class SeriesCursor {
  private i = 0;
  constructor(readonly rows: HourSeries) {}

  /** The row index of hour `h`, or -1 when the series has no row there. */
  at(h: number): number {
    const b = this.rows.bucket;
    // the first row at or after h: where the cursor stands when the hours come in order
    if (!((this.i === 0 || (b[this.i - 1] as number) < h) && (this.i === b.length || (b[this.i] as number) >= h))) {
      let lo = 0;
      let hi = b.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((b[mid] as number) < h) lo = mid + 1;
        else hi = mid;
      }
      this.i = lo;
    }
    if (this.i < b.length && b[this.i] === h) return this.i++;
    return -1;
  }
}


/** the counters by index (ENERGY, PARTS_TOTAL … below follow COUNTER_SIGNALS' order) */
const COUNTERS = COUNTER_SIGNALS;
const ENERGY = 0;
const PARTS_TOTAL = 1;
const PARTS_GOOD = 2;
const PARTS_SCRAP = 3;
/** then qa_rejected, qa_escaped, qa_false_reject */
const QA_INSPECTED = 4;

/** One machine's hours, as the engine would compute them from raw rows. */
export class MachineHours {
  /**
   * by COUNTERS index: a counter the machine has counts 0 where it has no row (null: no rows at
   * all), as on the raw path; one it lacks (undefined) is not measured (null in the components)
   */
  private readonly counters: (SeriesCursor | null | undefined)[];
  private readonly power: SeriesCursor | null | undefined;
  private readonly state: SeriesCursor | undefined;
  /** an hour's components, refilled per hour (its lead-time components stay none) */
  private readonly scratch: KpiComponents = { ...ZERO_COMPONENTS, leadTimeHist: {} };
  readonly source: EnergySource;

  constructor(
    series: ReadonlyMap<string, HourSeries> | undefined,
    has: ReadonlySet<string>,
    private readonly ideal: number | null,
  ) {
    const cursor = (sig: string): SeriesCursor | null | undefined => {
      if (!has.has(sig)) return undefined;
      const rows = series?.get(sig);
      return rows ? new SeriesCursor(rows) : null;
    };
    this.counters = COUNTERS.map(cursor);
    const meter = this.counters[ENERGY] !== undefined;
    this.power = meter ? undefined : cursor('power_kw');
    const state = series?.get('state');
    this.state = state ? new SeriesCursor(state) : undefined;
    this.source = meter ? 'counter' : this.power !== undefined ? 'power' : 'none';
  }

  /** The components of hour `h` (a new object, keys in ZERO_COMPONENTS' order as the rows' JSON lists them). */
  components(h: number, inShift: boolean, price: number | null, factor: number | null): KpiComponents {
    return { ...this.values(h, inShift, price, factor), leadTimeHist: {} };
  }

  /** Adds hour `h` into `acc[parent]` with the engine's own `accumulate`, without an object for the hour. */
  addTo(acc: (KpiComponents | undefined)[], parent: number, h: number, inShift: boolean, price: number | null, factor: number | null): void {
    accumulate(acc, parent, this.values(h, inShift, price, factor));
  }

  /** Hour `h`'s figures, into the one scratch object of this machine (no allocation per hour). */
  private values(h: number, inShift: boolean, price: number | null, factor: number | null): KpiComponents {
    const v = this.scratch;
    const units = completeUnits(this.delta(PARTS_TOTAL, h), this.delta(PARTS_GOOD, h), this.delta(PARTS_SCRAP, h));
    const energy = this.source === 'counter' ? this.delta(ENERGY, h) : this.source === 'power' ? this.integral(h) / 3_600_000 : null;
    // ms running, idle, down, planned_stop; none outside shifts
    const i = inShift && this.state ? this.state.at(h) : -1;
    const ms = this.state?.rows.stateMs ?? [];
    const run = i < 0 ? 0 : (ms[0]?.[i] as number);
    const idle = i < 0 ? 0 : (ms[1]?.[i] as number);
    const down = i < 0 ? 0 : (ms[2]?.[i] as number);
    const stop = i < 0 ? 0 : (ms[3]?.[i] as number);
    const known = run + idle + down + stop;
    v.windowS = HOUR_MS / 1000;
    v.plannedS = inShift ? (HOUR_MS - stop) / 1000 : 0;
    v.runningS = run / 1000;
    v.idleS = idle / 1000;
    v.downS = down / 1000;
    v.plannedStopS = stop / 1000;
    v.unknownS = inShift ? (HOUR_MS - known) / 1000 : 0;
    v.unscheduledS = inShift ? 0 : HOUR_MS / 1000;
    v.energyKwh = energy;
    v.unitsTotal = units.unitsTotal;
    v.unitsGood = units.unitsGood;
    v.unitsScrap = units.unitsScrap;
    v.idealS = this.ideal !== null && units.unitsTotal !== null ? this.ideal * units.unitsTotal : null;
    v.qaInspected = this.delta(QA_INSPECTED, h);
    v.qaRejected = this.delta(QA_INSPECTED + 1, h);
    v.qaEscaped = this.delta(QA_INSPECTED + 2, h);
    v.qaFalseReject = this.delta(QA_INSPECTED + 3, h);
    v.energyCost = energy !== null && price !== null ? energy * price : null;
    v.co2eKg = energy !== null && factor !== null ? energy * factor : null;
    return v;
  }

  private delta(k: number, h: number): number | null {
    const c = this.counters[k];
    if (c === undefined) return null;
    const i = c === null ? -1 : c.at(h);
    return i < 0 ? 0 : (c?.rows.value[i] as number);
  }

  private integral(h: number): number {
    const i = this.power ? this.power.at(h) : -1;
    return i < 0 ? 0 : (this.power?.rows.value[i] as number);
  }
}

/** Full past hours of one machine read from the rollups, kept as rows; an entry is built when asked. */
export class HourBlock {
  /** 0 once a commit reached the hour */
  private readonly alive: Uint8Array;
  private aliveCount: number;

  constructor(
    private readonly hours: MachineHours,
    /** hour starts, ascending */
    private readonly starts: Float64Array,
    private readonly inShift: Uint8Array,
    /** the price of each hour (NaN: none) */
    private readonly price: Float64Array,
    private readonly factor: number | null,
  ) {
    this.alive = new Uint8Array(starts.length).fill(1);
    this.aliveCount = starts.length;
  }

  /** hours kept */
  get size(): number {
    return this.aliveCount;
  }

  /** The entry of the hour starting at `start`, if the block holds it. */
  entry(start: number): CacheEntry | undefined {
    const s = this.starts;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((s[mid] as number) < start) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= s.length || s[lo] !== start || this.alive[lo] === 0) return undefined;
    const p = this.price[lo] as number;
    return { end: start + HOUR_MS, components: this.hours.components(start, this.inShift[lo] === 1, Number.isNaN(p) ? null : p, this.factor), source: this.hours.source };
  }

  /** Drops the hours that end after `ts`; returns how many. */
  dropEndingAfter(ts: number): number {
    let n = 0;
    for (let i = this.starts.length - 1; i >= 0 && (this.starts[i] as number) + HOUR_MS > ts; i--) {
      if (this.alive[i] === 1) {
        this.alive[i] = 0;
        n++;
      }
    }
    this.aliveCount -= n;
    return n;
  }
}
