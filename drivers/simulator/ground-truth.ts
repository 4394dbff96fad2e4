/**
 * The ground truth a test compares the agent's KPIs with: what the demo plant exposed to its
 * consumers since the baseline, in the units they read it in.
 */
import type { MachineState } from '../../agent/model/index.ts';
import { exposedEnergy, exposedEnergyDeltaKwh } from './energy-meter.ts';
import { MACHINE_IDS, MACHINE_SPECS, type MachineId, type MachineSpec } from './machine-specs.ts';
import type { MachineSnapshot, Order, OrderEventKind } from './plant-events.ts';
import type { PlantModel } from './plant-model.ts';

/** What a machine exposes, as a consumer sees it (energy in the node's / payload's unit). */
export interface ExposedReading {
  /** kWh (printers, assembly) or the wrapped UInt32 Wh register (cnc-1) */
  energy: number;
  partsTotal: number;
  partsScrap: number;
  state: MachineState;
  orderId: string;
  /** epoch ms of the step that produced it */
  ts: number;
}

export interface MachineTruth {
  machine: MachineId;
  /** last exposed energy − first exposed energy (the Wh register's wrap handled), kWh */
  energyKwh: number;
  unitsTotal: number;
  unitsGood: number;
  unitsScrap: number;
  /** simulated seconds per state since the baseline */
  stateS: Record<MachineState, number>;
  first: ExposedReading;
  last: ExposedReading;
}

export interface OrderTruth {
  orderId: string;
  machine: MachineId;
  product: string;
  quantity: number;
  /** ISO 8601, as published on mes/orders */
  releasedAt?: string;
  startedAt?: string;
  completedAt?: string;
  /** completed − released in real seconds, when both are known */
  leadTimeS?: number;
}

export interface GroundTruth {
  /** ISO 8601: when the baseline was taken (start()) and the last exposed change */
  from: string;
  to: string;
  speed: number;
  /** simulated seconds since the baseline */
  simulatedS: number;
  machines: Record<MachineId, MachineTruth>;
  orders: OrderTruth[];
}

interface Baseline {
  at: number;
  simTimeS: number;
  stateS: Map<MachineId, Record<MachineState, number>>;
}

/** The machine's values as a consumer reads them at ts. */
export function exposedReading(spec: MachineSpec, snap: MachineSnapshot, ts: number): ExposedReading {
  return {
    energy: exposedEnergy(spec.energyMeter, snap.energyWh),
    partsTotal: snap.partsTotal,
    partsScrap: snap.partsScrap,
    state: snap.state,
    orderId: snap.orderId,
    ts,
  };
}

/**
 * What the simulator exposed since its baseline: the first and latest reading per machine and
 * every order event, so the totals are those a consumer of the servers can compute.
 */
export class GroundTruthLedger {
  private baseline: Baseline | undefined;
  private readonly first = new Map<MachineId, ExposedReading>();
  private readonly last = new Map<MachineId, ExposedReading>();
  private readonly orders = new Map<string, OrderTruth>();

  constructor(private readonly model: PlantModel) {}

  /** Totals count from here: the model's current values are every machine's first reading. */
  takeBaseline(at: number): void {
    this.first.clear();
    this.last.clear();
    this.orders.clear();
    for (const spec of MACHINE_SPECS) {
      const r = exposedReading(spec, this.model.snapshot(spec.id), at);
      this.first.set(spec.id, r);
      this.last.set(spec.id, r);
    }
    this.baseline = {
      at,
      simTimeS: this.model.simTimeS,
      stateS: new Map(MACHINE_IDS.map((id) => [id, this.model.stateSeconds(id)] as const)),
    };
  }

  /** The machine's values as they were exposed: its latest reading. */
  record(machine: MachineId, reading: ExposedReading): void {
    this.last.set(machine, reading);
  }

  /** An order event was published at ts. */
  order(order: Order, event: OrderEventKind, ts: number): void {
    const iso = new Date(ts).toISOString();
    const row = this.orders.get(order.orderId) ?? { orderId: order.orderId, machine: order.machine, product: order.product, quantity: order.quantity };
    if (event === 'released') row.releasedAt = iso;
    else if (event === 'started') row.startedAt = iso;
    else {
      row.completedAt = iso;
      if (row.releasedAt) row.leadTimeS = (ts - Date.parse(row.releasedAt)) / 1000;
    }
    this.orders.set(order.orderId, row);
  }

  /** Totals since the baseline, computed from the values exposed to consumers (see README). */
  groundTruth(speed: number): GroundTruth {
    const base = this.baseline;
    const machines = {} as Record<MachineId, MachineTruth>;
    let to = base?.at ?? 0;
    for (const spec of MACHINE_SPECS) {
      const first = this.first.get(spec.id) ?? exposedReading(spec, this.model.snapshot(spec.id), 0);
      const last = this.last.get(spec.id) ?? first;
      to = Math.max(to, last.ts);
      const unitsTotal = last.partsTotal - first.partsTotal;
      const unitsScrap = last.partsScrap - first.partsScrap;
      const nowS = this.model.stateSeconds(spec.id);
      const baseS = base?.stateS.get(spec.id);
      machines[spec.id] = {
        machine: spec.id,
        energyKwh: exposedEnergyDeltaKwh(spec.energyMeter, first.energy, last.energy),
        unitsTotal,
        unitsGood: unitsTotal - unitsScrap,
        unitsScrap,
        stateS: {
          running: nowS.running - (baseS?.running ?? nowS.running),
          idle: nowS.idle - (baseS?.idle ?? nowS.idle),
          down: nowS.down - (baseS?.down ?? nowS.down),
          planned_stop: nowS.planned_stop - (baseS?.planned_stop ?? nowS.planned_stop),
        },
        first: { ...first },
        last: { ...last },
      };
    }
    return {
      from: new Date(base?.at ?? 0).toISOString(),
      to: new Date(to).toISOString(),
      speed,
      simulatedS: base ? this.model.simTimeS - base.simTimeS : 0,
      machines,
      orders: [...this.orders.values()].map((x) => ({ ...x })),
    };
  }
}
