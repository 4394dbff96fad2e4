import { describe, expect, it } from 'vitest';
import { decodeOrderEventValue, encodeOrderEventValue, type OrderEvent } from './order-event.ts';

describe('order event values', () => {
  it('decode(encode(e)) is e, and the stored text keeps its key order', () => {
    const events: OrderEvent[] = [
      { orderId: 'O-1', event: 'released', product: 'p', quantity: 20 },
      { orderId: 'O-2', event: 'started' },
      { orderId: 'O-3', event: 'completed', quantity: 0 },
    ];
    for (const e of events) expect(decodeOrderEventValue(encodeOrderEventValue(e))).toEqual(e);
    expect(encodeOrderEventValue(events[0] as OrderEvent)).toBe('{"orderId":"O-1","event":"released","product":"p","quantity":20}');
  });

  it('anything else is null: not text, not JSON, no orderId, an unknown event; odd extras are left out', () => {
    for (const v of [null, 42, true, 'not json', '[]', 'null', '{"event":"started"}', '{"orderId":"","event":"started"}', '{"orderId":"a","event":"paused"}']) {
      expect(decodeOrderEventValue(v)).toBeNull();
    }
    expect(decodeOrderEventValue('{"orderId":"a","event":"started","product":3,"quantity":"x"}')).toEqual({ orderId: 'a', event: 'started' });
  });
});
