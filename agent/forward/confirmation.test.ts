/**
 * The agent's view of the fleet's confirmation: only its own instance counts, the id never goes
 * back nor past the newest id, it is kept in meta, and a stall is reported after the timeout,
 * with a doubling wait while rewinds bring no progress.
 */
import { describe, expect, it } from 'vitest';
import { bufferInstance, CONFIRMED_ID_KEY, Confirmation, type MetaStore } from './confirmation.ts';

function meta(): MetaStore & { m: Map<string, string> } {
  const m = new Map<string, string>();
  return { m, getMeta: (k) => m.get(k), setMeta: (k, v) => void m.set(k, v) };
}

const msg = (o: object): Buffer => Buffer.from(JSON.stringify(o));

describe('Confirmation', () => {
  it('accepts its own instance only, never goes back or past the newest id, and keeps the id in meta', () => {
    const store = meta();
    const c = new Confirmation(store, 'inst-a', 'fleet', 1000);
    expect(c.receive(msg({ instance: 'inst-b', confirmedId: 50, at: '2026-12-03T10:00:00.000Z' }), 100)).toBe('other-instance');
    expect(c.receive(Buffer.from('not json'), 100)).toBe('invalid');
    expect(c.receive(msg({ instance: 'inst-a', confirmedId: -1 }), 100)).toBe('invalid');
    expect(c.confirmedId).toBe(0);
    expect(c.confirmedAt).toBeUndefined();
    expect(c.receive(msg({ instance: 'inst-a', confirmedId: 40, at: '2026-12-03T10:00:00.000Z' }), 100)).toBe('accepted');
    expect(c.confirmedAt).toBe(Date.parse('2026-12-03T10:00:00.000Z'));
    expect(c.receive(msg({ instance: 'inst-a', confirmedId: 30 }), 100, 5)).toBe('stale');
    expect(c.confirmedId).toBe(40);
    expect(c.receive(msg({ instance: 'inst-a', confirmedId: 500 }), 100)).toBe('accepted');
    expect(c.confirmedId).toBe(100);
    expect(store.m.get(CONFIRMED_ID_KEY)).toBe('100');
    expect(new Confirmation(store, 'inst-a', 'fleet', 1000).confirmedId).toBe(100);
  });

  it('reports a stall after the timeout, waits twice as long after a rewind without progress, and never in broker mode', () => {
    const c = new Confirmation(meta(), 'i', 'fleet', 1000);
    expect(c.stalled(10, 0)).toBe(false); // behind from now on
    expect(c.stalled(10, 999)).toBe(false);
    expect(c.stalled(10, 1000)).toBe(true);
    expect(c.stalled(10, 2500)).toBe(false); // now 2000 ms
    expect(c.stalled(10, 3000)).toBe(true);
    expect(c.stalled(10, 6999)).toBe(false); // now 4000 ms
    expect(c.stalled(10, 7000)).toBe(true);
    // progress resets the wait
    c.receive(msg({ instance: 'i', confirmedId: 5 }), 10, 7100);
    expect(c.stalled(10, 7200)).toBe(false);
    expect(c.stalled(10, 8200)).toBe(true);
    // caught up: not behind
    c.receive(msg({ instance: 'i', confirmedId: 10 }), 10, 8300);
    expect(c.stalled(10, 100_000)).toBe(false);
    // a reconnect restarts the clock
    expect(c.stalled(20, 100_000)).toBe(false);
    c.connected();
    expect(c.stalled(20, 101_500)).toBe(false);
    expect(c.stalled(20, 102_500)).toBe(true);
    const broker = new Confirmation(meta(), 'i', 'broker', 1000);
    expect(broker.stalled(10, 0) || broker.stalled(10, 10_000)).toBe(false);
  });

  it('gives a buffer without an instance a random UUID and keeps it', () => {
    const store = meta();
    const id = bufferInstance(store);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(bufferInstance(store)).toBe(id);
  });
});
