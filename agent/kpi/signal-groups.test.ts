import { describe, expect, it } from 'vitest';
import type { KpiSample } from './sample-order.ts';
import { groupSignals } from './signal-groups.ts';

const s = (machine: string, signal: string, ts: number): KpiSample => ({ machine, signal, ts, value: 1, quality: 'good' });

describe('groupSignals', () => {
  it('keeps the machine’s KPI signals before the end, each sorted', () => {
    const g = groupSignals(
      [
        s('m', 'parts_total', 3),
        s('m', 'parts_total', 1),
        s('m', 'power_kw', 2),
        s('m', 'state', 2),
        s('m', 'temp_c', 2), // a gauge the KPIs do not read
        s('x', 'parts_total', 2), // another machine
        s('m', 'parts_total', 10), // at the end: later windows
        s('m', 'parts_total', Number.NaN),
        s('m', 'parts_total', -Infinity),
      ],
      'm',
      10,
    );
    expect(g.counters.parts_total.map((x) => x.ts)).toEqual([1, 3]);
    expect(g.power).toHaveLength(1);
    expect(g.state).toHaveLength(1);
    expect(g.counters.energy_kwh).toEqual([]);
  });
});
