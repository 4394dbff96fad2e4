/**
 * Line and site rows are rolled up from additive components only: on random plants (through
 * the real buffer and KpiService), a line's row equals the recomputation over the union of its
 * machines — Σ energy / Σ good units, Σ running / Σ planned, the lead-time percentiles of all
 * their orders together — and is not the average of the machines' percentages.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../../config/index.ts';
import { SqliteBuffer } from '../../agent/buffer/index.ts';
import { KpiService, type KpiRow, type RollupRow } from '../../agent/kpi-query/index.ts';
import type { Sample } from '../../agent/model/index.ts';
import { Plant } from '../../agent/plant/index.ts';

const F = Date.UTC(2024, 4, 6, 6); // a Monday 06:00 UTC
const H = 3_600_000;
const MACHINES = [
  { id: 'a1', line: 'a' },
  { id: 'a2', line: 'a' },
  { id: 'b1', line: 'b' },
];
const CONFIG = `
site: { id: roll, timezone: UTC }
agent: { id: roll }
machines:
  - { id: a1, line: a, product: p, idealCycleTimeS: 30, maxHoldS: 86400 }
  - { id: a2, line: a, product: p, idealCycleTimeS: 45, maxHoldS: 86400 }
  - { id: b1, line: b, product: q, idealCycleTimeS: 20, maxHoldS: 86400 }
shifts:
  - { name: early, start: "06:00", end: "14:00" }
  - { name: late, start: "14:00", end: "22:00" }
`;

const machineArb = fc.record({
  parts: fc.array(fc.tuple(fc.integer({ min: 0, max: 16 * 60 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 25 }),
  energy: fc.array(fc.tuple(fc.integer({ min: 0, max: 16 * 60 }), fc.double({ min: 0.1, max: 30, noNaN: true })), { maxLength: 20 }),
  states: fc.array(fc.tuple(fc.integer({ min: -60, max: 16 * 60 }), fc.constantFrom('running', 'idle', 'down', 'planned_stop')), { minLength: 1, maxLength: 15 }),
  orders: fc.array(fc.integer({ min: 1, max: 16 * 60 }), { maxLength: 6 }),
});

function samplesOf(id: string, m: MachineData): Sample[] {
  const out: Sample[] = [];
  const s = (signal: string, minute: number, value: Sample['value']): void => {
    out.push({ machine: id, signal, ts: F + minute * 60_000, value, quality: 'good' });
  };
  s('parts_total', -5, 0);
  s('parts_scrap', -5, 0);
  s('energy_kwh', -5, 0);
  let total = 0;
  let scrap = 0;
  for (const [min, n, sc] of [...m.parts].sort((x, y) => x[0] - y[0])) {
    total += n;
    scrap += Math.min(sc, n);
    s('parts_total', min, total);
    s('parts_scrap', min, scrap);
  }
  let e = 0;
  for (const [min, d] of [...m.energy].sort((x, y) => x[0] - y[0])) {
    e += d;
    s('energy_kwh', min, e);
  }
  for (const [min, st] of m.states) s('state', min, st);
  [...new Set(m.orders)].sort((x, y) => x - y).forEach((min, i) => s('order_id', min, `${id}-o${i}`));
  return out;
}

interface MachineData {
  parts: [number, number, number][];
  energy: [number, number][];
  states: [number, string][];
  orders: number[];
}

describe('line and site roll-ups', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-rollup-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('equal the recomputation over the union of their machines (no averaging of percentages)', () => {
    let run = 0;
    fc.assert(
      fc.property(fc.tuple(machineArb, machineArb, machineArb), (data) => {
        const res = loadConfigText(CONFIG, { file: 'rollup.yaml' });
        if (!res.ok) throw new Error(JSON.stringify(res.problems));
        const d = join(dir, String(run++));
        const buffer = new SqliteBuffer({ dataDir: d, rollupSeries: new Plant(res.config) });
        try {
          const kpis = new KpiService(new Plant({ ...res.config, agent: { ...res.config.agent, dataDir: d } }), buffer);
          buffer.commit(MACHINES.flatMap((m, i) => samplesOf(m.id, data[i] as MachineData)));
          const q = { from: F, to: F + 16 * H, groupBy: 'shift' as const };
          const rows = kpis.query(q) as KpiRow[];
          const lines = kpis.query({ ...q, scope: 'line' }) as RollupRow[];
          const sites = kpis.query({ ...q, scope: 'site' }) as RollupRow[];
          expect(lines).toHaveLength(4); // 2 shifts × 2 lines
          expect(sites).toHaveLength(2);
          const orders = kpis.orderList();
          for (const g of [...lines, ...sites]) {
            const mine = rows.filter((r) => r.periodStart === g.periodStart && (g.line === null || r.line === g.line));
            const sum = (f: (r: KpiRow) => number | null): number => mine.reduce((a, r) => a + (f(r) ?? 0), 0);
            const good = sum((r) => r.unitsGood);
            const total = sum((r) => r.unitsTotal);
            const energy = sum((r) => r.energyKwh);
            expect(g.unitsGood).toBe(good);
            expect(g.energyKwh).toBeCloseTo(energy, 9);
            expect(g.energyPerUnitKwh).toEqual(good > 0 ? expect.closeTo(energy / good, 12) : null);
            expect(g.scrapRate).toEqual(total > 0 ? expect.closeTo(sum((r) => r.unitsScrap) / total, 12) : null);
            const planned = sum((r) => r.plannedS);
            const running = sum((r) => r.runningS);
            // availability is over the measured part of planned time (DESIGN.md §4)
            const measured = planned - sum((r) => r.unknownS);
            expect(g.plannedS).toBeCloseTo(planned, 6);
            expect(g.coverage).toEqual(planned > 0 ? expect.closeTo(measured / planned, 12) : null);
            if (g.availability !== null) expect(g.availability).toBeCloseTo(running / measured, 12);
            const ideal = sum((r) => r.components.idealS);
            if (g.performance !== null) expect(g.performance).toBeCloseTo(ideal / running, 12);
            if (g.oee !== null) expect(g.oee).toBeCloseTo((running / measured) * (ideal / running) * (good / total), 12);
            // lead times: the percentiles of the union of the orders, not of the machines' p50s
            const from = Date.parse(g.periodStart);
            const to = Date.parse(g.periodEnd);
            const lts = orders
              .filter((o) => o.completedAt !== null && o.completedAt >= from && o.completedAt < to && (g.line === null || MACHINES.find((m) => m.id === o.machine)?.line === g.line))
              .map((o) => o.leadTimeS as number)
              .sort((a, b) => a - b);
            expect(g.leadTime.orders).toBe(lts.length);
            if (lts.length > 0) {
              const p50 = lts[Math.ceil(0.5 * lts.length) - 1] as number;
              const p90 = lts[Math.ceil(0.9 * lts.length) - 1] as number;
              expect(Math.abs((g.leadTime.p50S as number) - p50)).toBeLessThanOrEqual(0.005 * p50);
              expect(Math.abs((g.leadTime.p90S as number) - p90)).toBeLessThanOrEqual(0.005 * p90);
              expect(g.leadTime.maxS).toBe(lts[lts.length - 1]);
            }
          }
        } finally {
          buffer.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('is not the average of the machines\' ratios', () => {
    const res = loadConfigText(CONFIG, { file: 'rollup.yaml' });
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    const d = join(dir, 'avg');
    const buffer = new SqliteBuffer({ dataDir: d, rollupSeries: new Plant(res.config) });
    try {
      const kpis = new KpiService(new Plant({ ...res.config, agent: { ...res.config.agent, dataDir: d } }), buffer);
      const s = (machine: string, signal: string, minute: number, value: number): Sample => ({ machine, signal, ts: F + minute * 60_000, value, quality: 'good' });
      // a1: 10 kWh for 100 good units (0.1); a2: 10 kWh for 10 good units (1.0)
      buffer.commit([
        s('a1', 'energy_kwh', 0, 0), s('a1', 'energy_kwh', 60, 10), s('a1', 'parts_total', 0, 0), s('a1', 'parts_total', 60, 100),
        s('a1', 'parts_scrap', 0, 0), s('a1', 'parts_scrap', 60, 0),
        s('a2', 'energy_kwh', 0, 0), s('a2', 'energy_kwh', 60, 10), s('a2', 'parts_total', 0, 0), s('a2', 'parts_total', 60, 10),
        s('a2', 'parts_scrap', 0, 0), s('a2', 'parts_scrap', 60, 0),
      ]);
      const [line] = kpis.query({ from: F, to: F + 2 * H, groupBy: 'none', line: 'a', scope: 'line' }) as RollupRow[];
      // 20 kWh / 110 units = 0.1818…, not (0.1 + 1.0) / 2 = 0.55
      expect(line?.energyPerUnitKwh).toBeCloseTo(20 / 110, 12);
    } finally {
      buffer.close();
    }
  });
});
