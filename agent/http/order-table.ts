/**
 * The machine page's table of orders: a view of the KPI service's order book (agent/kpi/orders.ts),
 * so the table and the KPI rows follow one lead-time rule (completed − released, or completed −
 * started when no release is known; the row says which).
 */
import type { OrderRecord } from '../kpi/index.ts';

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

/**
 * The orders `machine` worked on that were active in `[from, to)`: released, started or
 * completed in it, or running through it (begun before `to`, not completed before `from`).
 * Open orders first, then the newest activity first.
 */
export function orderTable(orders: readonly OrderRecord[], machine: string, from: number, to: number): OrderRow[] {
  const inRange = (t: number | null): boolean => t !== null && t >= from && t < to;
  const mine = orders.filter((o) => {
    if (!o.machines.includes(machine) && o.machine !== machine) return false;
    if (inRange(o.releasedAt) || inRange(o.startedAt) || inRange(o.completedAt)) return true;
    const begun = Math.min(o.releasedAt ?? Infinity, o.startedAt ?? Infinity);
    return begun < to && (o.completedAt ?? Infinity) >= from;
  });
  const latest = (o: OrderRecord): number => o.completedAt ?? o.startedAt ?? o.releasedAt ?? 0;
  mine.sort((x, y) => Number(x.completedAt !== null) - Number(y.completedAt !== null) || latest(y) - latest(x));
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
  return mine.map((o) => ({
    orderId: o.orderId,
    product: o.product,
    quantity: o.quantity,
    releasedAt: iso(o.releasedAt),
    startedAt: iso(o.startedAt),
    completedAt: iso(o.completedAt),
    leadTimeS: o.leadTimeS,
    leadTimeFrom: o.leadTimeS === null ? null : o.fromRelease ? 'released' : 'started',
  }));
}
