import { describe, expect, it } from 'vitest';
import type { Quality, SampleValue } from '../model/index.ts';
import { computeMachineKpis } from './machine-kpis.ts';
import type { KpiSample } from './sample-order.ts';
import { decodeState, makeStateDecoder, STATE_SLOT } from './state-time.ts';

const F = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const H = 3_600_000;
const STATE_MAP = { '1': 'running', '2': 'idle', '3': 'down', '4': 'planned_stop' } as const;

function st(ts: number, value: SampleValue, quality: Quality = 'good'): KpiSample {
  return { machine: 'm1', signal: 'state', ts, value, quality };
}

// Window [F, F+2h) = 7200 s; maxHoldS 1800.
const SAMPLES = [
  st(F - 5 * MIN, 'running'), // held from before from (cap F+25m): running [F, F+20m) = 1200 s
  st(F + 20 * MIN, 2), // code 2 = idle [F+20m, F+30m) = 600 s
  st(F + 30 * MIN, null, 'bad'), // unknown [F+30m, F+40m) = 600 s
  st(F + 40 * MIN, 3), // down [F+40m, F+50m) = 600 s
  st(F + 50 * MIN, '4'), // planned_stop [F+50m, F+60m) = 600 s
  st(F + 60 * MIN, 'running'), // running until maxHoldS: [F+60m, F+90m) = 1800 s, then unknown until F+100m = 600 s
  st(F + 100 * MIN, 99), // unmapped code: unknown [F+100m, F+105m) = 300 s
  st(F + 105 * MIN, 1), // running to the window end [F+105m, F+120m) = 900 s
];

describe('state decoding', () => {
  it('understands state names, mapped codes (numbers or text) and nothing else', () => {
    const d = makeStateDecoder(STATE_MAP);
    expect(decodeState(d, 'down')).toBe(STATE_SLOT.down);
    expect(decodeState(d, 1)).toBe(STATE_SLOT.running);
    expect(decodeState(d, '1')).toBe(STATE_SLOT.running);
    expect(decodeState(d, 4)).toBe(STATE_SLOT.planned_stop);
    expect(decodeState(d, 99)).toBe(-1);
    expect(decodeState(d, null)).toBe(-1);
    expect(decodeState(d, 'constructor')).toBe(-1);
    expect(decodeState(makeStateDecoder({ true: 'running', false: 'idle' }), false)).toBe(STATE_SLOT.idle);
  });
});

describe('state time', () => {
  it('holds states until the next sample, a bad sample or maxHoldS; the rest is unknown', () => {
    const row = computeMachineKpis({ machine: 'm1', from: F, to: F + 2 * H, samples: SAMPLES, stateMap: STATE_MAP, maxHoldS: 1800 });
    // running 1200 + 1800 + 900 = 3900; unknown 600 + 600 + 300 = 1500; 3900+600+600+600+1500 = 7200
    expect(row.stateSeconds).toEqual({ runningS: 3900, idleS: 600, downS: 600, plannedStopS: 600, unknownS: 1500, unscheduledS: 0 });
    // planned = 7200 − 600 planned stop = 6600, of it measured 6600 − 1500 unknown = 5100:
    // availability = 3900 / 5100, coverage = 5100 / 6600
    expect(row.plannedS).toBe(6600);
    expect(row.availability).toBeCloseTo(3900 / 5100, 12);
    expect(row.coverage).toBeCloseTo(5100 / 6600, 12);
  });

  it('counts only time inside the planned intervals; the rest is unscheduled', () => {
    const row = computeMachineKpis({
      machine: 'm1',
      from: F,
      to: F + 2 * H,
      samples: SAMPLES,
      stateMap: STATE_MAP,
      maxHoldS: 1800,
      // [F, F+30m) and [F+90m, F+120m) (the overlapping one is merged in): 3600 s planned
      plannedIntervals: [
        [F + 100 * MIN, F + 110 * MIN],
        [F + 90 * MIN, F + 2 * H],
        [F - H, F + 30 * MIN],
      ],
    });
    // [F, F+30m): running 1200, idle 600; [F+90m, F+120m): unknown 600 + 300 = 900, running 900
    expect(row.stateSeconds).toEqual({ runningS: 2100, idleS: 600, downS: 0, plannedStopS: 0, unknownS: 900, unscheduledS: 3600 });
    // measured 3600 − 900 unknown = 2700: availability = 2100 / 2700, coverage = 2700 / 3600
    expect(row.plannedS).toBe(3600);
    expect(row.availability).toBeCloseTo(2100 / 2700, 12);
    expect(row.coverage).toBeCloseTo(0.75, 12);
  });

  it('does not use the value of an uncertain or bad sample: it ends the hold', () => {
    const samples = [
      st(F, 'running'), // running [F, F+10m) = 600 s
      st(F + 10 * MIN, 'running', 'bad'), // unknown [F+10m, F+20m) = 600 s
      st(F + 20 * MIN, 'idle'), // idle [F+20m, F+30m) = 600 s
      st(F + 30 * MIN, 'running', 'uncertain'), // unknown [F+30m, F+60m) = 1800 s
    ];
    const row = computeMachineKpis({ machine: 'm1', from: F, to: F + H, samples });
    expect(row.stateSeconds).toEqual({ runningS: 600, idleS: 600, downS: 0, plannedStopS: 0, unknownS: 2400, unscheduledS: 0 });
  });

  it('reports a machine without state samples as unknown, availability null', () => {
    const row = computeMachineKpis({ machine: 'm1', from: F, to: F + H, samples: [] });
    expect(row.stateSeconds).toEqual({ runningS: 0, idleS: 0, downS: 0, plannedStopS: 0, unknownS: 3600, unscheduledS: 0 });
    expect(row.availability).toBeNull();
    expect(row.coverage).toBe(0);
    expect(row.oee).toBeNull();
  });

  it('gives availability null for a window that is all planned stop', () => {
    const row = computeMachineKpis({ machine: 'm1', from: F, to: F + H, samples: [st(F - MIN, 'planned_stop')] });
    // the hold of F−1m covers the hour (cap F+59m, then 60 s unknown): plannedS = 3600 − 3540 = 60 s, all unknown
    expect(row.stateSeconds.plannedStopS).toBe(3540);
    expect(row.plannedS).toBe(60);
    expect(row.availability).toBeNull();
  });

  it('computes performance from the ideal cycle time and flags it above 1', () => {
    const samples = [
      st(F - MIN, 'running'),
      st(F + 30 * MIN, 'running'), // keeps the hold alive: running all hour (3600 s)
      { machine: 'm1', signal: 'parts_total', ts: F - MIN, value: 0, quality: 'good' } as const,
      { machine: 'm1', signal: 'parts_total', ts: F + 59 * MIN, value: 100, quality: 'good' } as const,
    ];
    const row = computeMachineKpis({ machine: 'm1', from: F, to: F + H, samples, idealCycleTimeS: 30 });
    // 30 s × 100 / 3600 s = 0.8333
    expect(row.performance).toBeCloseTo(3000 / 3600, 12);
    expect(row.performanceOver1).toBe(false);
    const fast = computeMachineKpis({ machine: 'm1', from: F, to: F + H, samples, idealCycleTimeS: 45 });
    // 45 s × 100 / 3600 s = 1.25, reported as measured and flagged
    expect(fast.performance).toBeCloseTo(1.25, 12);
    expect(fast.performanceOver1).toBe(true);
    // no ideal cycle time: performance and OEE null
    const none = computeMachineKpis({ machine: 'm1', from: F, to: F + H, samples });
    expect(none.performance).toBeNull();
    expect(none.oee).toBeNull();
  });
});
