import { describe, expect, it } from 'vitest';
import type { Quality, SampleValue } from '../model/index.ts';
import { accumulatePowerKwMs, MS_PER_HOUR, resolveEnergySource } from './energy.ts';
import { computeMachineKpis } from './machine-kpis.ts';
import { sortSamplesInPlace, type KpiSample } from './sample-order.ts';
import { toWindowSet } from './windows.ts';

const F = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const H = 3_600_000;

function s(signal: string, ts: number, value: SampleValue, quality: Quality = 'good'): KpiSample {
  return { machine: 'm1', signal, ts, value, quality };
}
const p = (ts: number, value: SampleValue, quality: Quality = 'good') => s('power_kw', ts, value, quality);

function kwh(samples: KpiSample[], windows: [number, number][], maxHoldS = 3600): number[] {
  const out = new Float64Array(windows.length);
  accumulatePowerKwMs(sortSamplesInPlace([...samples]), toWindowSet(windows), maxHoldS * 1000, out);
  return [...out].map((x) => x / MS_PER_HOUR);
}

describe('power integration (zero-order hold)', () => {
  it('holds each value until the next sample, a bad sample or maxHoldS, clipped to the window', () => {
    const samples = [
      p(F - 30 * MIN, 6), // held from before from: [F, F+15m) = 0.25 h × 6 kW = 1.5 kWh
      p(F + 15 * MIN, 4), // until the bad sample: [F+15m, F+45m) = 0.5 h × 4 kW = 2 kWh
      p(F + 45 * MIN, null, 'bad'), // ends the hold: nothing until F+60m
      p(F + 60 * MIN, 3), // no sample for 110 min: maxHoldS 3600 ends it at F+120m: 1 h × 3 kW = 3 kWh
      p(F + 170 * MIN, 12), // clipped at the window end F+180m: 10 min × 12 kW = 2 kWh
      p(F + 180 * MIN, 100), // at `to`: not in the window
    ];
    // 1.5 + 2 + 3 + 2 = 8.5 kWh
    const [e] = kwh(samples, [[F, F + 3 * H]]);
    expect(e).toBeCloseTo(8.5, 12);
  });

  it('ends a baseline hold that expired before from', () => {
    // 50 kW at F−90m held 60 min: ends at F−30m, nothing in the window
    expect(kwh([p(F - 90 * MIN, 50)], [[F, F + H]])).toEqual([0]);
  });

  it('honours a shorter maxHoldS', () => {
    // 6 kW held 600 s = 1/6 h: 1 kWh
    expect(kwh([p(F, 6)], [[F, F + H]], 600)[0]).toBeCloseTo(1, 12);
  });

  it('treats an uncertain or non-numeric sample like a bad one', () => {
    // 6 kW for 10 min (= 1 kWh), then an uncertain sample, then a text value: nothing after
    const samples = [p(F, 6), p(F + 10 * MIN, 7, 'uncertain'), p(F + 20 * MIN, 3), p(F + 30 * MIN, 'n/a')];
    // + 3 kW × 10 min (F+20m..F+30m) = 0.5 kWh → 1.5 kWh
    expect(kwh(samples, [[F, F + H]])[0]).toBeCloseTo(1.5, 12);
  });

  it('splits a hold across adjacent windows', () => {
    // 12 kW from F+30m to F+90m: 6 kWh in each hour
    const r = kwh([p(F + 30 * MIN, 12), p(F + 90 * MIN, 0)], [
      [F, F + H],
      [F + H, F + 2 * H],
    ]);
    expect(r[0]).toBeCloseTo(6, 12);
    expect(r[1]).toBeCloseTo(6, 12);
  });
});

describe('energy source', () => {
  it('prefers the counter in auto, falls back to power, else none', () => {
    expect(resolveEnergySource('auto', true, true)).toBe('counter');
    expect(resolveEnergySource('auto', false, true)).toBe('power');
    expect(resolveEnergySource('auto', false, false)).toBe('none');
    expect(resolveEnergySource('power', true, true)).toBe('power');
    expect(resolveEnergySource('counter', false, true)).toBe('none');
  });

  it('uses the energy_kwh deltas when the machine has a counter and ignores power', () => {
    const samples = [
      s('energy_kwh', F - MIN, 1000),
      s('energy_kwh', F + 30 * MIN, 1010),
      s('power_kw', F, 500),
    ];
    const row = computeMachineKpis({ machine: 'm1', from: F, to: F + H, samples });
    // 1010 − 1000 = 10 kWh
    expect(row.energySource).toBe('counter');
    expect(row.energyKwh).toBe(10);
  });

  it('integrates power for a power-only machine; energy per unit from it', () => {
    const samples = [
      p(F - 30 * MIN, 6),
      p(F + 15 * MIN, 4),
      p(F + 45 * MIN, null, 'bad'),
      p(F + 60 * MIN, 3),
      p(F + 170 * MIN, 12),
      s('parts_good', F - MIN, 0),
      s('parts_good', F + 100 * MIN, 17),
    ];
    const row = computeMachineKpis({ machine: 'm1', from: F, to: F + 3 * H, samples });
    // 8.5 kWh as above; 17 good units: 8.5 / 17 = 0.5 kWh/unit
    expect(row.energySource).toBe('power');
    expect(row.energyKwh).toBeCloseTo(8.5, 12);
    expect(row.energyPerUnitKwh).toBeCloseTo(0.5, 12);
  });

  it('reports energy and energy per unit as null when the machine measures no energy', () => {
    const row = computeMachineKpis({
      machine: 'm1',
      from: F,
      to: F + H,
      samples: [s('parts_good', F - MIN, 0), s('parts_good', F + MIN, 5)],
    });
    expect(row.energySource).toBe('none');
    expect(row.energyKwh).toBeNull();
    expect(row.energyPerUnitKwh).toBeNull();
    expect(row.unitsGood).toBe(5);
  });

  it('gives null energy per unit in a window with no good units', () => {
    const row = computeMachineKpis({
      machine: 'm1',
      from: F,
      to: F + H,
      samples: [
        s('energy_kwh', F - MIN, 10),
        s('energy_kwh', F + MIN, 14),
        s('parts_good', F - MIN, 7),
        s('parts_good', F + MIN, 7),
      ],
    });
    // 4 kWh, 0 good units: no energy per unit
    expect(row.energyKwh).toBe(4);
    expect(row.unitsGood).toBe(0);
    expect(row.energyPerUnitKwh).toBeNull();
  });
});
