import { describe, expect, it } from 'vitest';
import { tileStatus, type LatestTag, type TileInput } from './machine-status.ts';

const NOW = Date.parse('2026-03-02T10:00:00Z');

function input(over: Partial<TileInput> = {}): TileInput {
  return {
    id: 'p1',
    name: 'Printer 1',
    line: 'additive',
    product: 'bracket-a',
    latest: [],
    sources: [{ id: 'ua', state: 'connected' }],
    staleAfterMs: undefined,
    now: NOW,
    ...over,
  };
}

const tag = (signal: string, value: LatestTag['value'], ageS: number, quality: LatestTag['quality'] = 'good', sinceAgeS = ageS): LatestTag => ({
  signal,
  value,
  quality,
  ts: NOW - ageS * 1000,
  since: NOW - sinceAgeS * 1000,
});

describe('tileStatus', () => {
  it('silence alone is not staleness: a state reported an hour ago on a connected source is live', () => {
    const t = tileStatus(input({ latest: [tag('state', 'running', 3600, 'good', 5400)] }));
    expect(t.stale).toBe(false);
    expect(t.state).toBe('running');
    expect(t.stateSince).toBe(new Date(NOW - 5400_000).toISOString());
  });

  it('reads states as the buffer holds them (codes were mapped before it, agent/plant/plant.test.ts): an unmapped code is no state', () => {
    expect(tileStatus(input({ latest: [tag('state', 'down', 1)] })).state).toBe('down');
    expect(tileStatus(input({ latest: [tag('state', 9, 1)] })).state).toBeNull();
  });

  it('is stale when a source feeding it is not connected, and says which', () => {
    const t = tileStatus(input({ latest: [tag('state', 'running', 1)], sources: [{ id: 'ua', state: 'disconnected', detail: 'ECONNREFUSED' }] }));
    expect(t.stale).toBe(true);
    expect(t.staleReasons).toEqual(['source ua disconnected: ECONNREFUSED']);
    expect(t.lastKnownState).toBe('running');
  });

  it('is stale when the latest value of a tag has bad quality; the state is then unknown', () => {
    const t = tileStatus(input({ latest: [tag('state', null, 1, 'bad'), tag('energy_kwh', 10, 1)] }));
    expect(t.stale).toBe(true);
    expect(t.state).toBeNull();
    expect(t.staleReasons).toEqual(['bad quality: state']);
    expect(tileStatus(input({ latest: [tag('energy_kwh', 10, 1, 'uncertain')] })).staleReasons).toEqual(['uncertain quality: energy_kwh']);
    const all = tileStatus(input({ latest: [tag('state', null, 1, 'bad'), tag('energy_kwh', null, 1, 'bad')], previousState: 'idle' }));
    expect(all.staleReasons).toEqual(['bad quality: state, energy_kwh']);
    expect(all.lastKnownState).toBe('idle');
    // the last data is the last good sample, not the bad one a disconnect leaves
    expect(all.lastSampleAt).toBeNull();
  });

  it('is stale when a tag with staleAfterS is silent longer than that, not before', () => {
    const limits = new Map([['energy_kwh', 60_000]]);
    expect(tileStatus(input({ latest: [tag('energy_kwh', 1, 59)], staleAfterMs: limits })).stale).toBe(false);
    const t = tileStatus(input({ latest: [tag('energy_kwh', 1, 95), tag('state', 'running', 3000)], staleAfterMs: limits }));
    expect(t.stale).toBe(true);
    expect(t.staleReasons).toEqual(['energy_kwh silent for 95 s (staleAfterS 60)']);
  });

  it('MES order events do not make a tile stale or fresh', () => {
    const t = tileStatus(input({ latest: [tag('order_event', '{}', 1, 'bad')] }));
    expect(t.stale).toBe(false);
    expect(t.lastSampleAt).toBeNull();
  });

  it('a machine without samples has no state and is not stale', () => {
    const t = tileStatus(input());
    expect(t).toMatchObject({ state: null, stateSince: null, lastSampleAt: null, stale: false });
  });
});
