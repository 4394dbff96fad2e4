/**
 * The order book the rows' lead times come from. Order samples (`order_event`, `order_id`)
 * are rare and an order's release may be weeks before its completion, so they are read once
 * from the whole buffer and kept current from the commits; the book is rebuilt when they
 * change, and the kept rows whose lead times the new book changes are dropped.
 */
import { buildOrderBook, leadTimeComponents, type KpiComponents, type KpiSample, type OrderBook, type OrderRecord } from '../kpi/index.ts';
import type { StoredSample } from '../model/index.ts';

/** The kept rows an order change reaches (agent/kpi-query/row-cache.ts). */
export interface OrderRowsPort {
  has(machine: string): boolean;
  drop(machine: string, ts: number): void;
}

/** A book's orders by machine, each list sorted by completion. */
interface OrderIndex {
  book: OrderBook;
  byMachine: Map<string, OrderRecord[]>;
}

/** Order samples as the buffer finds them, and the id up to which they are all there. */
export interface OrderSamples {
  /** handed over: the keeper adds to it */
  samples: KpiSample[];
  upTo: number;
}

export class OrderKeeper {
  /** order_event and order_id samples: those read on first use, then those committed since */
  private samples: KpiSample[] | undefined;
  private upTo = 0;
  private readonly pending: StoredSample[] = [];
  private current: OrderBook | undefined;
  /** kept after the book is dropped: a new book is compared with it to drop the rows it changes */
  private index: OrderIndex | undefined;

  constructor(
    private readonly readSamples: () => OrderSamples,
    private readonly productOf: (machine: string) => string | null,
    private readonly rows: OrderRowsPort,
  ) {}

  /** A committed order sample: the book is rebuilt on its next use. */
  add(s: StoredSample): void {
    this.pending.push(s);
    this.current = undefined;
  }

  book(): OrderBook {
    if (!this.samples) {
      const read = this.readSamples();
      this.samples = read.samples;
      this.upTo = read.upTo;
    }
    if (this.pending.length > 0) {
      // a sample committed before the first read is in it already
      for (const s of this.pending) if (s.id > this.upTo) this.samples.push(s);
      this.pending.length = 0;
      this.current = undefined;
    }
    if (!this.current) {
      const book = buildOrderBook(this.samples, this.productOf);
      const index: OrderIndex = { book, byMachine: new Map() };
      for (const o of book.orders) {
        const list = index.byMachine.get(o.machine) ?? [];
        list.push(o);
        index.byMachine.set(o.machine, list);
      }
      if (this.index) this.dropRowsOfChangedOrders(this.index.byMachine, index.byMachine);
      this.current = book;
      this.index = index;
    }
    return this.current;
  }

  /** The orders counted on one machine, sorted by completion (indexed once per order book). */
  ordersOf(book: OrderBook, machine: string): readonly OrderRecord[] {
    if (this.index?.book === book) return this.index.byMachine.get(machine) ?? [];
    return book.orders.filter((o) => o.machine === machine);
  }

  /**
   * A row counts the lead times of its machine's orders completed in its window. Both lists
   * are sorted by completion, so up to the first order that differs (in completion, lead time
   * or basis) they agree: rows that end by then count the same orders, later ones are dropped.
   */
  private dropRowsOfChangedOrders(before: Map<string, OrderRecord[]>, after: Map<string, OrderRecord[]>): void {
    for (const machine of new Set([...before.keys(), ...after.keys()])) {
      if (!this.rows.has(machine)) continue;
      const a = before.get(machine) ?? [];
      const b = after.get(machine) ?? [];
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        const x = a[i];
        const y = b[i];
        if (x && y && x.completedAt === y.completedAt && x.leadTimeS === y.leadTimeS && x.fromRelease === y.fromRelease) continue;
        this.rows.drop(machine, Math.min(x?.completedAt ?? Infinity, y?.completedAt ?? Infinity));
        break;
      }
    }
  }
}

/** Adds the lead times of the orders completed in `[from, to)` (`orders` sorted by completion). */
export function addLeadTimes(c: KpiComponents, orders: readonly OrderRecord[], from: number, to: number, mine: (o: OrderRecord) => boolean): KpiComponents {
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
