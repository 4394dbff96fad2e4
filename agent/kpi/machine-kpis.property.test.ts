/**
 * Properties of the engine over random machines: (a) splitting a window into adjacent
 * sub-windows and summing their components gives the whole window's components, and the
 * one-pass many-window call gives the same rows as one call per window; (b) the order of the
 * input samples does not matter; (c) passing more history than needed does not matter.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Quality, SampleValue } from '../model/index.ts';
import { sumComponents, type KpiComponents } from './components.ts';
import { computeMachineKpis, computeMachineKpisByWindow, type MachineKpiOptions } from './machine-kpis.ts';
import type { KpiSample } from './sample-order.ts';
import { samplesForWindow } from './window-samples.ts';
import type { Interval } from './windows.ts';

const F = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const H = 3_600_000;
const STATE_MAP = { '1': 'running', '2': 'idle', '3': 'down', '4': 'planned_stop' } as const;

const qualityArb = fc.constantFrom<Quality>('good', 'good', 'good', 'good', 'good', 'uncertain', 'bad');
const counterValue = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 1200 }) },
  { weight: 1, arbitrary: fc.constantFrom<SampleValue>(null, 'x', true) },
);
const powerValue = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 50 }) },
  { weight: 3, arbitrary: fc.double({ min: -5, max: 50, noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.constantFrom<SampleValue>(null, 'x') },
);
const stateValue = fc.constantFrom<SampleValue>('running', 'running', 'idle', 'down', 'planned_stop', 1, 1, 2, 3, 4, 99, null, 'weird');

const SIGNALS: readonly [string, fc.Arbitrary<SampleValue>][] = [
  ['energy_kwh', counterValue],
  ['parts_total', counterValue],
  ['parts_good', counterValue],
  ['parts_scrap', counterValue],
  ['qa_inspected', counterValue],
  ['power_kw', powerValue],
  ['state', stateValue],
  ['temp_c', powerValue],
];

interface Scenario {
  to: number;
  cuts: number[];
  samples: KpiSample[];
  options: MachineKpiOptions;
}

/** A sample time in [F − 2 h, to + 1 h), often on a minute grid so that timestamps tie. */
function tsArb(lengthMs: number): fc.Arbitrary<number> {
  return fc
    .tuple(fc.integer({ min: -2 * H, max: lengthMs + H - 1 }), fc.boolean())
    .map(([offset, snap]) => F + (snap ? Math.floor(offset / MIN) * MIN : offset));
}

function streamArb(signal: string, value: fc.Arbitrary<SampleValue>, lengthMs: number): fc.Arbitrary<KpiSample[]> {
  // Sometimes a twin at the same ts with another quality or value: ties must sort the same
  // whatever the input order.
  const twin = fc.oneof(
    { weight: 5, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.tuple(qualityArb, fc.option(value, { nil: undefined })) },
  );
  const sample = fc.record({ ts: tsArb(lengthMs), value, quality: qualityArb, twin }).map(({ twin: t, ...r }): KpiSample[] => {
    const s: KpiSample = { machine: 'm', signal, ...r };
    if (t === undefined) return [s];
    const [quality, other] = t;
    return [s, { ...s, quality, value: other === undefined ? s.value : other }];
  });
  // Each present tag has a sample before F, so every sub-window sees the same tags
  // (a tag first seen mid-window is "not measured" before and "measured" after).
  const baseline = fc
    .record({ ts: fc.integer({ min: F - 2 * H, max: F - 1 }), value, quality: qualityArb })
    .map((r): KpiSample => ({ machine: 'm', signal, ...r }));
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant<KpiSample[]>([]) },
    { weight: 4, arbitrary: fc.tuple(baseline, fc.array(sample, { maxLength: 30 })).map(([b, rest]) => [b, ...rest.flat()]) },
  );
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.integer({ min: 2, max: 8 * H }).chain((lengthMs) =>
  fc
    .record({
      streams: fc.tuple(...SIGNALS.map(([signal, value]) => streamArb(signal, value, lengthMs))),
      otherMachine: fc.array(fc.record({ ts: tsArb(lengthMs), value: counterValue }), { maxLength: 5 }),
      withIds: fc.boolean(),
      cuts: fc.uniqueArray(fc.integer({ min: 1, max: lengthMs - 1 }), { minLength: 1, maxLength: 5 }),
      maxHoldS: fc.constantFrom(60, 600, 3600, 36_000),
      rollover: fc.option(fc.constant(1000), { nil: undefined }),
      idealCycleTimeS: fc.option(fc.double({ min: 0.5, max: 120, noNaN: true }), { nil: undefined }),
      energySource: fc.constantFrom('auto', 'counter', 'power') as fc.Arbitrary<MachineKpiOptions['energySource']>,
      planned: fc.option(
        fc.array(
          fc.tuple(fc.integer({ min: -H, max: lengthMs + H }), fc.integer({ min: 0, max: 3 * H })).map(([a, len]): Interval => [F + a, F + a + len]),
          { maxLength: 4 },
        ),
        { nil: undefined },
      ),
    })
    .map((r): Scenario => {
      const samples: KpiSample[] = [
        ...r.streams.flat(),
        ...r.otherMachine.map((o) => ({ machine: 'other', signal: 'parts_total', ts: o.ts, value: o.value, quality: 'good' as const })),
      ];
      const withIds = r.withIds ? samples.map((s, i) => ({ ...s, id: i + 1 })) : samples;
      return {
        to: F + lengthMs,
        cuts: [...r.cuts].sort((a, b) => a - b).map((c) => F + c),
        samples: withIds,
        options: {
          maxHoldS: r.maxHoldS,
          rollover: r.rollover === undefined ? undefined : { parts_total: r.rollover, energy_kwh: r.rollover },
          idealCycleTimeS: r.idealCycleTimeS,
          energySource: r.energySource,
          plannedIntervals: r.planned,
          stateMap: STATE_MAP,
        },
      };
    }),
);

function windowsOf(s: Scenario): Interval[] {
  const edges = [F, ...s.cuts, s.to];
  return edges.slice(1).map((end, i) => [edges[i] as number, end]);
}

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function expectComponentsClose(actual: KpiComponents, expected: KpiComponents): void {
  for (const key of Object.keys(expected) as (keyof KpiComponents)[]) {
    const a = actual[key];
    const e = expected[key];
    if (typeof a === 'object' || typeof e === 'object') {
      expect({ [key]: a }).toEqual({ [key]: e });
    } else if (a === null || e === null) {
      expect({ [key]: a }).toEqual({ [key]: e });
    } else if (!close(a, e)) {
      expect.fail(`${key}: sum of sub-windows ${a} ≠ whole window ${e}`);
    }
  }
}

describe('KPI engine properties', () => {
  it('(a) sub-window components sum to the whole window; one pass equals one call per window', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const whole = computeMachineKpis({ ...s.options, machine: 'm', from: F, to: s.to, samples: samplesForWindow(s.samples, F, s.to) });
        const windows = windowsOf(s);
        const parts = windows.map(([from, to]) =>
          computeMachineKpis({ ...s.options, machine: 'm', from, to, samples: samplesForWindow(s.samples, from, to) }),
        );
        expectComponentsClose(sumComponents(parts.map((p) => p.components)), whole.components);
        const c = whole.components;
        expect(close(c.plannedS + c.plannedStopS + c.unscheduledS, c.windowS)).toBe(true);

        const onePass = computeMachineKpisByWindow({ ...s.options, machine: 'm', windows, samples: samplesForWindow(s.samples, F, s.to) });
        expect(onePass).toEqual(parts);
      }),
      { numRuns: 400 },
    );
  });

  it('(b) shuffling the input samples gives identical KPIs', () => {
    const arb = scenarioArb.chain((s) =>
      fc.tuple(fc.constant(s), fc.shuffledSubarray(s.samples, { minLength: s.samples.length, maxLength: s.samples.length })),
    );
    fc.assert(
      fc.property(arb, ([s, shuffled]) => {
        const input = { ...s.options, machine: 'm', from: F, to: s.to };
        expect(computeMachineKpis({ ...input, samples: shuffled })).toEqual(computeMachineKpis({ ...input, samples: s.samples }));
        const windows = windowsOf(s);
        expect(computeMachineKpisByWindow({ ...s.options, machine: 'm', windows, samples: shuffled })).toEqual(
          computeMachineKpisByWindow({ ...s.options, machine: 'm', windows, samples: s.samples }),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('(c) passing all history instead of just the baselines gives identical KPIs', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const input = { ...s.options, machine: 'm', from: F, to: s.to };
        expect(computeMachineKpis({ ...input, samples: s.samples })).toEqual(
          computeMachineKpis({ ...input, samples: samplesForWindow(s.samples, F, s.to) }),
        );
      }),
      { numRuns: 300 },
    );
  });
});
