/**
 * The machine page's table of orders, from the order events an MES publishes (stored as
 * samples of signal `order_event`, DESIGN.md §3). Lead time = completed − released, or
 * completed − started when no release is known; the row says which.
 */
import type { SampleValue } from '../model/index.ts';

export interface OrderRow {
  orderId: string;
  product: string | null;
  quantity: number | null;
  releasedAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  /** seconds; null while the order is open */
  leadTimeS: number | null;
  leadTimeFrom: 'released' | 'started' | null;
}

interface Acc {
  orderId: string;
  product: string | null;
  quantity: number | null;
  released?: number;
  started?: number;
  completed?: number;
}

/** Events as [ts, JSON text]; unreadable values are skipped (the driver validated them). */
export function orderTable(events: readonly (readonly [number, SampleValue])[]): OrderRow[] {
  const byId = new Map<string, Acc>();
  for (const [ts, v] of events) {
    if (typeof v !== 'string') continue;
    let doc: unknown;
    try {
      doc = JSON.parse(v);
    } catch {
      continue;
    }
    if (doc === null || typeof doc !== 'object') continue;
    const e = doc as { orderId?: unknown; event?: unknown; product?: unknown; quantity?: unknown };
    if (typeof e.orderId !== 'string') continue;
    const acc = byId.get(e.orderId) ?? { orderId: e.orderId, product: null, quantity: null };
    if (typeof e.product === 'string') acc.product = e.product;
    if (typeof e.quantity === 'number') acc.quantity = e.quantity;
    if (e.event === 'released') acc.released = ts;
    else if (e.event === 'started') acc.started = ts;
    else if (e.event === 'completed') acc.completed = ts;
    byId.set(e.orderId, acc);
  }
  const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());
  const rows = [...byId.values()].map((a): OrderRow => {
    const from = a.released !== undefined ? 'released' : a.started !== undefined ? 'started' : null;
    const fromTs = a.released ?? a.started;
    return {
      orderId: a.orderId,
      product: a.product,
      quantity: a.quantity,
      releasedAt: iso(a.released),
      startedAt: iso(a.started),
      completedAt: iso(a.completed),
      leadTimeS: a.completed !== undefined && fromTs !== undefined ? (a.completed - fromTs) / 1000 : null,
      leadTimeFrom: a.completed !== undefined ? from : null,
    };
  });
  // newest activity first: open orders, then completed ones by completion time
  const key = (r: OrderRow): number => Date.parse(r.completedAt ?? r.startedAt ?? r.releasedAt ?? '') || 0;
  return rows.sort((x, y) => Number(x.completedAt !== null) - Number(y.completedAt !== null) || key(y) - key(x));
}
