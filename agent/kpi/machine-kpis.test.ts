import { describe, expect, it } from 'vitest';
import type { Quality, SampleValue } from '../model/index.ts';
import { mergeComponents, ratiosFromComponents } from './components.ts';
import { computeMachineKpis, computeMachineKpisByWindow } from './machine-kpis.ts';
import type { KpiSample } from './sample-order.ts';
import { samplesForWindow } from './window-samples.ts';

const F = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const H = 3_600_000;

function s(machine: string, signal: string, ts: number, value: SampleValue, quality: Quality = 'good'): KpiSample {
  return { machine, signal, ts, value, quality };
}

// Machine A, hour [F, F+1h): energy counter, total + scrap counters, state.
const A = [
  s('a', 'energy_kwh', F - MIN, 1000),
  s('a', 'energy_kwh', F + 30 * MIN, 1010),
  s('a', 'energy_kwh', F + 59 * MIN, 1012.5), // 12.5 kWh
  s('a', 'parts_total', F - MIN, 500),
  s('a', 'parts_total', F + 59 * MIN, 600), // 100 units
  s('a', 'parts_scrap', F - MIN, 10),
  s('a', 'parts_scrap', F + 59 * MIN, 15), // 5 scrap → 95 good
  s('a', 'state', F - MIN, 'running'), // running [F, F+45m) = 2700 s
  s('a', 'state', F + 45 * MIN, 'down'), // down [F+45m, F+60m) = 900 s
  s('a', 'temp_c', F + MIN, 41.5), // a gauge: ignored
  s('b', 'parts_total', F + MIN, 1e6), // another machine: ignored
];

// Machine B, same hour: power only, good + scrap counters, running all hour.
const B = [
  s('b', 'power_kw', F - 10 * MIN, 5),
  s('b', 'power_kw', F + 30 * MIN, 5), // renews the hold (maxHoldS 3600): 5 kW × 1 h = 5 kWh
  s('b', 'parts_good', F - MIN, 0),
  s('b', 'parts_good', F + 50 * MIN, 45),
  s('b', 'parts_scrap', F - MIN, 0),
  s('b', 'parts_scrap', F + 50 * MIN, 5), // total 50
  s('b', 'state', F - MIN, 'running'),
  s('b', 'state', F + 30 * MIN, 'running'),
];

describe('computeMachineKpis', () => {
  it('computes a full row by hand', () => {
    const row = computeMachineKpis({ machine: 'a', from: F, to: F + H, samples: A, idealCycleTimeS: 24 });
    expect(row).toMatchObject({
      machine: 'a',
      periodStart: F,
      periodEnd: F + H,
      energySource: 'counter',
      unitsTotal: 100,
      unitsGood: 95,
      unitsScrap: 5,
      plannedS: 3600,
      performanceOver1: false,
      qaAccuracy: null,
      stateSeconds: { runningS: 2700, idleS: 0, downS: 900, plannedStopS: 0, unknownS: 0, unscheduledS: 0 },
    });
    expect(row.energyKwh).toBeCloseTo(12.5, 12);
    // 12.5 / 95
    expect(row.energyPerUnitKwh).toBeCloseTo(12.5 / 95, 12);
    // 5 / 100
    expect(row.scrapRate).toBeCloseTo(0.05, 12);
    // 2700 / 3600
    expect(row.availability).toBeCloseTo(0.75, 12);
    // 24 × 100 / 2700 = 8/9
    expect(row.performance).toBeCloseTo(8 / 9, 12);
    // 95 / 100
    expect(row.quality).toBeCloseTo(0.95, 12);
    // 0.75 × 8/9 × 0.95 = 0.63333…
    expect(row.oee).toBeCloseTo(0.75 * (8 / 9) * 0.95, 12);
    expect(row.components).toMatchObject({ windowS: 3600, plannedS: 3600, runningS: 2700, unknownS: 0, idealS: 2400 });
  });

  it('rolls two machines up by summing components, not by averaging ratios', () => {
    const a = computeMachineKpis({ machine: 'a', from: F, to: F + H, samples: A, idealCycleTimeS: 24 });
    const b = computeMachineKpis({ machine: 'b', from: F, to: F + H, samples: B, idealCycleTimeS: 60 });
    // B alone: 5 kWh, 45 good of 50; availability 1; performance 60 × 50 / 3600 = 5/6; quality 0.9; OEE 0.75
    expect(b.energyKwh).toBeCloseTo(5, 12);
    expect(b.oee).toBeCloseTo(0.75, 12);

    const line = ratiosFromComponents(mergeComponents(a.components, b.components));
    // energy 12.5 + 5 = 17.5; good 95 + 45 = 140; total 150; scrap 10; running 2700 + 3600 = 6300;
    // planned 7200; ideal 2400 + 3000 = 5400
    expect(line.energyPerUnitKwh).toBeCloseTo(17.5 / 140, 12); // 0.125
    expect(line.scrapRate).toBeCloseTo(10 / 150, 12);
    expect(line.availability).toBeCloseTo(6300 / 7200, 12); // 0.875
    expect(line.performance).toBeCloseTo(5400 / 6300, 12); // 6/7
    expect(line.quality).toBeCloseTo(140 / 150, 12);
    // 0.875 × 6/7 × 14/15 = 0.7, not the mean of 0.6333 and 0.75 (0.6917)
    expect(line.oee).toBeCloseTo(0.7, 12);
    expect(line.oee).not.toBeCloseTo(((a.oee ?? 0) + (b.oee ?? 0)) / 2, 3);
  });

  it('keeps windowS = plannedS + plannedStopS + unscheduledS', () => {
    const row = computeMachineKpis({
      machine: 'a',
      from: F,
      to: F + H,
      samples: A,
      plannedIntervals: [[F + 10 * MIN, F + 40 * MIN]],
    });
    const c = row.components;
    expect(c.plannedS + c.plannedStopS + c.unscheduledS).toBe(c.windowS);
    expect(c.runningS + c.idleS + c.downS + c.plannedStopS + c.unknownS).toBe(c.windowS - c.unscheduledS);
    expect(c).toMatchObject({ runningS: 1800, unscheduledS: 1800, plannedS: 1800 });
  });

  it('takes an empty window without dividing by zero', () => {
    const row = computeMachineKpis({ machine: 'a', from: F, to: F, samples: A });
    expect(row.components.windowS).toBe(0);
    expect(row.availability).toBeNull();
    expect(row.unitsTotal).toBe(0);
  });

  it('computes QA accuracy from the qa counters', () => {
    const row = computeMachineKpis({
      machine: 'a',
      from: F,
      to: F + H,
      samples: [
        s('a', 'qa_inspected', F - MIN, 0),
        s('a', 'qa_inspected', F + MIN, 200),
        s('a', 'qa_escaped', F - MIN, 0),
        s('a', 'qa_escaped', F + MIN, 3),
        s('a', 'qa_false_reject', F - MIN, 0),
        s('a', 'qa_false_reject', F + MIN, 5),
      ],
    });
    // (200 − 3 − 5) / 200 = 0.96
    expect(row.qaAccuracy).toBeCloseTo(0.96, 12);
  });
});

describe('computeMachineKpisByWindow', () => {
  const hours: [number, number][] = [
    [F, F + H],
    [F + H, F + 2 * H],
    [F + 2 * H, F + 3 * H],
  ];
  const samples = [
    s('a', 'parts_total', F - MIN, 0),
    s('a', 'parts_total', F + 30 * MIN, 10), // hour 0: 10
    s('a', 'parts_total', F + 90 * MIN, 25), // hour 1: 15
    s('a', 'parts_total', F + 150 * MIN, 3), // hour 2: reset, 3
    s('a', 'power_kw', F + 30 * MIN, 12), // hour 0: 6 kWh, hour 1: 6 kWh (held 60 min)
    s('a', 'state', F, 'idle'), // idle to F+60m
    s('a', 'state', F + 60 * MIN, 'running'), // running to F+120m (maxHoldS)
  ];

  it('gives one row per window, equal to single-window calls', () => {
    const rows = computeMachineKpisByWindow({ machine: 'a', windows: hours, samples });
    expect(rows.map((r) => r.unitsTotal)).toEqual([10, 15, 3]);
    expect(rows.map((r) => r.energyKwh)).toEqual([6, 6, 0]);
    expect(rows.map((r) => r.stateSeconds.runningS)).toEqual([0, 3600, 0]);
    expect(rows.map((r) => r.stateSeconds.unknownS)).toEqual([0, 0, 3600]);
    hours.forEach(([from, to], i) => {
      expect(rows[i]).toEqual(computeMachineKpis({ machine: 'a', from, to, samples: samplesForWindow(samples, from, to) }));
    });
  });

  it('returns rows in the order of the windows, also when unsorted or overlapping', () => {
    const shuffled: [number, number][] = [hours[2]!, hours[0]!, hours[1]!];
    expect(computeMachineKpisByWindow({ machine: 'a', windows: shuffled, samples }).map((r) => r.unitsTotal)).toEqual([3, 10, 15]);
    const overlapping: [number, number][] = [
      [F, F + 2 * H],
      [F + H, F + 3 * H],
    ];
    // [F, F+2h): 10 + 15; [F+1h, F+3h): 15 + 3
    expect(computeMachineKpisByWindow({ machine: 'a', windows: overlapping, samples }).map((r) => r.unitsTotal)).toEqual([25, 18]);
    expect(computeMachineKpisByWindow({ machine: 'a', windows: [], samples })).toEqual([]);
  });
});
