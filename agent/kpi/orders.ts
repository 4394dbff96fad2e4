/**
 * Orders (DESIGN.md §3, §4) from two sources that may both be present:
 *   - order events (`order_event` samples, value = JSON `{ orderId, event, product, quantity }`
 *     decoded by agent/model/order-event.ts, machine = the event's machine or `_orders`):
 *     released / started / completed times;
 *   - the `order_id` signal of each machine: a change ends one order on that machine and
 *     starts the next (an empty value or null: no order).
 * Events win where both say something. An order worked on by several machines (or across
 * shifts) is one order: started at its first start anywhere, completed when the completed
 * event says so, else when the last machine working on it moved on.
 * Lead time = completed − released, else completed − started (`fromRelease` says which).
 */
import { decodeOrderEventValue } from '../model/index.ts';
import type { KpiSample } from './sample-order.ts';
import { compareSamples } from './sample-order.ts';

export const ORDER_EVENT_SIGNAL = 'order_event';
export const ORDER_ID_SIGNAL = 'order_id';
/** the machine of order events that name none */
export const NO_MACHINE = '_orders';

export interface OrderRecord {
  orderId: string;
  product: string | null;
  quantity: number | null;
  releasedAt: number | null;
  startedAt: number | null;
  completedAt: number | null;
  /** the machine the order's lead time is counted on (once): where it completed */
  machine: string;
  /** every machine that worked on it (order_id spans or events naming a machine) */
  machines: string[];
  leadTimeS: number | null;
  fromRelease: boolean;
}

/** An order on one machine: `[start, end)`, `end` null while it runs. */
export interface OrderSpan {
  machine: string;
  orderId: string;
  start: number;
  end: number | null;
}

export interface OrderBook {
  orders: OrderRecord[];
  spans: OrderSpan[];
  /** order_event samples whose value is not a usable event (counted, not thrown) */
  badEvents: number;
}

interface Draft {
  orderId: string;
  product: string | null;
  quantity: number | null;
  released: number | null;
  started: number | null;
  completed: number | null;
  completedOn: string | null;
  /** machines named by its events, in order of first mention */
  eventMachines: string[];
}

function orderIdOf(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() === '' ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/**
 * Builds the orders from every `order_event` and `order_id` sample given (any order, any
 * machine; other signals are ignored). `productOf(machine)` names a machine's product for
 * orders whose events say none.
 */
export function buildOrderBook(samples: readonly KpiSample[], productOf: (machine: string) => string | null = () => null): OrderBook {
  const events: KpiSample[] = [];
  const ids = new Map<string, KpiSample[]>();
  for (const s of samples) {
    if (s.quality !== 'good') continue;
    if (s.signal === ORDER_EVENT_SIGNAL) events.push(s);
    else if (s.signal === ORDER_ID_SIGNAL) {
      const list = ids.get(s.machine);
      if (list) list.push(s);
      else ids.set(s.machine, [s]);
    }
  }
  const { drafts, badEvents } = eventDrafts(events);
  const spans = orderSpans(ids);
  const spansByOrder = new Map<string, OrderSpan[]>();
  for (const sp of spans) {
    const list = spansByOrder.get(sp.orderId);
    if (list) list.push(sp);
    else spansByOrder.set(sp.orderId, [sp]);
  }
  const orders: OrderRecord[] = [];
  for (const d of drafts.values()) orders.push(orderRecord(d, spansByOrder.get(d.orderId) ?? [], productOf));
  // orders known only from order_id changes (no events): no draft needed
  for (const [orderId, own] of spansByOrder) if (!drafts.has(orderId)) orders.push(orderRecord({ ...NO_EVENTS, orderId }, own, productOf));
  orders.sort((a, b) => (a.completedAt ?? Infinity) - (b.completedAt ?? Infinity) || a.orderId.localeCompare(b.orderId));
  spans.sort((a, b) => a.start - b.start || a.machine.localeCompare(b.machine));
  return { orders, spans, badEvents };
}

const NO_EVENTS: Omit<Draft, 'orderId'> = Object.freeze({ product: null, quantity: null, released: null, started: null, completed: null, completedOn: null, eventMachines: [] });

/** What the events say of each order, in event order (ties by arrival). */
function eventDrafts(events: KpiSample[]): { drafts: Map<string, Draft>; badEvents: number } {
  const drafts = new Map<string, Draft>();
  let badEvents = 0;
  events.sort(compareSamples);
  for (const s of events) {
    const e = decodeOrderEventValue(s.value);
    if (!e) {
      badEvents++;
      continue;
    }
    let d = drafts.get(e.orderId);
    if (!d) {
      d = { orderId: e.orderId, product: null, quantity: null, released: null, started: null, completed: null, completedOn: null, eventMachines: [] };
      drafts.set(e.orderId, d);
    }
    if (e.product !== undefined) d.product = e.product;
    if (e.quantity !== undefined) d.quantity = e.quantity;
    if (s.machine !== NO_MACHINE && !d.eventMachines.includes(s.machine)) d.eventMachines.push(s.machine);
    if (e.event === 'released') d.released = d.released === null ? s.ts : Math.min(d.released, s.ts);
    else if (e.event === 'started') d.started = d.started === null ? s.ts : Math.min(d.started, s.ts);
    else if (d.completed === null || s.ts >= d.completed) {
      // the last completion counts (a re-opened and re-completed order)
      d.completed = s.ts;
      d.completedOn = s.machine === NO_MACHINE ? null : s.machine;
    }
  }
  return { drafts, badEvents };
}

/** Per machine, the spans its order_id changes cut (a change ends one order and starts the next). */
function orderSpans(ids: ReadonlyMap<string, KpiSample[]>): OrderSpan[] {
  const spans: OrderSpan[] = [];
  for (const [machine, list] of ids) {
    list.sort(compareSamples);
    let cur: OrderSpan | null = null;
    for (const s of list) {
      const id = orderIdOf(s.value);
      if (cur && cur.orderId === id) continue;
      if (cur) {
        cur.end = s.ts;
        spans.push(cur);
        cur = null;
      }
      if (id !== null) cur = { machine, orderId: id, start: s.ts, end: null };
    }
    if (cur) spans.push(cur);
  }
  return spans;
}

/** An order from its events (`d`) and its order_id spans (`own`); events win where both say something. */
function orderRecord(d: Draft, own: readonly OrderSpan[], productOf: (machine: string) => string | null): OrderRecord {
  let started = d.started;
  let completed = d.completed;
  let machine = d.completedOn;
  // every machine that worked on it: its spans' machines, then its events', each once
  const machines: string[] = [];
  if (own.length > 0) {
    let firstStart = Infinity;
    let open = false;
    // the span that ended last (an open one counts as last; ties go to the later span)
    let last = own[0] as OrderSpan;
    for (const sp of own) {
      if (sp.start < firstStart) firstStart = sp.start;
      if (sp.end === null) open = true;
      if ((sp.end ?? Infinity) >= (last.end ?? Infinity)) last = sp;
      if (!machines.includes(sp.machine)) machines.push(sp.machine);
    }
    if (started === null) started = firstStart;
    if (completed === null && !open) completed = last.end;
    if (machine === null) machine = last.machine;
  }
  for (const m of d.eventMachines) if (!machines.includes(m)) machines.push(m);
  if (machine === null) machine = machines[machines.length - 1] ?? NO_MACHINE;
  let leadTimeS: number | null = null;
  let fromRelease = false;
  if (completed !== null) {
    if (d.released !== null && d.released <= completed) {
      leadTimeS = (completed - d.released) / 1000;
      fromRelease = true;
    } else if (started !== null && started <= completed) {
      leadTimeS = (completed - started) / 1000;
    }
  }
  return {
    orderId: d.orderId,
    product: d.product ?? productOf(machine),
    quantity: d.quantity,
    releasedAt: d.released,
    startedAt: started,
    completedAt: completed,
    machine,
    machines,
    leadTimeS,
    fromRelease,
  };
}

/** Orders completed in `[from, to)` with a known lead time. */
export function ordersCompletedIn(orders: readonly OrderRecord[], from: number, to: number): OrderRecord[] {
  return orders.filter((o) => o.completedAt !== null && o.completedAt >= from && o.completedAt < to && o.leadTimeS !== null);
}

/**
 * The periods a machine worked on each order: its order_id spans, or (a machine without the
 * signal) started → completed of the events naming it. Open periods end at `now`.
 */
export function machineOrderPeriods(book: OrderBook, machine: string, now: number): OrderSpan[] {
  const own = book.spans.filter((s) => s.machine === machine);
  if (own.length > 0) return own.map((s) => ({ ...s, end: s.end ?? now }));
  const out: OrderSpan[] = [];
  for (const o of book.orders) {
    if (!o.machines.includes(machine)) continue;
    const start = o.startedAt ?? o.releasedAt;
    if (start === null) continue;
    out.push({ machine, orderId: o.orderId, start, end: o.completedAt ?? now });
  }
  return out.sort((a, b) => a.start - b.start);
}
