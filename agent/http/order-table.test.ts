import { describe, expect, it } from 'vitest';
import { orderTable } from './order-table.ts';

const ev = (orderId: string, event: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ orderId, event, ...extra });

describe('orderTable', () => {
  it('lead time is completed − released, else completed − started, and says which', () => {
    const rows = orderTable([
      [1000, ev('A', 'released', { product: 'p', quantity: 5 })],
      [5000, ev('A', 'started')],
      [11_000, ev('A', 'completed')],
      [20_000, ev('B', 'started')],
      [26_000, ev('B', 'completed')],
      [30_000, ev('C', 'released')],
    ]);
    expect(rows.map((r) => [r.orderId, r.leadTimeS, r.leadTimeFrom])).toEqual([
      ['C', null, null],
      ['B', 6, 'started'],
      ['A', 10, 'released'],
    ]);
    expect(rows[2]).toMatchObject({ product: 'p', quantity: 5, releasedAt: new Date(1000).toISOString(), completedAt: new Date(11_000).toISOString() });
  });

  it('skips what is not an order event', () => {
    expect(orderTable([[1, 'not json'], [2, 42], [3, JSON.stringify({ event: 'started' })]])).toEqual([]);
  });
});
