/**
 * Rollups (kept incrementally at commit time) equal a recomputation from the raw rows with the
 * KPI engine's own functions, per minute and per hour, whatever the order samples arrive in
 * (late samples), however they are batched, and across a crash (the buffer is abandoned
 * without close and reopened: pending contributions are replayed from raw rows).
 */
import fc from 'fast-check';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Quality, Sample, SampleValue } from '../model/index.ts';
import { isCounterSignal, MACHINE_STATES } from '../model/index.ts';
import { accumulateCounterDeltas } from '../kpi/counter-deltas.ts';
import { accumulateStateMs, makeStateDecoder, STATE_COUNT } from '../kpi/state-time.ts';
import { accumulatePowerKwMs } from '../kpi/energy.ts';
import { buildScopes } from '../kpi/planned-scopes.ts';
import { compareSamples, type KpiSample } from '../kpi/sample-order.ts';
import { toWindowSet, type Interval } from '../kpi/windows.ts';
import { SqliteBuffer } from './sqlite-buffer.ts';
import { HOUR_MS, MINUTE_MS, type RollupRow, type RollupSeriesConfig } from './rollups.ts';

const F = Date.UTC(2024, 0, 1, 6);
const SPAN = 3 * HOUR_MS;
const MAX_HOLD_MS = 20 * MINUTE_MS;
const STATE_MAP = { '1': 'running', '2': 'idle', '3': 'down', '4': 'planned_stop' } as const;
const ROLLOVER = 1000;

const SERIES_CFG: RollupSeriesConfig = {
  rollover: (_m, signal) => (signal === 'energy_kwh' ? ROLLOVER : 0),
  maxHoldMs: () => MAX_HOLD_MS,
  stateMap: () => STATE_MAP,
};

const qualityArb = fc.constantFrom<Quality>('good', 'good', 'good', 'good', 'uncertain', 'bad');
const counterValue = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 1200 }) },
  { weight: 1, arbitrary: fc.constantFrom<SampleValue>(null, 'x', true) },
);
const gaugeValue = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 50 }) },
  { weight: 3, arbitrary: fc.double({ min: -5, max: 50, noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.constantFrom<SampleValue>(null, 'x', false) },
);
const stateValue = fc.constantFrom<SampleValue>('running', 'idle', 'down', 'planned_stop', 1, 2, 3, 4, 99, null, 'weird');
const SIGNALS: readonly [string, fc.Arbitrary<SampleValue>][] = [
  ['energy_kwh', counterValue],
  ['parts_total', counterValue],
  ['power_kw', gaugeValue],
  ['state', stateValue],
];

// clustered timestamps: many in a few minutes, some far apart, some equal
const tsArb = fc.oneof(
  { weight: 1, arbitrary: fc.integer({ min: 0, max: SPAN }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 20 }).map((k) => k * 7 * MINUTE_MS) },
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 300 }).map((k) => 50 * MINUTE_MS + k * 2000) },
);
const sampleArb: fc.Arbitrary<Sample> = fc
  .tuple(fc.constantFrom('m1', 'm1', 'm1', 'm2'), fc.integer({ min: 0, max: SIGNALS.length - 1 }), tsArb, qualityArb, fc.nat())
  .chain(([machine, si, dt, quality]) => {
    const [signal, valueArb] = SIGNALS[si] as [string, fc.Arbitrary<SampleValue>];
    return valueArb.map((value): Sample => ({ machine, signal, ts: F + dt, value, quality }));
  });

/** An arrival: mostly in time order, with late samples; cut into commit batches; maybe crashes. */
const scenarioArb = fc.record({
  samples: fc.array(sampleArb, { minLength: 1, maxLength: 240, size: 'max' }),
  /** in time order; in time order with some samples delayed (late); in random order */
  order: fc.constantFrom('sorted', 'delayed', 'random'),
  delays: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 240, maxLength: 240, size: 'max' }),
  cuts: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }),
  crashAfter: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 }) }),
  /** 0: rollups written at every commit; else only at read or crash recovery */
  flushMs: fc.constantFrom(0, 60_000),
});

interface RawRow {
  machine: string;
  signal: string;
  id: number;
  ts: number;
  value: SampleValue;
  quality: number;
}

const QUALITY: readonly Quality[] = ['good', 'uncertain', 'bad'];

/** The reference: every bucket of every series, from the raw rows, with the agent/kpi functions. */
function recompute(dbPath: string, size: number, from: number, to: number): Map<string, Omit<RollupRow, 'lastQuality' | 'end'> & { lastQuality: Quality | null }> {
  const db = new Database(dbPath, { readonly: true });
  const rows = db.prepare('SELECT machine, signal, samples.id AS id, ts, value, quality FROM samples JOIN series ON series.id = samples.series').all() as RawRow[];
  db.close();
  const bySeries = new Map<string, RawRow[]>();
  for (const r of rows) {
    const k = `${r.machine}|${r.signal}`;
    const l = bySeries.get(k) ?? [];
    l.push(r);
    bySeries.set(k, l);
  }
  const windows: Interval[] = [];
  for (let t = from; t < to; t += size) windows.push([t, t + size]);
  const ws = toWindowSet(windows);
  const out = new Map<string, Omit<RollupRow, 'lastQuality' | 'end'> & { lastQuality: Quality | null }>();
  for (const [k, list] of bySeries) {
    const [machine, signal] = k.split('|') as [string, string];
    const sorted: KpiSample[] = list.map((r) => ({ id: r.id, machine, signal, ts: r.ts, value: r.value, quality: QUALITY[r.quality] ?? 'bad' })).sort(compareSamples);
    const n = windows.length;
    const delta = new Float64Array(n);
    const stateMs = new Float64Array(n * STATE_COUNT);
    const integral = new Float64Array(n);
    const held = new Float64Array(n);
    if (isCounterSignal(signal)) accumulateCounterDeltas(sorted, ws, signal === 'energy_kwh' ? ROLLOVER : 0, delta);
    else if (signal === 'state') accumulateStateMs(sorted, buildScopes(ws, undefined), makeStateDecoder(STATE_MAP), MAX_HOLD_MS, stateMs);
    else {
      accumulatePowerKwMs(sorted, ws, MAX_HOLD_MS, integral);
      const ones = sorted.map((s) => (typeof s.value === 'number' && Number.isFinite(s.value) ? { ...s, value: 1 } : s));
      accumulatePowerKwMs(ones, ws, MAX_HOLD_MS, held);
    }
    windows.forEach(([start, end], i) => {
      const inside = sorted.filter((s) => s.ts >= start && s.ts < end);
      const good = inside.filter((s) => s.quality === 'good');
      const nums = good.map((s) => s.value).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      const last = inside[inside.length - 1];
      const lastGood = good[good.length - 1];
      const st = Object.fromEntries(MACHINE_STATES.map((name, j) => [name, stateMs[i * STATE_COUNT + j] as number])) as RollupRow['stateMs'];
      const row = {
        machine,
        signal,
        start,
        samples: inside.length,
        goodSamples: good.length,
        numericCount: nums.length,
        sum: nums.reduce((a, b) => a + b, 0),
        min: nums.length ? Math.min(...nums) : null,
        max: nums.length ? Math.max(...nums) : null,
        delta: delta[i] as number,
        stateMs: st,
        integral: integral[i] as number,
        heldMs: held[i] as number,
        firstTs: inside[0]?.ts ?? null,
        lastTs: last?.ts ?? null,
        lastValue: last?.value ?? null,
        lastQuality: last?.quality ?? null,
        lastGoodTs: lastGood?.ts ?? null,
        lastGoodValue: lastGood?.value ?? null,
      };
      const empty = row.samples === 0 && row.delta === 0 && row.heldMs === 0 && MACHINE_STATES.every((s) => st[s] === 0);
      if (!empty) out.set(`${k}|${start}`, row);
    });
  }
  return out;
}

function compare(buffer: SqliteBuffer, dbPath: string, resolution: 'minute' | 'hour'): void {
  const size = resolution === 'hour' ? HOUR_MS : MINUTE_MS;
  const from = Math.floor(F / HOUR_MS) * HOUR_MS;
  const to = from + SPAN + 2 * HOUR_MS;
  const expected = recompute(dbPath, size, from, to);
  const got = buffer.rollups.rollups(['m1', 'm2'], from, to, resolution);
  const gotMap = new Map(got.map((r) => [`${r.machine}|${r.signal}|${r.start}`, r]));
  for (const [k, e] of expected) {
    const g = gotMap.get(k);
    expect(g, `${resolution} row ${k}`).toBeDefined();
    if (!g) continue;
    const ctx = `${resolution} ${k}`;
    // booleans are stored as 1/0, and SQLite has no -0
    const norm = (v: SampleValue): SampleValue => (typeof v === 'boolean' ? (v ? 1 : 0) : v === 0 ? 0 : v);
    expect([g.samples, g.goodSamples, g.numericCount, norm(g.min), norm(g.max), g.firstTs, g.lastTs, g.lastQuality, g.lastGoodTs], ctx).toEqual([
      e.samples, e.goodSamples, e.numericCount, norm(e.min), norm(e.max), e.firstTs, e.lastTs, e.lastQuality, e.lastGoodTs,
    ]);
    expect([norm(g.lastValue), norm(g.lastGoodValue)], ctx).toEqual([norm(e.lastValue), norm(e.lastGoodValue)]);
    expect(g.sum, ctx).toBeCloseTo(e.sum, 6);
    expect(g.delta, ctx).toBeCloseTo(e.delta, 6);
    expect(g.integral, ctx).toBeCloseTo(e.integral, 3);
    expect(g.heldMs, ctx).toBeCloseTo(e.heldMs, 6);
    for (const s of MACHINE_STATES) expect(g.stateMs[s], `${ctx} ${s}`).toBeCloseTo(e.stateMs[s], 6);
  }
  // and nothing the reference does not have (rows of zeros aside)
  for (const g of got) {
    const k = `${g.machine}|${g.signal}|${g.start}`;
    if (expected.has(k)) continue;
    expect({ k, samples: g.samples, delta: g.delta, heldMs: g.heldMs, states: MACHINE_STATES.map((s) => g.stateMs[s]) }).toEqual({ k, samples: 0, delta: 0, heldMs: 0, states: [0, 0, 0, 0] });
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sfa-rollups-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('rollups', () => {
  it('equal a recomputation from raw rows, minute and hour, with late samples, batches and crashes', () => {
    let run = 0;
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const dataDir = join(dir, String(run++));
        // arrival order: by ts, with some samples delayed (they arrive after newer ones: late)
        const keyed = sc.samples.map((s, i) => {
          const d = sc.delays[i] ?? 0;
          if (sc.order === 'random') return { s, k: d };
          return { s, k: s.ts + (sc.order === 'delayed' && d % 3 === 0 ? (d / 1000) * 2 * HOUR_MS : 0) };
        });
        const arrival = keyed.sort((a, b) => a.k - b.k).map((x) => x.s);
        let buffer = new SqliteBuffer({ dataDir, rollupSeries: SERIES_CFG, rollupFlushMs: sc.flushMs });
        let i = 0;
        let batch = 0;
        while (i < arrival.length) {
          const n = sc.cuts[batch % sc.cuts.length] as number;
          buffer.commit(arrival.slice(i, i + n));
          i += n;
          if (sc.crashAfter === batch) {
            // a crash: the pending contributions are lost with the process; the raw rows are not
            buffer = new SqliteBuffer({ dataDir, rollupSeries: SERIES_CFG, rollupFlushMs: sc.flushMs });
          }
          batch++;
        }
        compare(buffer, buffer.path, 'minute');
        compare(buffer, buffer.path, 'hour');
        buffer.close();
      }),
      { numRuns: Number(process.env.SFA_PROP_RUNS ?? 60) },
    );
  }, 60_000);

  it('gives the baselines before an hour: last sample and last good sample per signal', () => {
    const b = new SqliteBuffer({ dataDir: dir, rollupSeries: SERIES_CFG });
    b.commit([
      { machine: 'm1', signal: 'parts_total', ts: F + 10 * MINUTE_MS, value: 5, quality: 'good' },
      { machine: 'm1', signal: 'parts_total', ts: F + 50 * MINUTE_MS, value: null, quality: 'bad' },
      { machine: 'm1', signal: 'state', ts: F + 30 * MINUTE_MS, value: 'running', quality: 'good' },
      { machine: 'm1', signal: 'parts_total', ts: F + 70 * MINUTE_MS, value: 9, quality: 'good' },
    ]);
    const base = b.rollups.baselines('m1', F + HOUR_MS);
    expect(base.find((x) => x.signal === 'parts_total')).toEqual({
      signal: 'parts_total',
      last: { ts: F + 50 * MINUTE_MS, value: null, quality: 'bad' },
      lastGood: { ts: F + 10 * MINUTE_MS, value: 5 },
    });
    expect(base.find((x) => x.signal === 'state')?.last?.value).toBe('running');
    const hours = b.rollups.rollups(['m1'], F, F + 2 * HOUR_MS, 'hour').filter((r) => r.signal === 'parts_total');
    expect(hours.map((r) => r.delta)).toEqual([0, 4]);
    b.close();
  });
});
