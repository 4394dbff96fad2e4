/**
 * Answers the KPI, benchmark and machine queries of the HTTP API and the CLI: cuts windows in
 * the site's time zone (hours, days, shifts, orders), reads the buffer, and hands the samples
 * to the pure KPI engine (agent/kpi).
 *
 * How a query runs:
 *   1. the user's windows are split at the site's hour boundaries and the tariff's price
 *      changes (fine windows, query-calendar.ts); a full past hour of a machine is kept in an
 *      in-memory cache (component-cache.ts), so a day or a month is a sum of cached hours;
 *   2. full past hours not in the cache come from the buffer's hour rollups, a month of all
 *      machines in one read of typed columns, and stay as those rows (hours-from-rollups.ts,
 *      machine-hours.ts); the rest is computed from raw samples, read in chunks of at most a
 *      day (window-components.ts); a whole past window made of full hours (a day, a shift) is
 *      kept too, so a month by day is one lookup per row;
 *   3. fine components are summed into the user's windows, lead times of the orders completed
 *      in each window are added (order-keeper.ts), and every ratio is computed from the sums
 *      (kpi-rows.ts);
 *   4. line and site rows (`scope`) sum their machines' components, never average ratios.
 * A committed sample drops the cached hours it can change (its machine, from its hour on), so
 * late data recomputes exactly the windows it falls into.
 *
 * `queryJsonChunks` (the HTTP route's path) also keeps the JSON of each whole past machine row
 * as UTF-8 bytes (row-cache.ts, row-json.ts): on a small VM, touching 2 MB of fresh memory
 * alone costs milliseconds. A row's text is dropped with its window's components (a commit),
 * and when the order book changes the lead times of its window.
 */
import { machineOrderPeriods, NO_MACHINE, ORDER_EVENT_SIGNAL, ORDER_ID_SIGNAL, type Cut, type OrderBook, type OrderRecord } from '../kpi/index.ts';
import { isCounterSignal, isMachineState, type SampleValue, type StoredSample } from '../model/index.ts';
import { benchmarkReport } from './benchmark-report.ts';
import { ComponentCache } from './component-cache.ts';
import { KpiQueryError } from './kpi-query-error.ts';
import { isKpiSignal } from './kpi-signals.ts';
import { machineRows, rollUp } from './kpi-rows.ts';
import { KPI_SERVICE_DEFAULTS, type KpiServiceOptions } from './options.ts';
import { OrderKeeper } from './order-keeper.ts';
import type { KpiBuffer, KpiPlant } from './ports.ts';
import { QueryCalendar } from './query-calendar.ts';
import type { BenchmarkReport, KpiQuery, KpiRow, MachineCut, MachineView, RollupRow } from './query-types.ts';
import { RowCache } from './row-cache.ts';
import { rowJsonChunks } from './row-json.ts';
import { WindowComponentsReader } from './window-components.ts';

// order_id changes are ordered per machine, order events across machines (agent/kpi/orders.ts):
// only events at equal times need their ids
const ORDER_SIGNALS = [ORDER_EVENT_SIGNAL, ORDER_ID_SIGNAL];

export class KpiService {
  private readonly opts: KpiServiceOptions;
  private readonly calendar: QueryCalendar;
  private readonly cache: ComponentCache;
  private readonly rows: RowCache;
  private readonly orders: OrderKeeper;
  private readonly components: WindowComponentsReader;

  constructor(
    private readonly plant: KpiPlant,
    private readonly buffer: KpiBuffer,
    options: Partial<KpiServiceOptions> = {},
  ) {
    this.opts = { ...KPI_SERVICE_DEFAULTS, ...options };
    this.calendar = new QueryCalendar(plant, this.opts.maxWindows);
    this.rows = new RowCache(this.opts.maxRowCacheBytes);
    this.cache = new ComponentCache(this.opts.maxCacheEntries, (m) => buffer.signals(m), () => this.rows.clear());
    this.orders = new OrderKeeper(() => buffer.samplesOfSignals(ORDER_SIGNALS, [ORDER_EVENT_SIGNAL]), (m) => plant.machine(m).product, this.rows);
    this.components = new WindowComponentsReader(plant, buffer, this.calendar, this.cache, this.opts);
    this.buffer.onCommit((samples) => this.onCommit(samples));
  }

  /**
   * Reads what every query needs (the order book) ahead of the first one: an agent calls it at
   * start. Later commits keep it current.
   */
  prepare(): void {
    this.orders.book();
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
    const { rows, cuts } = this.machineRowsOf(q);
    if (scope === 'machine') return rows;
    const book = this.orders.book();
    return rollUp(rows, cuts, scope, q, this.orders.ordersOf(book, NO_MACHINE), this.plant.energy.currency);
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
    if (ids.length === 0) return rowJsonChunks({ ids, cuts: [], rows: this.rows, compute: () => [], isWhole: () => false });
    // first: a changed order book drops the rows whose lead times it changes
    const book = this.orders.book();
    return rowJsonChunks({
      ids,
      cuts: this.calendar.cuts(q),
      rows: this.rows,
      compute: (stale, cutsByMachine) => this.machineRows(stale, cutsByMachine, q, book),
      isWhole: (id, key) => this.cache.windows(id)?.has(key) ?? false,
    });
  }

  /** Machine rows. */
  kpis(q: KpiQuery): KpiRow[] {
    return this.machineRowsOf(q).rows;
  }

  /** Machine rows and, row by row, their windows (epoch ms: a roll-up groups by them). */
  private machineRowsOf(q: KpiQuery): { rows: KpiRow[]; cuts: Cut[] } {
    const ids = this.selectMachines(q);
    if (ids.length === 0) return { rows: [], cuts: [] };
    const book = this.orders.book();
    const cutsByMachine = new Map<string, MachineCut[]>();
    if (q.groupBy === 'order') {
      for (const id of ids) {
        const cuts = machineOrderPeriods(book, id, q.to)
          .filter((s) => (s.end ?? q.to) > q.from && s.start < q.to)
          .map((s): MachineCut => ({ start: Math.max(s.start, q.from), end: Math.min(s.end ?? q.to, q.to), label: s.orderId }));
        cutsByMachine.set(id, cuts);
      }
    } else {
      const cuts = this.calendar.cuts(q);
      for (const id of ids) cutsByMachine.set(id, cuts);
    }
    // machineRows emits, machine by machine, one row per window
    return { rows: this.machineRows(ids, cutsByMachine, q, book), cuts: ids.flatMap((id) => cutsByMachine.get(id) ?? []) };
  }

  /** The brief's comparisons (DESIGN.md §5) over `[from, to)`, per product. */
  benchmarks(from: number, to: number): BenchmarkReport {
    if (!(to > from)) throw new KpiQueryError(`"to" must be after "from"`);
    const book = this.orders.book();
    return benchmarkReport(this.plant, { from, to, ids: this.machineIds(), book, oldest: this.buffer.oldestTs(), kpis: (q) => this.kpis(q) });
  }

  /** Every order known to the buffer (events and order_id changes). */
  orderList(): OrderRecord[] {
    return this.orders.book().orders;
  }

  series(machine: string, signal: string, from: number, to: number, step?: number): [number, SampleValue][] {
    const last = isCounterSignal(signal) || signal === 'state' || signal === 'order_id';
    return this.buffer.series(machine, signal, from, to, step, last);
  }

  /** Drops every cached hour, window and row (tests, config reload). */
  clearCache(): void {
    this.cache.clear();
    this.rows.clear();
  }

  /** full hours taken from the buffer's hour rollups since start (instead of raw rows) */
  get hoursFromRollupTables(): number {
    return this.components.hoursFromRollupTables;
  }

  /** cached entries: full hours and whole windows summed from them */
  get cachedEntries(): number {
    return this.cache.size;
  }

  /** whole past machine rows kept as JSON (`queryJsonChunks`) */
  get cachedRows(): number {
    return this.rows.size;
  }

  /** The machines a query asks for, configured ones first. */
  private selectMachines(q: KpiQuery): string[] {
    if (!(q.to > q.from)) throw new KpiQueryError(`"to" must be after "from"`);
    let ids = this.machineIds();
    if (q.machine !== undefined) ids = ids.filter((m) => m === q.machine);
    if (q.line !== undefined) ids = ids.filter((m) => this.plant.machine(m).line === q.line);
    return ids;
  }

  private machineRows(ids: readonly string[], cutsByMachine: Map<string, MachineCut[]>, q: KpiQuery, book: OrderBook): KpiRow[] {
    const components = this.components.read(ids, cutsByMachine);
    return machineRows(this.plant, { ids, cutsByMachine, components, q, ordersOf: (m) => this.orders.ordersOf(book, m) });
  }

  /** A committed sample may change its own hour and later ones (a counter delta, a held value). */
  private onCommit(samples: readonly StoredSample[]): void {
    let minTs: Map<string, number> | undefined;
    for (const s of samples) {
      if (s.signal === ORDER_EVENT_SIGNAL || s.signal === ORDER_ID_SIGNAL) {
        this.orders.add(s);
        continue;
      }
      if (!isKpiSignal(s.signal)) continue;
      if (!this.cache.has(s.machine) && !this.rows.has(s.machine)) continue;
      if (this.cache.isNewSignal(s.machine, s.signal)) {
        // a new signal: every cached window of this machine said "not measured" for it
        this.cache.dropMachine(s.machine);
        this.rows.drop(s.machine);
        continue;
      }
      minTs ??= new Map();
      const t = minTs.get(s.machine);
      if (t === undefined || s.ts < t) minTs.set(s.machine, s.ts);
    }
    if (!minTs) return;
    for (const [machine, ts] of minTs) {
      this.cache.dropEndingAfter(machine, ts);
      this.rows.drop(machine, ts);
    }
  }
}
