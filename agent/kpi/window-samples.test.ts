import { describe, expect, it } from 'vitest';
import type { StoredSample } from '../model/index.ts';
import { samplesForWindow } from './window-samples.ts';

const F = Date.UTC(2024, 0, 1);
const MIN = 60_000;

describe('samplesForWindow', () => {
  it('keeps the window, the last sample per tag before it and the last good counter reading', () => {
    let id = 0;
    const mk = (machine: string, signal: string, ts: number, value: StoredSample['value'], quality: StoredSample['quality'] = 'good'): StoredSample => ({
      id: ++id,
      machine,
      signal,
      ts,
      value,
      quality,
    });
    const oldCounter = mk('a', 'parts_total', F - 90 * MIN, 1);
    const goodCounter = mk('a', 'parts_total', F - 30 * MIN, 2);
    const badCounter = mk('a', 'parts_total', F - 10 * MIN, null, 'bad');
    const oldPower = mk('a', 'power_kw', F - 20 * MIN, 3);
    const lastPower = mk('a', 'power_kw', F - 5 * MIN, 4);
    const otherMachine = mk('b', 'power_kw', F - 5 * MIN, 5);
    const inside = mk('a', 'parts_total', F, 6);
    const after = mk('a', 'parts_total', F + 60 * MIN, 7);
    const picked = samplesForWindow([after, inside, otherMachine, lastPower, oldPower, badCounter, goodCounter, oldCounter], F, F + 60 * MIN);
    expect(new Set(picked)).toEqual(new Set([inside, badCounter, goodCounter, lastPower, otherMachine]));
    expect(picked).toHaveLength(5);
  });
});
