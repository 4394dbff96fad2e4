/**
 * Answers the KPI, benchmark and machine queries of the HTTP API and the CLI: cuts windows in
 * the site's time zone (hours, days, shifts, orders), reads the buffer, and hands the samples
 * to the pure KPI engine (agent/kpi).
 *
 * How a query runs:
 *   1. the user's windows are split at the site's hour boundaries and the tariff's price
 *      changes (fine windows); a full past hour of a machine is kept in an in-memory cache of
 *      its additive components, so a day or a month is a sum of cached hours;
 *   2. full past hours not in the cache come from the buffer's hour rollups (when the hour is
 *      wholly in or out of shifts); the rest is computed from raw samples, read in chunks of at
 *      most a day (memory stays bounded whatever the range); a whole past window made of
 *      cached hours (a day, a shift) is kept too, so a month by day is one lookup per row;
 *   3. fine components are summed into the user's windows, lead times of the orders completed
 *      in each window are added, and every ratio is computed from the sums;
 *   4. line and site rows (`scope`) sum their machines' components, never average ratios.
 * A committed sample drops the cached hours it can change (its machine, from its hour on), so
 * late data recomputes exactly the windows it falls into.
 *
 * `queryJsonChunks` (the HTTP route's path) also keeps the JSON of each whole past machine row
 * (a day, a shift, an hour) as UTF-8 bytes, so a month by day for the fleet is a list of kept
 * buffers written to the socket as they are: no components summed, no lead times or ratios
 * recomputed, no serialisation of 1,500 objects, and no 2 MB string built and encoded per
 * request (on a small VM, touching 2 MB of fresh memory alone costs milliseconds).
 * A row's text is dropped with its window's components (a commit), and when the order book
 * changes the lead times of its window (orders completed on that machine from then on).
 */
import Database from 'better-sqlite3';
import type { SqliteBuffer } from '../buffer/index.ts';
import { AgentError } from '../errors.ts';
import type { Plant } from '../plant/index.ts';
import {
  accumulate,
  completeUnits,
  benchmarkRows,
  buildOrderBook,
  calendarCuts,
  CalendarError,
  hourBoundaries,
  computeMachineKpisByWindow,
  dailyOccurrences,
  figuresFromComponents,
  leadTimeComponents,
  machineOrderPeriods,
  mergeComponents,
  mergeLeadTime,
  NO_MACHINE,
  ORDER_EVENT_SIGNAL,
  ORDER_ID_SIGNAL,
  ordersCompletedIn,
  priceAt,
  priceSegments,
  splitWindows,
  withCostAndCarbon,
  ZERO_COMPONENTS,
  type BenchmarkRow,
  type Cut,
  type EnergySource,
  type FineWindows,
  type Interval,
  type KpiComponents,
  type LeadTimeStats,
  type OrderBook,
  type OrderRecord,
  type PriceSegment,
  type ProductFigures,
  type Tariff,
} from '../kpi/index.ts';
import { COUNTER_SIGNALS, isCounterSignal, isMachineState, type CounterSignal, type MachineState, type SampleValue, type StoredSample } from '../model/index.ts';

export type GroupBy = 'none' | 'hour' | 'shift' | 'day' | 'order';
export type KpiScope = 'machine' | 'line' | 'site';

export interface KpiQuery {
  from: number;
  to: number;
  machine?: string | undefined;
  line?: string | undefined;
  groupBy: GroupBy;
  /** machine rows (default), or rolled up per line or for the site */
  scope?: KpiScope | undefined;
}

/** A machine's row (DESIGN.md §6 `/api/kpis`). */
export interface KpiRow extends KpiRowBody {
  scope: 'machine';
  machine: string;
  line: string;
}

/** A line or site row: its machines' components summed, ratios recomputed. */
export interface RollupRow extends KpiRowBody {
  scope: 'line' | 'site';
  machine: null;
  /** null on site rows */
  line: string | null;
}

export interface KpiRowBody {
  product: string | null;
  /** the shift's name (groupBy=shift) or the order id (groupBy=order) */
  period?: string;
  periodStart: string;
  periodEnd: string;
  energyKwh: number | null;
  energySource: EnergySource | 'mixed';
  unitsTotal: number | null;
  unitsGood: number | null;
  unitsScrap: number | null;
  energyPerUnitKwh: number | null;
  scrapRate: number | null;
  plannedS: number;
  runningS: number;
  unknownS: number;
  /** `runningS / (plannedS − unknownS)`: over the measured part of planned time */
  availability: number | null;
  /** `(plannedS − unknownS) / plannedS`; null when nothing was planned */
  coverage: number | null;
  performance: number | null;
  performanceOver1: boolean;
  quality: number | null;
  oee: number | null;
  qaAccuracy: number | null;
  /** energy cost in `currency` (null without energy.tariff) */
  energyCost: number | null;
  costPerUnit: number | null;
  currency: string;
  /** kg CO2e (null without energy.gridEmissionFactorKgPerKwh) */
  co2eKg: number | null;
  co2ePerUnitKg: number | null;
  /** orders completed in the window; `basis`: measured from release or (no release known) from start */
  leadTime: LeadTimeStats;
  components: KpiComponents;
}

export interface MachineView {
  id: string;
  name: string;
  line: string;
  product: string | null;
  state: MachineState | null;
  stateSince: string | null;
  lastSampleAt: string | null;
}

export interface BenchmarkReport {
  from: string;
  to: string;
  /** cumulative volume is counted from here (the oldest sample in the buffer) */
  volumeSince: string | null;
  rows: BenchmarkRow[];
}

/** A query that cannot be answered as asked: the HTTP API answers 400, `shopfloor-agent kpi` exits 2. */
export class KpiQueryError extends AgentError {
  readonly statusCode = 400;
  constructor(detail: string, options?: { cause?: unknown }) {
    super('SFA_ERR_KPI_QUERY', detail, options);
    this.name = 'KpiQueryError';
  }
}

export interface KpiServiceOptions {
  /** keep full past hours' components in memory (false: every query from raw rows) */
  cache: boolean;
  /**
   * fill full past hours from the buffer's hour rollups instead of raw rows (needs `cache`, and
   * a buffer opened with `rollupSeriesFromConfig(config)`, as the Agent and the CLI do)
   */
  rollups: boolean;
  /** most cached (machine, hour) entries; past it the cache starts over */
  maxCacheEntries: number;
  /** most bytes of kept row JSON (`queryJsonChunks`); past it the kept rows start over */
  maxRowCacheBytes: number;
  /** longest range read from the buffer at once, ms */
  chunkMs: number;
  /** most windows a query may cut */
  maxWindows: number;
}

export const KPI_SERVICE_DEFAULTS: KpiServiceOptions = {
  cache: true,
  rollups: true,
  maxCacheEntries: 500_000,
  // about 45,000 day rows (1.4 kB each): a year by day for 120 machines
  maxRowCacheBytes: 64 * 1024 * 1024,
  chunkMs: 24 * 3600 * 1000,
  maxWindows: 10_000,
};

const HOUR_MS = 3_600_000;
const KPI_SIGNALS = new Set<string>(['power_kw', 'state']);

/** What the KPIs read from one hour of one series' rollup (agent/buffer/rollups.ts). */
interface HourRollup {
  delta: number;
  integral: number;
  stateMs: Record<MachineState, number>;
}

interface CacheEntry {
  end: number;
  components: KpiComponents;
  source: EnergySource;
}

/** The JSON text of a whole past machine row (`label`: the shift's name, if any). */
interface RowText {
  end: number;
  label: string | undefined;
  json: Buffer;
}

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** A machine's orders, sorted by completion, and the order book they came from. */
interface OrderIndex {
  book: OrderBook;
  byMachine: Map<string, OrderRecord[]>;
}

interface MachineCut extends Cut {
  machine?: string;
}

interface Fine {
  start: number;
  end: number;
  parent: number;
  cacheable: boolean;
}

export class KpiService {
  private readonly opts: KpiServiceOptions;
  /** machine → hour start → components of that full past hour */
  private readonly cache = new Map<string, Map<number, CacheEntry>>();
  /** machine → "start|end" → components of a whole past window made of cached hours */
  private readonly cutCache = new Map<string, Map<string, CacheEntry>>();
  /**
   * The signals a machine had when its cache entries were computed: a cached window says
   * "not measured" (null) for a signal the machine did not have yet, so the first sample of a
   * new signal drops the machine's cache (else a KPI asked for at start-up stays null).
   */
  private readonly cachedSignals = new Map<string, Set<string>>();
  /** machine → "start|end" → JSON text of that whole past row (only where cutCache has the window) */
  private readonly rowCache = new Map<string, Map<string, RowText>>();
  private rowCacheBytes = 0;
  private cacheEntries = 0;
  private hoursFromRollupsCount = 0;
  /** order_event and order_id samples by id; loaded on first use, then kept by onCommit */
  private orderSamples: Map<number, StoredSample> | undefined;
  private readonly pendingOrderSamples: StoredSample[] = [];
  private orderBook: OrderBook | undefined;
  /** kept after the book is dropped: a new book is compared with it to drop the rows it changes */
  private orderIndex: OrderIndex | undefined;
  private readonly calendarMemo = new Map<string, unknown>();

  constructor(
    private readonly plant: Plant,
    private readonly buffer: SqliteBuffer,
    options: Partial<KpiServiceOptions> = {},
  ) {
    this.opts = { ...KPI_SERVICE_DEFAULTS, ...options };
    this.buffer.onCommit((samples) => this.onCommit(samples));
  }

  /** Configured machines first, in config order, then machines only seen in data. */
  machineIds(): string[] {
    const seen = this.buffer.machines().filter((m) => !m.startsWith('_') && !this.plant.isConfigured(m));
    return [...this.plant.machineIds(), ...seen];
  }

  machines(): MachineView[] {
    return this.machineIds().map((id) => {
      const m = this.plant.machine(id);
      const latest = this.buffer.latest(id);
      const state = latest.find((l) => l.signal === 'state');
      const last = latest.reduce((t, l) => Math.max(t, l.ts), 0);
      const stateValue = state && state.quality === 'good' && isMachineState(state.value) ? state.value : null;
      return {
        id,
        name: m.name,
        line: m.line,
        product: m.product,
        state: stateValue,
        stateSince: state && stateValue ? new Date(state.since).toISOString() : null,
        lastSampleAt: last > 0 ? new Date(last).toISOString() : null,
      };
    });
  }

  /** Machine rows, or line/site rows when `q.scope` asks for them. */
  query(q: KpiQuery): (KpiRow | RollupRow)[] {
    const scope = q.scope ?? 'machine';
    const rows = this.kpis(q);
    return scope === 'machine' ? rows : this.rollUp(rows, scope, q, this.orders());
  }

  /** The JSON text of `query(q)`: the same characters as `JSON.stringify(query(q))`. */
  queryJson(q: KpiQuery): string {
    return Buffer.concat(this.queryJsonChunks(q)).toString('utf8');
  }

  /**
   * The UTF-8 bytes of `JSON.stringify(query(q))`, in pieces to be written one after another;
   * each whole past machine row is the buffer kept from an earlier query.
   */
  queryJsonChunks(q: KpiQuery): Buffer[] {
    if ((q.scope ?? 'machine') !== 'machine' || q.groupBy === 'order' || !this.opts.cache) return [Buffer.from(JSON.stringify(this.query(q)))];
    const ids = this.selectMachines(q);
    if (ids.length === 0) return [OPEN, CLOSE];
    // first: a changed order book drops the rows whose lead times it changes
    const book = this.orders();
    const cuts = this.calendarCutsOf(q);
    const n = cuts.length;
    const keys = cuts.map((c) => `${c.start}|${c.end}`);
    const parts = new Array<Buffer>(ids.length * n);
    // rows not kept (today's, or dropped by late data): machines with the same gaps share one
    // list of windows, so the engine splits it once (the usual gap: today, on every machine)
    const gaps = new Map<string, { cuts: MachineCut[]; at: number[] }>();
    const stale: { id: string; m: number; gap: { cuts: MachineCut[]; at: number[] } }[] = [];
    ids.forEach((id, m) => {
      const kept = this.rowCache.get(id);
      let missing: number[] | undefined;
      for (let i = 0; i < n; i++) {
        const hit = kept?.get(keys[i] as string);
        if (hit !== undefined && hit.label === (cuts[i] as Cut).label) parts[m * n + i] = hit.json;
        else (missing ??= []).push(i);
      }
      if (!missing) return;
      const sig = missing.length === n ? '*' : missing.join(',');
      let gap = gaps.get(sig);
      if (!gap) {
        gap = { cuts: missing.map((i) => cuts[i] as Cut), at: missing };
        gaps.set(sig, gap);
      }
      stale.push({ id, m, gap });
    });
    if (stale.length > 0) {
      const rows = this.machineRows(
        stale.map((x) => x.id),
        new Map(stale.map((x) => [x.id, x.gap.cuts])),
        q,
        book,
      );
      let r = 0;
      for (const { id, m, gap } of stale) {
        const whole = this.cutCache.get(id);
        for (const i of gap.at) {
          const json = Buffer.from(JSON.stringify(rows[r++]));
          parts[m * n + i] = json;
          // only a whole past window (its components kept) is a row that cannot change by itself
          if (whole?.has(keys[i] as string)) this.storeRow(id, keys[i] as string, { end: (cuts[i] as Cut).end, label: (cuts[i] as Cut).label, json });
        }
      }
    }
    const out = new Array<Buffer>(parts.length * 2 + 1);
    out[0] = OPEN;
    for (let i = 0; i < parts.length; i++) {
      out[2 * i + 1] = parts[i] as Buffer;
      out[2 * i + 2] = i === parts.length - 1 ? CLOSE : COMMA;
    }
    return out;
  }

  /** Machine rows. */
  kpis(q: KpiQuery): KpiRow[] {
    const ids = this.selectMachines(q);
    if (ids.length === 0) return [];
    const book = this.orders();
    const cutsByMachine = new Map<string, MachineCut[]>();
    if (q.groupBy === 'order') {
      for (const id of ids) {
        const cuts = machineOrderPeriods(book, id, q.to)
          .filter((s) => (s.end ?? q.to) > q.from && s.start < q.to)
          .map((s): MachineCut => ({ start: Math.max(s.start, q.from), end: Math.min(s.end ?? q.to, q.to), label: s.orderId }));
        cutsByMachine.set(id, cuts);
      }
    } else {
      const cuts = this.calendarCutsOf(q);
      for (const id of ids) cutsByMachine.set(id, cuts);
    }
    return this.machineRows(ids, cutsByMachine, q, book);
  }

  /** The machines a query asks for, configured ones first. */
  private selectMachines(q: KpiQuery): string[] {
    if (!(q.to > q.from)) throw new KpiQueryError(`"to" must be after "from"`);
    let ids = this.machineIds();
    if (q.machine !== undefined) ids = ids.filter((m) => m === q.machine);
    if (q.line !== undefined) ids = ids.filter((m) => this.lineOf(m) === q.line);
    return ids;
  }

  /** The query's windows (any groupBy but order), a calendar error as a bad query. */
  private calendarCutsOf(q: KpiQuery): Cut[] {
    try {
      return this.cuts(q);
    } catch (e) {
      if (e instanceof CalendarError) throw new KpiQueryError(e.detail, { cause: e });
      throw e;
    }
  }

  /** Rows of `ids` in their windows, machine by machine (a list of windows shared by machines is split once). */
  private machineRows(ids: readonly string[], cutsByMachine: Map<string, MachineCut[]>, q: KpiQuery, book: OrderBook): KpiRow[] {
    const components = this.machineComponents(ids, cutsByMachine);
    const rows: KpiRow[] = [];
    for (const id of ids) {
      const cuts = cutsByMachine.get(id) ?? [];
      const comps = components.get(id) ?? [];
      cuts.forEach((c, i) => {
        const entry = comps[i] ?? { components: { ...ZERO_COMPONENTS, energyKwh: null }, source: 'none' as EnergySource };
        // an order row holds its own order's lead time when it completed in the queried range
        const withOrders =
          q.groupBy === 'order'
            ? this.addLeadTimes(entry.components, this.ordersOf(book, id), q.from, q.to, (o) => o.orderId === c.label)
            : this.addLeadTimes(entry.components, this.ordersOf(book, id), c.start, c.end, () => true);
        rows.push({ scope: 'machine', machine: id, line: this.lineOf(id), ...this.rowBody(this.plant.machine(id).product, c, withOrders, entry.source) });
      });
    }
    return rows;
  }

  /** The brief's comparisons (DESIGN.md §5) over `[from, to)`, per product. */
  benchmarks(from: number, to: number): BenchmarkReport {
    if (!(to > from)) throw new KpiQueryError(`"to" must be after "from"`);
    const ids = this.machineIds();
    const book = this.orders();
    const products = new Map<string, string[]>();
    for (const id of ids) {
      const p = this.plant.machine(id).product;
      if (p === null) continue;
      products.set(p, [...(products.get(p) ?? []), id]);
    }
    for (const o of book.orders) if (o.product !== null && !products.has(o.product)) products.set(o.product, []);
    for (const p of Object.keys(this.plant.benchmarks.baselines)) if (!products.has(p)) products.set(p, []);
    const window = this.kpis({ from, to, groupBy: 'none' });
    const oldest = this.oldestSampleTs();
    const volume = oldest !== null && oldest < to ? this.kpis({ from: oldest, to, groupBy: 'none' }) : [];
    const figures: ProductFigures[] = [];
    for (const [product, machines] of products) {
      const sum = (rows: KpiRow[]): KpiComponents => {
        const mine = rows.filter((r) => machines.includes(r.machine));
        if (mine.length === 0) return { ...ZERO_COMPONENTS, energyKwh: null, unitsTotal: null, unitsGood: null, unitsScrap: null, qaInspected: null, qaRejected: null, qaEscaped: null, qaFalseReject: null, idealS: null };
        // lead times are taken per product below (an order's product, whichever machine)
        return mine.map((r) => ({ ...r.components, ...leadTimeComponents([]) })).reduce((a, b) => mergeComponents(a, b));
      };
      const comps = sum(window);
      const orders = ordersCompletedIn(book.orders, from, to).filter((o) => o.product === product);
      const withLead: KpiComponents = { ...comps, ...leadTimeComponents(orders.map((o) => ({ leadTimeS: o.leadTimeS as number, fromRelease: o.fromRelease }))) };
      const vol = sum(volume);
      figures.push({ product, components: withLead, cumulativeUnits: machines.length === 0 ? null : vol.unitsTotal });
    }
    const bands = this.plant.benchmarks.bands;
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      volumeSince: oldest === null ? null : new Date(oldest).toISOString(),
      rows: benchmarkRows(figures, this.plant.benchmarks.baselines, bands),
    };
  }

  /** Every order known to the buffer (events and order_id changes). */
  orderList(): OrderRecord[] {
    return this.orders().orders;
  }

  series(machine: string, signal: string, from: number, to: number, step?: number): [number, SampleValue][] {
    const last = isCounterSignal(signal) || signal === 'state' || signal === 'order_id';
    return this.buffer.series(machine, signal, from, to, step, last);
  }

  /** Drops every cached hour and window (tests, config reload). */
  clearCache(): void {
    this.cache.clear();
    this.cutCache.clear();
    this.cachedSignals.clear();
    this.cacheEntries = 0;
    this.rowCache.clear();
    this.rowCacheBytes = 0;
  }

  /** full hours taken from the buffer's hour rollups since start (instead of raw rows) */
  get hoursFromRollupTables(): number {
    return this.hoursFromRollupsCount;
  }

  /** cached entries: full hours and whole windows summed from them */
  get cachedEntries(): number {
    return this.cacheEntries;
  }

  /** whole past machine rows kept as JSON (`queryJsonChunks`) */
  get cachedRows(): number {
    let n = 0;
    for (const m of this.rowCache.values()) n += m.size;
    return n;
  }

  // ---- components per machine and window -------------------------------------------------

  private machineComponents(ids: readonly string[], cutsByMachine: Map<string, MachineCut[]>): Map<string, { components: KpiComponents; source: EnergySource }[]> {
    const zone = this.plant.site.timezone;
    const tariff = this.plant.energy.tariff as Tariff | undefined;
    const factor = this.plant.energy.gridEmissionFactorKgPerKwh ?? null;
    let lo = Infinity;
    let hi = -Infinity;
    for (const cuts of cutsByMachine.values()) {
      for (const c of cuts) {
        lo = Math.min(lo, c.start);
        hi = Math.max(hi, c.end);
      }
    }
    const out = new Map<string, { components: KpiComponents; source: EnergySource }[]>();
    if (!(hi > lo)) return out;
    const hours = this.memo(`h${lo}|${hi}`, () => hourBoundaries(zone, lo, hi));
    const hourStarts = this.memo(`hs${lo}|${hi}`, () => new Set(hours));
    const segments: PriceSegment[] = tariff ? this.memo(`p${lo}|${hi}`, () => priceSegments(tariff, zone, lo, hi)) : [];
    const bounds = [...hours, ...segments.map((s) => s.start)];
    const planned = this.plannedIntervals(lo, hi);
    const now = Date.now();

    // per machine: fine windows, cached or to compute
    const missing = new Map<string, Fine[]>();
    const acc = new Map<string, (KpiComponents | undefined)[]>();
    const sources = new Map<string, EnergySource[]>();
    // machines share their cuts unless grouped by order: split each distinct list once
    const splits = new Map<MachineCut[], FineWindows>();
    const cutsToStore: { id: string; cuts: MachineCut[]; whole: Uint8Array; allHours: Uint8Array }[] = [];
    for (const id of ids) {
      const cuts = cutsByMachine.get(id) ?? [];
      let split = splits.get(cuts);
      if (!split) {
        split = splitWindows(cuts.map((c): Interval => [c.start, c.end]), bounds);
        splits.set(cuts, split);
      }
      const cached = this.cache.get(id);
      const cachedCuts = this.cutCache.get(id);
      const a: (KpiComponents | undefined)[] = new Array<KpiComponents | undefined>(cuts.length);
      const src = new Array<EnergySource>(cuts.length).fill('none');
      // a whole past window (a day, a shift) summed before: one lookup instead of its hours
      const whole = new Uint8Array(cuts.length);
      if (cachedCuts) {
        cuts.forEach((c, i) => {
          const hit = cachedCuts.get(`${c.start}|${c.end}`);
          if (hit) {
            a[i] = { ...hit.components, leadTimeHist: { ...hit.components.leadTimeHist } };
            src[i] = hit.source;
            whole[i] = 1;
          }
        });
      }
      const allHours = new Uint8Array(cuts.length).fill(1);
      const todo: Fine[] = [];
      split.fine.forEach((w, k) => {
        const parent = split.parent[k] as number;
        if (whole[parent] === 1) return;
        // a full past hour: fine windows are split at every hour, so both ends on one is one hour
        const full = this.opts.cache && w[1] <= now && hourStarts.has(w[0]) && hourStarts.has(w[1]);
        const hit = full ? cached?.get(w[0]) : undefined;
        if (hit && hit.end === w[1]) {
          accumulate(a, parent, hit.components);
          if (hit.source !== 'none') src[parent] = hit.source;
        } else {
          todo.push({ start: w[0], end: w[1], parent, cacheable: full });
        }
        if (!full) allHours[parent] = 0;
      });
      if (this.opts.cache) cutsToStore.push({ id, cuts, whole, allHours });
      acc.set(id, a);
      sources.set(id, src);
      if (todo.length > 0) missing.set(id, todo);
    }

    // full past hours from the buffer's hour rollups, where the hour is all planned or all not
    if (this.opts.cache && this.opts.rollups && missing.size > 0) {
      this.hoursFromRollups(missing, planned, tariff ? segments : null, factor, (id, f, comps, source) => {
        this.store(id, f.start, { end: f.end, components: comps, source });
        accumulate(acc.get(id) as (KpiComponents | undefined)[], f.parent, comps);
        if (source !== 'none') (sources.get(id) as EnergySource[])[f.parent] = source;
      });
    }

    // compute the missing fine windows from raw rows, chunk by chunk
    for (const chunk of this.chunks(missing)) {
      const machines = [...chunk.windows.keys()];
      const data = this.buffer.window(machines, chunk.start, chunk.end);
      for (const id of machines) {
        const fines = chunk.windows.get(id) ?? [];
        const m = this.plant.machine(id);
        const rows = computeMachineKpisByWindow({
          machine: id,
          windows: fines.map((f): Interval => [f.start, f.end]),
          samples: data.get(id) ?? [],
          rollover: this.rolloverOf(id),
          idealCycleTimeS: m.idealCycleTimeS,
          maxHoldS: m.maxHoldMs / 1000,
          measuredSignals: new Set(this.buffer.signals(id)),
          ...(planned ? { plannedIntervals: planned } : {}),
        });
        const a = acc.get(id) as (KpiComponents | undefined)[];
        const src = sources.get(id) as EnergySource[];
        rows.forEach((r, k) => {
          const f = fines[k] as Fine;
          const comps = withCostAndCarbon(r.components, tariff ? priceAt(segments, f.start) : null, factor);
          if (f.cacheable) this.store(id, f.start, { end: f.end, components: comps, source: r.energySource });
          accumulate(a, f.parent, comps);
          if (r.energySource !== 'none') src[f.parent] = r.energySource;
        });
      }
    }
    // remember whole windows made only of full past hours
    for (const { id, cuts, whole, allHours } of cutsToStore) {
      const a = acc.get(id) ?? [];
      const src = sources.get(id) ?? [];
      cuts.forEach((c, i) => {
        const comps = a[i];
        if (whole[i] === 1 || allHours[i] !== 1 || comps === undefined) return;
        this.storeCut(id, c, { end: c.end, components: { ...comps, leadTimeHist: { ...comps.leadTimeHist } }, source: src[i] ?? 'none' });
      });
    }
    for (const id of ids) {
      const a = acc.get(id) ?? [];
      const src = sources.get(id) ?? [];
      const cuts = cutsByMachine.get(id) ?? [];
      out.set(
        id,
        cuts.map((c, i) => {
          const source: EnergySource = src[i] ?? 'none';
          return { components: a[i] ?? { ...ZERO_COMPONENTS, windowS: (c.end - c.start) / 1000 }, source };
        }),
      );
    }
    return out;
  }

  /**
   * Components of full hours from the hour rollups (Σ counter deltas, ms per state, ∫ power),
   * the same arithmetic as the engine's on raw rows (agent/buffer/rollups.ts). Hours partly in
   * a shift are left to the raw path. Handled windows are removed from `missing`.
   */
  private hoursFromRollups(
    missing: Map<string, Fine[]>,
    planned: readonly Interval[] | undefined,
    segments: readonly PriceSegment[] | null,
    factor: number | null,
    done: (machine: string, f: Fine, c: KpiComponents, source: EnergySource) => void,
  ): void {
    const rollups = this.buffer.rollups as SqliteBuffer['rollups'] | undefined;
    if (!rollups) return;
    // a held value (state, power) after a series' newest sample is not in the rollup tables yet
    // (it is an open hold): those hours go the raw way; counters are complete up to now. A
    // read-only reader beside a running agent sees only the rollups the agent has flushed: its
    // holds end at the newest sample the tables hold, not at the newest raw row it can see.
    const readOnly = this.buffer.readOnly;
    const covered = rollups.coveredUntil(readOnly);
    const complete = (id: string): number => {
      let t = covered;
      for (const l of this.buffer.latest(id)) {
        if (l.signal !== 'state' && l.signal !== 'power_kw') continue;
        t = Math.min(t, readOnly ? (rollups.tablesNewestTs(id, l.signal) ?? -Infinity) : l.ts);
      }
      return t;
    };
    const coverage = (a: number, b: number): number => {
      if (!planned) return b - a;
      let ms = 0;
      for (const [s, e] of planned) ms += Math.max(0, Math.min(b, e) - Math.max(a, s));
      return ms;
    };
    let lo = Infinity;
    let hi = -Infinity;
    const eligible = new Map<string, Fine[]>();
    for (const [id, fines] of missing) {
      const until = complete(id);
      const list = fines.filter((f) => {
        if (!f.cacheable || f.end - f.start !== HOUR_MS || f.start % HOUR_MS !== 0 || f.end > until) return false;
        const cov = coverage(f.start, f.end);
        return cov === 0 || cov === HOUR_MS;
      });
      if (list.length === 0) continue;
      eligible.set(id, list);
      lo = Math.min(lo, list[0]?.start ?? Infinity);
      hi = Math.max(hi, list[list.length - 1]?.end ?? -Infinity);
    }
    if (eligible.size === 0) return;
    const index = this.readHourRollups(rollups, [...eligible.keys()], lo, hi);
    if (!index) return;
    for (const [id, fines] of eligible) {
      const ideal = this.plant.machine(id).idealCycleTimeS;
      // as on the raw path: a signal the machine has counts 0 where it has no samples
      const has = new Set(this.buffer.signals(id));
      const bySignal = index.get(id) ?? new Map<string, Map<number, HourRollup>>();
      const measured = (sig: string, _h: number): boolean => has.has(sig);
      const handled = new Set<Fine>();
      for (const f of fines) {
        const h = f.start;
        const row = (sig: string): HourRollup | undefined => bySignal.get(sig)?.get(h);
        const delta = (sig: string): number | null => (measured(sig, h) ? (row(sig)?.delta ?? 0) : null);
        const units = completeUnits(delta('parts_total'), delta('parts_good'), delta('parts_scrap'));
        let energy: number | null = null;
        let source: EnergySource = 'none';
        if (measured('energy_kwh', h)) {
          energy = row('energy_kwh')?.delta ?? 0;
          source = 'counter';
        } else if (measured('power_kw', h)) {
          energy = (row('power_kw')?.integral ?? 0) / 3_600_000;
          source = 'power';
        }
        const inShift = coverage(f.start, f.end) === HOUR_MS;
        const st = row('state')?.stateMs;
        const ms = (k: MachineState): number => (inShift && st ? st[k] : 0);
        const stopMs = ms('planned_stop');
        const known = ms('running') + ms('idle') + ms('down') + stopMs;
        const c: KpiComponents = {
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
        done(id, f, withCostAndCarbon(c, segments ? priceAt(segments, f.start) : null, factor), source);
        this.hoursFromRollupsCount++;
        handled.add(f);
      }
      const rest = (missing.get(id) ?? []).filter((f) => !handled.has(f));
      if (rest.length === 0) missing.delete(id);
      else missing.set(id, rest);
    }
  }

  /**
   * Hour rollup rows of the KPI signals of `machines` with start in `[from, to)`: machine →
   * signal → hour start → row. Read on a connection of our own, one indexed range per series
   * (the rollup store's own read also computes open holds, which these hours do not need).
   */
  private readHourRollups(rollups: SqliteBuffer['rollups'], machines: readonly string[], from: number, to: number): Map<string, Map<string, Map<number, HourRollup>>> | undefined {
    rollups.flush(); // contributions still in memory (this process's commits) go to the table first
    const db = this.reader();
    if (!db) return undefined;
    try {
      const wanted = new Set(machines);
      const series = (db.prepare('SELECT id, machine, signal FROM series').all() as { id: number; machine: string; signal: string }[]).filter(
        (x) => wanted.has(x.machine) && (isCounterSignal(x.signal) || KPI_SIGNALS.has(x.signal)),
      );
      const q = db.prepare(
        'SELECT bucket, delta, running_ms, idle_ms, down_ms, planned_stop_ms, integral FROM rollup_hour WHERE series = ? AND bucket >= ? AND bucket < ?',
      );
      const out = new Map<string, Map<string, Map<number, HourRollup>>>();
      for (const x of series) {
        let m = out.get(x.machine);
        if (!m) out.set(x.machine, (m = new Map()));
        const buckets = new Map<number, HourRollup>();
        for (const r of q.all(x.id, from, to) as { bucket: number; delta: number; running_ms: number; idle_ms: number; down_ms: number; planned_stop_ms: number; integral: number }[]) {
          buckets.set(r.bucket, {
            delta: r.delta,
            integral: r.integral,
            stateMs: { running: r.running_ms, idle: r.idle_ms, down: r.down_ms, planned_stop: r.planned_stop_ms },
          });
        }
        m.set(x.signal, buckets);
      }
      return out;
    } catch {
      return undefined; // an older buffer without rollup tables: the raw way
    } finally {
      db.close();
    }
  }

  /** Groups fine windows to compute into read chunks: at most chunkMs long, no long gaps. */
  private *chunks(missing: Map<string, Fine[]>): Generator<{ start: number; end: number; windows: Map<string, Fine[]> }> {
    const all: { id: string; f: Fine }[] = [];
    for (const [id, fines] of missing) for (const f of fines) all.push({ id, f });
    all.sort((a, b) => a.f.start - b.f.start);
    let cur: { start: number; end: number; windows: Map<string, Fine[]> } | undefined;
    for (const { id, f } of all) {
      if (cur && (f.end - cur.start > this.opts.chunkMs || f.start > cur.end + HOUR_MS)) {
        yield cur;
        cur = undefined;
      }
      cur ??= { start: f.start, end: f.end, windows: new Map() };
      cur.end = Math.max(cur.end, f.end);
      const list = cur.windows.get(id) ?? [];
      list.push(f);
      cur.windows.set(id, list);
    }
    if (cur) yield cur;
  }

  private storeCut(machine: string, cut: Cut, entry: CacheEntry): void {
    if (this.cacheEntries >= this.opts.maxCacheEntries) this.clearCache();
    if (!this.cachedSignals.has(machine)) this.cachedSignals.set(machine, new Set(this.buffer.signals(machine)));
    let m = this.cutCache.get(machine);
    if (!m) {
      m = new Map();
      this.cutCache.set(machine, m);
    }
    if (!m.has(`${cut.start}|${cut.end}`)) this.cacheEntries++;
    m.set(`${cut.start}|${cut.end}`, entry);
  }

  private storeRow(machine: string, key: string, row: RowText): void {
    if (this.rowCacheBytes + row.json.length > this.opts.maxRowCacheBytes) {
      this.rowCache.clear();
      this.rowCacheBytes = 0;
    }
    let m = this.rowCache.get(machine);
    if (!m) {
      m = new Map();
      this.rowCache.set(machine, m);
    }
    this.rowCacheBytes += row.json.length - (m.get(key)?.json.length ?? 0);
    m.set(key, row);
  }

  /** Drops a machine's kept rows that end after `ts` (all of them without `ts`). */
  private dropRows(machine: string, ts = -Infinity): void {
    const m = this.rowCache.get(machine);
    if (!m) return;
    for (const [k, r] of m) {
      if (r.end > ts) {
        m.delete(k);
        this.rowCacheBytes -= r.json.length;
      }
    }
    if (m.size === 0) this.rowCache.delete(machine);
  }

  private store(machine: string, start: number, entry: CacheEntry): void {
    if (this.cacheEntries >= this.opts.maxCacheEntries) this.clearCache();
    if (!this.cachedSignals.has(machine)) this.cachedSignals.set(machine, new Set(this.buffer.signals(machine)));
    let m = this.cache.get(machine);
    if (!m) {
      m = new Map();
      this.cache.set(machine, m);
    }
    if (!m.has(start)) this.cacheEntries++;
    m.set(start, entry);
  }

  /** A committed sample may change its own hour and later ones (a counter delta, a held value). */
  private onCommit(samples: readonly StoredSample[]): void {
    let minTs: Map<string, number> | undefined;
    for (const s of samples) {
      if (s.signal === ORDER_EVENT_SIGNAL || s.signal === ORDER_ID_SIGNAL) {
        this.pendingOrderSamples.push(s);
        this.orderBook = undefined;
        continue;
      }
      if (!isCounterSignal(s.signal) && !KPI_SIGNALS.has(s.signal)) continue;
      if (!this.cache.has(s.machine) && !this.cutCache.has(s.machine) && !this.rowCache.has(s.machine)) continue;
      const known = this.cachedSignals.get(s.machine);
      if (known && !known.has(s.signal)) {
        // a new signal: every cached window of this machine said "not measured" for it
        this.cacheEntries -= (this.cache.get(s.machine)?.size ?? 0) + (this.cutCache.get(s.machine)?.size ?? 0);
        this.cache.delete(s.machine);
        this.cutCache.delete(s.machine);
        this.cachedSignals.delete(s.machine);
        this.dropRows(s.machine);
        continue;
      }
      minTs ??= new Map();
      const t = minTs.get(s.machine);
      if (t === undefined || s.ts < t) minTs.set(s.machine, s.ts);
    }
    if (!minTs) return;
    for (const [machine, ts] of minTs) {
      this.cacheEntries -= dropEndingAfter(this.cache.get(machine), ts) + dropEndingAfter(this.cutCache.get(machine), ts);
      this.dropRows(machine, ts);
    }
  }

  // ---- orders ------------------------------------------------------------------------------

  private orders(): OrderBook {
    if (!this.orderSamples) {
      this.orderSamples = new Map();
      for (const s of this.readOrderSamples()) this.orderSamples.set(s.id, s);
    }
    if (this.pendingOrderSamples.length > 0) {
      for (const s of this.pendingOrderSamples) this.orderSamples.set(s.id, s);
      this.pendingOrderSamples.length = 0;
      this.orderBook = undefined;
    }
    if (!this.orderBook) {
      const book = buildOrderBook([...this.orderSamples.values()], (m) => this.plant.machine(m).product);
      const index: OrderIndex = { book, byMachine: new Map() };
      for (const o of book.orders) {
        const list = index.byMachine.get(o.machine) ?? [];
        list.push(o);
        index.byMachine.set(o.machine, list);
      }
      if (this.orderIndex) this.dropRowsOfChangedOrders(this.orderIndex.byMachine, index.byMachine);
      this.orderBook = book;
      this.orderIndex = index;
    }
    return this.orderBook;
  }

  /**
   * A row counts the lead times of its machine's orders completed in its window. Both lists
   * are sorted by completion, so up to the first order that differs (in completion, lead time
   * or basis) they agree: rows that end by then count the same orders, later ones are dropped.
   */
  private dropRowsOfChangedOrders(before: Map<string, OrderRecord[]>, after: Map<string, OrderRecord[]>): void {
    for (const machine of new Set([...before.keys(), ...after.keys()])) {
      if (!this.rowCache.has(machine)) continue;
      const a = before.get(machine) ?? [];
      const b = after.get(machine) ?? [];
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        const x = a[i];
        const y = b[i];
        if (x && y && x.completedAt === y.completedAt && x.leadTimeS === y.leadTimeS && x.fromRelease === y.fromRelease) continue;
        this.dropRows(machine, Math.min(x?.completedAt ?? Infinity, y?.completedAt ?? Infinity));
        break;
      }
    }
  }

  /**
   * Order samples are rare and an order's release may be weeks before its completion, so they
   * are read once from the whole buffer (one scan, on a connection of our own: the buffer has
   * no per-signal read yet) and kept current from the commits.
   */
  private readOrderSamples(): StoredSample[] {
    const db = this.reader();
    if (!db) return [];
    try {
      const rows = db
        .prepare(
          // no ORDER BY: a sequential scan of the table beats walking the ts index (the book sorts)
          `SELECT s.id, s.ts, s.value, s.quality, r.machine, r.signal FROM samples s JOIN series r ON r.id = s.series
           WHERE s.series IN (SELECT id FROM series WHERE signal IN (?, ?))`,
        )
        .all(ORDER_EVENT_SIGNAL, ORDER_ID_SIGNAL) as { id: number; ts: number; value: SampleValue; quality: number; machine: string; signal: string }[];
      return rows.map((r) => ({ id: r.id, ts: r.ts, value: r.value, quality: r.quality === 0 ? 'good' : r.quality === 1 ? 'uncertain' : 'bad', machine: r.machine, signal: r.signal }));
    } finally {
      db.close();
    }
  }

  private oldestSampleTs(): number | null {
    const db = this.reader();
    if (!db) return null;
    try {
      const r = db.prepare('SELECT MIN(ts) AS ts FROM samples').get() as { ts: number | null };
      return r.ts;
    } finally {
      db.close();
    }
  }

  private reader(): Database.Database | undefined {
    try {
      const db = new Database(this.buffer.path, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      return db;
    } catch {
      return undefined;
    }
  }

  /** Adds the lead times of the orders completed in `[from, to)` (book.orders is sorted by completion). */
  private addLeadTimes(c: KpiComponents, orders: readonly OrderRecord[], from: number, to: number, mine: (o: OrderRecord) => boolean): KpiComponents {
    let lo = 0;
    let hi = orders.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (((orders[mid] as OrderRecord).completedAt ?? Infinity) < from) lo = mid + 1;
      else hi = mid;
    }
    const done: { leadTimeS: number; fromRelease: boolean }[] = [];
    for (let i = lo; i < orders.length; i++) {
      const o = orders[i] as OrderRecord;
      if (o.completedAt === null || o.completedAt >= to) break;
      if (o.leadTimeS !== null && mine(o)) done.push({ leadTimeS: o.leadTimeS, fromRelease: o.fromRelease });
    }
    return done.length === 0 ? c : { ...c, ...leadTimeComponents(done) };
  }

  /** The orders counted on one machine, sorted by completion (indexed once per order book). */
  private ordersOf(book: OrderBook, machine: string): readonly OrderRecord[] {
    if (this.orderIndex?.book === book) return this.orderIndex.byMachine.get(machine) ?? [];
    return book.orders.filter((o) => o.machine === machine);
  }

  // ---- rows ------------------------------------------------------------------------------

  private rowBody(product: string | null, cut: Cut, c: KpiComponents, source: EnergySource | 'mixed'): KpiRowBody {
    const f = figuresFromComponents(c);
    return {
      product,
      ...(cut.label !== undefined ? { period: cut.label } : {}),
      periodStart: new Date(cut.start).toISOString(),
      periodEnd: new Date(cut.end).toISOString(),
      energyKwh: c.energyKwh,
      energySource: source,
      unitsTotal: c.unitsTotal,
      unitsGood: c.unitsGood,
      unitsScrap: c.unitsScrap,
      energyPerUnitKwh: f.energyPerUnitKwh,
      scrapRate: f.scrapRate,
      plannedS: c.plannedS,
      runningS: c.runningS,
      unknownS: c.unknownS,
      availability: f.availability,
      coverage: f.coverage,
      performance: f.performance,
      performanceOver1: f.performanceOver1,
      quality: f.quality,
      oee: f.oee,
      qaAccuracy: f.qaAccuracy,
      energyCost: c.energyCost,
      costPerUnit: f.costPerUnit,
      currency: this.plant.energy.currency,
      co2eKg: c.co2eKg,
      co2ePerUnitKg: f.co2ePerUnitKg,
      leadTime: f.leadTime,
      components: c,
    };
  }

  /** Line or site rows: Σ machine components per period; orders of no machine count for the site. */
  private rollUp(rows: readonly KpiRow[], scope: 'line' | 'site', q: KpiQuery, book: OrderBook): RollupRow[] {
    const groups = new Map<string, { line: string | null; cut: Cut; c: KpiComponents; sources: Set<string>; products: Set<string | null> }>();
    for (const r of rows) {
      const line = scope === 'line' ? r.line : null;
      const start = Date.parse(r.periodStart);
      const end = Date.parse(r.periodEnd);
      const key = `${line ?? ''}\u0000${q.groupBy === 'order' ? (r.period ?? '') : `${start}|${end}|${r.period ?? ''}`}`;
      const g = groups.get(key);
      if (!g) {
        groups.set(key, { line, cut: { start, end, ...(r.period !== undefined ? { label: r.period } : {}) }, c: r.components, sources: new Set([r.energySource]), products: new Set([r.product]) });
      } else {
        g.c = mergeComponents(g.c, r.components);
        g.cut = { ...g.cut, start: Math.min(g.cut.start, start), end: Math.max(g.cut.end, end) };
        g.sources.add(r.energySource);
        g.products.add(r.product);
      }
    }
    const out: RollupRow[] = [];
    if (scope === 'site' && q.machine === undefined && q.line === undefined && q.groupBy !== 'order') {
      // orders without a machine (MES events naming none, never seen on an order_id tag)
      for (const g of groups.values()) {
        const extra = this.addLeadTimes({ ...ZERO_COMPONENTS }, this.ordersOf(book, NO_MACHINE), g.cut.start, g.cut.end, () => true);
        if (extra.orders > 0) g.c = { ...g.c, ...mergeLeadTime(g.c, extra) };
      }
    }
    for (const g of groups.values()) {
      const sources = [...g.sources].filter((s) => s !== 'none');
      const source = sources.length === 0 ? 'none' : sources.length === 1 ? (sources[0] as EnergySource) : 'mixed';
      const products = [...g.products];
      out.push({ scope, machine: null, line: g.line, ...this.rowBody(products.length === 1 ? (products[0] ?? null) : null, g.cut, g.c, source) });
    }
    return out.sort((a, b) => a.periodStart.localeCompare(b.periodStart) || (a.line ?? '').localeCompare(b.line ?? ''));
  }

  private lineOf(id: string): string {
    return this.plant.machine(id).line;
  }

  /** The machine's counter rollovers, in stored units (resolved from the drivers' mappings). */
  private rolloverOf(id: string): Partial<Record<CounterSignal, number>> {
    const out: Partial<Record<CounterSignal, number>> = {};
    for (const sig of COUNTER_SIGNALS) {
      const r = this.plant.rollover(id, sig);
      if (r > 0) out[sig] = r;
    }
    return out;
  }

  /** The windows of a query, aligned to the site's wall clock. */
  private cuts(q: KpiQuery): Cut[] {
    const zone = this.plant.site.timezone;
    switch (q.groupBy) {
      case 'none':
        return [{ start: q.from, end: q.to }];
      case 'hour':
      case 'day':
        return this.memo(`c${q.groupBy}${q.from}|${q.to}`, () => calendarCuts(q.groupBy as 'hour' | 'day', zone, q.from, q.to, this.opts.maxWindows));
      case 'shift':
        if (this.plant.shifts.length === 0) throw new KpiQueryError('groupBy=shift needs shifts[] in the config');
        return dailyOccurrences(this.plant.shifts, zone, q.from, q.to, this.opts.maxWindows);
      case 'order':
        throw new KpiQueryError('groupBy=order has per-machine windows');
    }
  }

  /** Shifts make time outside them unplanned; without shifts every hour is planned. */
  private plannedIntervals(from: number, to: number): Interval[] | undefined {
    if (this.plant.shifts.length === 0) return undefined;
    return this.memo(`s${from}|${to}`, () => dailyOccurrences(this.plant.shifts, this.plant.site.timezone, from, to).map((c): Interval => [c.start, c.end]));
  }

  /** Calendar arithmetic of recent ranges (a dashboard asks the same ranges again and again). */
  private memo<T>(key: string, make: () => T): T {
    const hit = this.calendarMemo.get(key);
    if (hit !== undefined) return hit as T;
    const v = make();
    if (this.calendarMemo.size >= 64) this.calendarMemo.clear();
    this.calendarMemo.set(key, v);
    return v;
  }
}

/** Deletes the entries that end after `ts` (a sample at `ts` may change them); returns how many. */
function dropEndingAfter<K>(m: Map<K, CacheEntry> | undefined, ts: number): number {
  if (!m) return 0;
  let n = 0;
  for (const [k, e] of m) {
    if (e.end > ts) {
      m.delete(k);
      n++;
    }
  }
  return n;
}
