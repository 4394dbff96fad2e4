import { describe, expect, it } from 'vitest';
import type { Quality, SampleValue } from '../model/index.ts';
import { buildOrderBook, machineOrderPeriods, ordersCompletedIn } from './orders.ts';
import type { KpiSample } from './sample-order.ts';

const T = Date.UTC(2024, 0, 1);
const M = 60_000;
const s = (machine: string, signal: string, min: number, value: SampleValue, quality: Quality = 'good'): KpiSample => ({ machine, signal, ts: T + min * M, value, quality });
const ev = (machine: string, min: number, orderId: string, event: string, extra: Record<string, unknown> = {}): KpiSample =>
  s(machine, 'order_event', min, JSON.stringify({ orderId, event, ...extra }));

describe('orders', () => {
  it('lead time = completed − released, else completed − started, and says which', () => {
    const book = buildOrderBook([
      ev('_orders', 0, 'A', 'released', { product: 'p', quantity: 5 }),
      ev('m1', 30, 'A', 'started'),
      ev('m1', 90, 'A', 'completed'),
      ev('m1', 100, 'B', 'started'),
      ev('m1', 160, 'B', 'completed'),
      ev('m2', 10, 'C', 'released'), // never completed
    ]);
    const by = new Map(book.orders.map((o) => [o.orderId, o]));
    expect(by.get('A')).toMatchObject({ leadTimeS: 5400, fromRelease: true, machine: 'm1', product: 'p', quantity: 5 });
    expect(by.get('B')).toMatchObject({ leadTimeS: 3600, fromRelease: false, machine: 'm1' });
    expect(by.get('C')).toMatchObject({ leadTimeS: null, completedAt: null });
    expect(ordersCompletedIn(book.orders, T, T + 120 * M).map((o) => o.orderId)).toEqual(['A']);
  });

  it('reads orders from order_id: a change ends one order and starts the next; bad quality changes nothing', () => {
    const book = buildOrderBook([
      s('m1', 'order_id', 0, 'X'),
      s('m1', 'order_id', 20, 'X'), // a repeat (reconnect) is no change
      s('m1', 'order_id', 30, null, 'bad'), // a disconnect is no change either
      s('m1', 'order_id', 60, 'Y'),
      s('m1', 'order_id', 100, ''),
      s('m1', 'order_id', 120, 7), // numeric ids are ids
    ]);
    expect(book.spans.map((x) => [x.orderId, (x.start - T) / M, x.end === null ? null : (x.end - T) / M])).toEqual([
      ['X', 0, 60],
      ['Y', 60, 100],
      ['7', 120, null],
    ]);
    const by = new Map(book.orders.map((o) => [o.orderId, o]));
    expect(by.get('X')).toMatchObject({ leadTimeS: 3600, fromRelease: false });
    expect(by.get('7')).toMatchObject({ completedAt: null, leadTimeS: null });
    expect(machineOrderPeriods(book, 'm1', T + 200 * M).map((x) => x.orderId)).toEqual(['X', 'Y', '7']);
  });

  it('an order on several machines is one order, completed when the last machine moves on', () => {
    const book = buildOrderBook([
      s('m1', 'order_id', 0, 'X'),
      s('m1', 'order_id', 50, 'Y'),
      s('m2', 'order_id', 40, 'X'),
      s('m2', 'order_id', 80, ''),
    ]);
    const x = book.orders.find((o) => o.orderId === 'X');
    // started 0 on m1, last machine (m2) done at 80: 4800 s, counted on m2 only
    expect(x).toMatchObject({ leadTimeS: 4800, machine: 'm2', machines: ['m1', 'm2'] });
    expect(book.orders.filter((o) => o.orderId === 'X')).toHaveLength(1);
  });

  it('counts unusable events instead of throwing', () => {
    const book = buildOrderBook([s('m1', 'order_event', 0, 'not json'), s('m1', 'order_event', 1, '{"orderId":"A","event":"paused"}'), ev('m1', 2, 'A', 'started')]);
    expect(book.badEvents).toBe(2);
    expect(book.orders).toHaveLength(1);
  });
});
