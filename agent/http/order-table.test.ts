import { describe, expect, it } from 'vitest';
import { buildOrderBook, type KpiSample } from '../kpi/index.ts';
import { orderTable } from './order-table.ts';

const ev = (ts: number, orderId: string, event: string, extra: Record<string, unknown> = {}, machine = 'm1'): KpiSample => ({
  machine,
  signal: 'order_event',
  ts,
  value: JSON.stringify({ orderId, event, ...extra }),
  quality: 'good',
});
const table = (samples: KpiSample[], from = 0, to = 100_000): ReturnType<typeof orderTable> => orderTable(buildOrderBook(samples).orders, 'm1', from, to);

describe('orderTable', () => {
  it('lead time is completed − released, else completed − started, and says which', () => {
    const rows = table([
      ev(1000, 'A', 'released', { product: 'p', quantity: 5 }),
      ev(5000, 'A', 'started'),
      ev(11_000, 'A', 'completed'),
      ev(20_000, 'B', 'started'),
      ev(26_000, 'B', 'completed'),
      ev(30_000, 'C', 'released'),
    ]);
    expect(rows.map((r) => [r.orderId, r.leadTimeS, r.leadTimeFrom])).toEqual([
      ['C', null, null],
      ['B', 6, 'started'],
      ['A', 10, 'released'],
    ]);
    expect(rows[2]).toMatchObject({ product: 'p', quantity: 5, releasedAt: new Date(1000).toISOString(), completedAt: new Date(11_000).toISOString() });
  });

  it('skips what is not an order event', () => {
    expect(table([ev(1, 'x', 'paused'), { machine: 'm1', signal: 'order_event', ts: 2, value: 'not json', quality: 'good' }, { machine: 'm1', signal: 'order_event', ts: 3, value: 42, quality: 'good' }, { machine: 'm1', signal: 'order_event', ts: 4, value: JSON.stringify({ event: 'started' }), quality: 'good' }])).toEqual([]);
  });

  it('holds the orders of this machine active in the range: an event in it, or still open', () => {
    const rows = table(
      [
        ev(1000, 'done-before', 'started'),
        ev(2000, 'done-before', 'completed'),
        ev(3000, 'open', 'released'),
        ev(5000, 'done-in', 'started'),
        ev(12_000, 'done-in', 'completed'),
        ev(6000, 'other-machine', 'started', {}, 'm2'),
        ev(60_000, 'after', 'started'),
        ev(4000, 'through', 'started'),
        ev(25_000, 'through', 'completed'),
      ],
      10_000,
      20_000,
    );
    expect(rows.map((r) => r.orderId)).toEqual(['open', 'through', 'done-in']);
  });

  it('an order from the machine\'s order_id tag is a row too, with the same lead time as the KPI rows', () => {
    const rows = table([
      { machine: 'm1', signal: 'order_id', ts: 1000, value: 'J-1', quality: 'good' },
      { machine: 'm1', signal: 'order_id', ts: 61_000, value: 'J-2', quality: 'good' },
    ]);
    expect(rows.map((r) => [r.orderId, r.leadTimeS, r.leadTimeFrom])).toEqual([
      ['J-2', null, null],
      ['J-1', 60, 'started'],
    ]);
  });
});
