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
  eventMachines: Set<string>;
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
      const list = ids.get(s.machine) ?? [];
      list.push(s);
      ids.set(s.machine, list);
    }
  }
  const drafts = new Map<string, Draft>();
  const draft = (orderId: string): Draft => {
    let d = drafts.get(orderId);
    if (!d) {
      d = { orderId, product: null, quantity: null, released: null, started: null, completed: null, completedOn: null, eventMachines: new Set() };
      drafts.set(orderId, d);
    }
    return d;
  };
  let badEvents = 0;
  events.sort(compareSamples);
  for (const s of events) {
    const e = decodeOrderEventValue(s.value);
    if (!e) {
      badEvents++;
      continue;
    }
    const d = draft(e.orderId);
    if (e.product !== undefined) d.product = e.product;
    if (e.quantity !== undefined) d.quantity = e.quantity;
    if (s.machine !== NO_MACHINE) d.eventMachines.add(s.machine);
    if (e.event === 'released') d.released = d.released === null ? s.ts : Math.min(d.released, s.ts);
    else if (e.event === 'started') d.started = d.started === null ? s.ts : Math.min(d.started, s.ts);
    else if (d.completed === null || s.ts >= d.completed) {
      // the last completion counts (a re-opened and re-completed order)
      d.completed = s.ts;
      d.completedOn = s.machine === NO_MACHINE ? null : s.machine;
    }
  }

  // order_id spans per machine
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
  const spansByOrder = new Map<string, OrderSpan[]>();
  for (const sp of spans) {
    const list = spansByOrder.get(sp.orderId) ?? [];
    list.push(sp);
    spansByOrder.set(sp.orderId, list);
    draft(sp.orderId);
  }

  const orders: OrderRecord[] = [];
  for (const d of drafts.values()) {
    const own = spansByOrder.get(d.orderId) ?? [];
    let started = d.started;
    let completed = d.completed;
    let machine = d.completedOn;
    if (own.length > 0) {
      const firstStart = Math.min(...own.map((sp) => sp.start));
      if (started === null) started = firstStart;
      const open = own.some((sp) => sp.end === null);
      const last = own.reduce((a, b) => ((b.end ?? Infinity) >= (a.end ?? Infinity) ? b : a));
      if (completed === null && !open) completed = last.end;
      if (machine === null) machine = last.machine;
    }
    const machines = [...new Set([...own.map((sp) => sp.machine), ...d.eventMachines])];
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
    orders.push({
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
    });
  }
  orders.sort((a, b) => (a.completedAt ?? Infinity) - (b.completedAt ?? Infinity) || a.orderId.localeCompare(b.orderId));
  spans.sort((a, b) => a.start - b.start || a.machine.localeCompare(b.machine));
  return { orders, spans, badEvents };
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
