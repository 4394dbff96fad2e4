import { describe, expect, it } from 'vitest';
import { PlantModel, type MachineState } from './plant-model.ts';
import { MACHINE_IDS, MACHINE_SPECS, STATE_CODES, machineSpec, type MachineId } from './machine-specs.ts';
import { WH_ROLLOVER, exposedEnergy, exposedEnergyDeltaKwh } from './energy-meter.ts';
import { mulberry32 } from './seeded-random.ts';
import type { MachineSnapshot, PlantEvent } from './plant-events.ts';

const DAY = 24 * 3600;

function run(seed: number, steps: number): { events: PlantEvent[]; snapshots: MachineSnapshot[][] } {
  const m = new PlantModel({ seed });
  const events: PlantEvent[] = [];
  const snapshots: MachineSnapshot[][] = [];
  for (let i = 0; i < steps; i++) {
    events.push(...m.step());
    if (i % 100 === 0) snapshots.push(m.snapshots());
  }
  return { events, snapshots };
}

describe('mulberry32', () => {
  it('is seeded, deterministic and uniform in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 10_000 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    expect(mulberry32(43)()).not.toBe(mulberry32(42)());
  });
});

describe('PlantModel determinism', () => {
  it('gives the same sequence for the same seed, independent of the wall clock', () => {
    const a = run(42, 20_000);
    const b = run(42, 20_000);
    expect(b.events).toEqual(a.events);
    expect(b.snapshots).toEqual(a.snapshots);
    expect(a.events.length).toBeGreaterThan(500);
  });

  it('gives a different sequence for a different seed', () => {
    const a = run(42, 5_000);
    const b = run(7, 5_000);
    expect(b.events).not.toEqual(a.events);
    expect(b.snapshots).not.toEqual(a.snapshots);
  });

  it('numbers orders ORD-1001, ORD-1002 … in release order', () => {
    const { events } = run(42, DAY);
    const released = events.flatMap((e) => (e.type === 'order' && e.event === 'released' ? [e.order.orderId] : []));
    expect(released.slice(0, 3)).toEqual(['ORD-1001', 'ORD-1002', 'ORD-1003']);
    expect(released).toEqual(released.map((_, i) => `ORD-${1001 + i}`));
  });
});

describe('PlantModel behaviour', () => {
  it('keeps counters monotonic, scrap ≤ total, and the meter rising every second', () => {
    // plain checks in the loop (an expect() per value would take seconds); one assertion at the end
    const problems: string[] = [];
    for (const seed of [1, 42, 2024]) {
      const m = new PlantModel({ seed });
      let prev = m.snapshots();
      for (let i = 0; i < DAY / 2; i++) {
        m.step();
        const cur = m.snapshots();
        cur.forEach((c, k) => {
          const p = prev[k] as MachineSnapshot;
          const ok =
            c.partsTotal >= p.partsTotal &&
            c.partsTotal - p.partsTotal <= 1 &&
            c.partsScrap >= p.partsScrap &&
            c.partsScrap - p.partsScrap <= c.partsTotal - p.partsTotal &&
            c.partsScrap <= c.partsTotal &&
            c.energyWh >= p.energyWh &&
            Number.isInteger(c.energyWh) &&
            c.stateCode === STATE_CODES[c.state] &&
            /^ORD-\d{4,}$/.test(c.orderId);
          if (!ok && problems.length < 5) problems.push(`seed ${seed} t=${m.simTimeS} ${JSON.stringify(p)} -> ${JSON.stringify(c)}`);
        });
        prev = cur;
      }
    }
    expect(problems).toEqual([]);
  });

  it('starts running and produces a good and a counted part within 400 simulated seconds (40 s at speed 10), whatever the seed', () => {
    for (let seed = 0; seed < 60; seed++) {
      const m = new PlantModel({ seed });
      const good = new Set<MachineId>();
      const counted = new Set<MachineId>();
      for (const s of m.snapshots()) expect(s.state).toBe('running');
      for (let i = 0; i < 400; i++) {
        for (const e of m.step()) {
          if (e.type === 'part') {
            counted.add(e.machine);
            if (!e.scrap) good.add(e.machine);
          }
          // the warm-up keeps the first minutes running
          if (e.type === 'state' && e.simTimeS <= 300) throw new Error(`seed ${seed}: ${e.machine} left running at ${e.simTimeS} s`);
        }
      }
      expect([...good].sort()).toEqual([...MACHINE_IDS].sort());
      expect([...counted].sort()).toEqual([...MACHINE_IDS].sort());
    }
  });

  it('visits every state over a day, with cycle times near (a little slower than) ideal and realistic scrap rates', () => {
    const m = new PlantModel({ seed: 42 });
    const before = new Map(m.snapshots().map((s) => [s.id, s]));
    const lastPartAt = new Map<MachineId, number>();
    const cycles = new Map<MachineId, number[]>(MACHINE_IDS.map((id) => [id, []]));
    const interrupted = new Set<MachineId>();
    for (let i = 0; i < DAY; i++) {
      for (const e of m.step()) {
        if (e.type === 'state') interrupted.add(e.machine);
        if (e.type !== 'part') continue;
        const prev = lastPartAt.get(e.machine);
        if (prev !== undefined && !interrupted.has(e.machine)) cycles.get(e.machine)?.push(e.simTimeS - prev);
        lastPartAt.set(e.machine, e.simTimeS);
        interrupted.delete(e.machine);
      }
    }
    const scrapBands: Record<MachineId, [number, number]> = {
      'printer-1': [0.03, 0.09],
      'printer-2': [0.03, 0.09],
      'cnc-1': [0.01, 0.05],
      'assembly-1': [0.005, 0.035],
    };
    for (const id of MACHINE_IDS) {
      const spec = machineSpec(id);
      const stateS = m.stateSeconds(id);
      for (const s of ['running', 'idle', 'down', 'planned_stop'] as MachineState[]) expect(stateS[s], `${id} ${s}`).toBeGreaterThan(0);
      expect(stateS.running / DAY).toBeGreaterThan(0.55);
      const cs = cycles.get(id) ?? [];
      const mean = cs.reduce((a, b) => a + b, 0) / cs.length;
      expect(mean).toBeGreaterThan(spec.idealCycleTimeS);
      expect(mean).toBeLessThan(spec.idealCycleTimeS * 1.15);
      const a = before.get(id) as MachineSnapshot;
      const b = m.snapshot(id);
      const rate = (b.partsScrap - a.partsScrap) / (b.partsTotal - a.partsTotal);
      expect(rate).toBeGreaterThan(scrapBands[id][0]);
      expect(rate).toBeLessThan(scrapBands[id][1]);
    }
  });

  it('draws more power running than idle, and more idle than down', () => {
    for (const spec of MACHINE_SPECS) {
      expect(spec.powerKw.running).toBeGreaterThan(spec.powerKw.idle);
      expect(spec.powerKw.idle).toBeGreaterThan(spec.powerKw.down);
    }
    // no faults or waits (warm-up never ends), windows shorter than any first order, a fresh model per state
    const rate = (id: MachineId, state: MachineState): number => {
      const m = new PlantModel({ seed: 5, warmUpS: Number.POSITIVE_INFINITY });
      m.forceState(id, state);
      const e0 = m.snapshot(id).energyWh;
      for (let i = 0; i < 500; i++) m.step();
      expect(m.snapshot(id).state).toBe(state);
      return (m.snapshot(id).energyWh - e0) / 500;
    };
    for (const id of MACHINE_IDS) {
      const running = rate(id, 'running');
      const idle = rate(id, 'idle');
      const down = rate(id, 'down');
      expect(running).toBeGreaterThan(2 * idle);
      expect(idle).toBeGreaterThan(down);
      // kW / 3.6 = Wh per second
      expect(Math.abs(running - machineSpec(id).powerKw.running / 3.6)).toBeLessThan(0.05 * machineSpec(id).powerKw.running);
    }
  });

  it('releases every order before it starts, starts it before it completes, and completes it after `quantity` good parts', () => {
    const { events } = run(42, DAY);
    const seen = new Map<string, { released?: number; started?: number; completed?: number; good: number; quantity: number }>();
    const current = new Map<MachineId, string>();
    for (const e of events) {
      if (e.type === 'order') {
        const row = seen.get(e.order.orderId) ?? { good: 0, quantity: e.order.quantity };
        row[e.event] = e.simTimeS;
        seen.set(e.order.orderId, row);
        if (e.event === 'started') current.set(e.machine, e.order.orderId);
      } else if (e.type === 'part' && !e.scrap) {
        const row = seen.get(current.get(e.machine) ?? '');
        if (row) row.good += 1;
      }
    }
    const completed = [...seen.values()].filter((r) => r.completed !== undefined);
    expect(completed.length).toBeGreaterThan(100);
    for (const r of completed) {
      expect(r.released).toBeLessThanOrEqual(r.started as number);
      expect(r.started).toBeLessThanOrEqual(r.completed as number);
      expect(r.good).toBe(r.quantity);
    }
    // after the first orders, release comes well before start
    const later = completed.filter((r) => (r.started as number) > 0);
    expect(later.every((r) => (r.started as number) - (r.released as number) > 300)).toBe(true);
  });

  it('holds a forced state until released, or for holdS', () => {
    const m = new PlantModel({ seed: 3 });
    expect(m.forceState('printer-1', 'down')).toEqual([
      { type: 'state', machine: 'printer-1', simTimeS: 0, from: 'running', to: 'down', cause: 'forced' },
    ]);
    for (let i = 0; i < 5000; i++) m.step();
    expect(m.snapshot('printer-1').state).toBe('down');
    m.forceState('printer-1', 'running');
    expect(m.snapshot('printer-1').state).toBe('running');
    m.forceState('cnc-1', 'planned_stop', 30);
    for (let i = 0; i < 29; i++) m.step();
    expect(m.snapshot('cnc-1').state).toBe('planned_stop');
    const ev = m.step();
    expect(ev).toContainEqual(expect.objectContaining({ type: 'state', machine: 'cnc-1', to: 'running', cause: 'forced' }));
  });
});

describe('the CNC cell Wh register', () => {
  it('starts close to 2^32 by default and wraps; deltas across the wrap stay right', () => {
    const spec = machineSpec('cnc-1');
    expect(spec.energyMeter).toBe('wh-uint32');
    expect(new PlantModel({ seed: 1 }).snapshot('cnc-1').energyWh).toBe(4_294_900_000);

    const m = new PlantModel({ seed: 1, initialEnergyWh: { 'cnc-1': WH_ROLLOVER - 20 } });
    const first = exposedEnergy('wh-uint32', m.snapshot('cnc-1').energyWh);
    let prev = first;
    let wrapped = false;
    for (let i = 0; i < 60; i++) {
      m.step();
      const cur = exposedEnergy('wh-uint32', m.snapshot('cnc-1').energyWh);
      expect(cur).toBeGreaterThanOrEqual(0);
      expect(cur).toBeLessThan(WH_ROLLOVER);
      if (cur < prev) wrapped = true;
      prev = cur;
    }
    expect(wrapped).toBe(true);
    const trueWh = m.snapshot('cnc-1').energyWh - (WH_ROLLOVER - 20);
    expect(exposedEnergyDeltaKwh('wh-uint32', first, prev)).toBe(trueWh / 1000);
    expect(exposedEnergyDeltaKwh('kwh-double', 10.5, 12)).toBe(1.5);
  });
});
