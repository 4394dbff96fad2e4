/**
 * The demo plant's machines as a pure, deterministic model: no clock, no I/O, no globals.
 * One step is one simulated second. Given the same seed (and the same forced states),
 * every run produces the same sequence of states, parts, energy and orders.
 */
import type { MachineState } from '../../agent/model/index.ts';
import { MACHINE_IDS, MACHINE_SPECS, STATE_CODES, type MachineId, type MachineSpec } from './machine-specs.ts';
import type { MachineSnapshot, Order, PlantEvent, StateCause } from './plant-events.ts';
import { mulberry32, streamSeed } from './seeded-random.ts';

export type { MachineState };

const END_OF: Partial<Record<StateCause, StateCause>> = {
  fault: 'repaired',
  'material-wait': 'material-arrived',
  changeover: 'changeover-done',
  maintenance: 'maintenance-done',
};

export interface PlantModelOptions {
  seed: number;
  /** override a machine's meter reading at time 0 (tests: start the Wh register just below the wrap) */
  initialEnergyWh?: Partial<Record<MachineId, number>>;
  /** no faults, material waits or maintenance before this simulated second, so a demo starts producing */
  warmUpS?: number;
  /** first order number: order ids are `ORD-<n>` */
  firstOrderNumber?: number;
}

export const PLANT_MODEL_DEFAULTS = { warmUpS: 300, firstOrderNumber: 1001 } as const;

interface MachineRuntime {
  spec: MachineSpec;
  rand: () => number;
  state: MachineState;
  /** simulated seconds until an idle/down/planned stop ends; Infinity while a forced state holds */
  remainingS: number;
  /** why the machine is not running (ends as END_OF[stopCause]) */
  stopCause: StateCause;
  cycleElapsedS: number;
  cycleTargetS: number;
  /** integer joules: sums stay exact (2^53 J is far beyond any meter) */
  energyJ: number;
  partsTotal: number;
  partsScrap: number;
  order: Order;
  orderGood: number;
  nextOrder: Order;
  partsSinceStart: number;
  nextMaintenanceAtS: number;
  maintenanceDue: boolean;
  /** simulated seconds spent per state (for ground truth) */
  stateS: Record<MachineState, number>;
}

export class PlantModel {
  private readonly machines: MachineRuntime[];
  private readonly warmUpS: number;
  private nextOrderNumber: number;
  private t = 0;
  private pendingInitial: PlantEvent[] = [];

  constructor(opts: PlantModelOptions) {
    this.warmUpS = opts.warmUpS ?? PLANT_MODEL_DEFAULTS.warmUpS;
    this.nextOrderNumber = opts.firstOrderNumber ?? PLANT_MODEL_DEFAULTS.firstOrderNumber;
    this.machines = MACHINE_SPECS.map((spec, i) => {
      const rand = mulberry32(streamSeed(opts.seed, i));
      const energyWh = opts.initialEnergyWh?.[spec.id] ?? spec.initialEnergyWh + (spec.energyMeter === 'wh-uint32' ? 0 : Math.floor(rand() * 5000));
      const partsTotal = spec.initialPartsTotal + Math.floor(rand() * 500);
      const m: MachineRuntime = {
        spec,
        rand,
        state: 'running',
        remainingS: 0,
        stopCause: 'forced',
        cycleElapsedS: 0,
        cycleTargetS: 0,
        energyJ: energyWh * 3600,
        partsTotal,
        partsScrap: Math.round(partsTotal * spec.scrapRate),
        order: { orderId: '', machine: spec.id, product: spec.product, quantity: 0 },
        orderGood: 0,
        nextOrder: { orderId: '', machine: spec.id, product: spec.product, quantity: 0 },
        partsSinceStart: 0,
        nextMaintenanceAtS: Math.round(spec.maintenanceEveryS * (0.5 + 0.5 * rand())),
        maintenanceDue: false,
        stateS: { running: 0, idle: 0, down: 0, planned_stop: 0 },
      };
      m.cycleTargetS = this.drawCycle(m);
      return m;
    });
    // Each machine starts running its first order; the next one is released with it, so later
    // orders are released one order's duration before they start.
    for (const m of this.machines) {
      m.order = this.newOrder(m);
      this.pendingInitial.push({ type: 'order', machine: m.spec.id, simTimeS: 0, event: 'released', order: m.order });
      this.pendingInitial.push({ type: 'order', machine: m.spec.id, simTimeS: 0, event: 'started', order: m.order });
    }
    for (const m of this.machines) {
      m.nextOrder = this.newOrder(m);
      this.pendingInitial.push({ type: 'order', machine: m.spec.id, simTimeS: 0, event: 'released', order: m.nextOrder });
    }
  }

  /** simulated seconds since the model began */
  get simTimeS(): number {
    return this.t;
  }

  /** The order events of time 0 (first orders released and started). Returned once; later calls return []. */
  takeInitialEvents(): PlantEvent[] {
    const ev = this.pendingInitial;
    this.pendingInitial = [];
    return ev;
  }

  snapshot(id: MachineId): MachineSnapshot {
    const m = this.get(id);
    return {
      id,
      state: m.state,
      stateCode: STATE_CODES[m.state],
      energyWh: Math.floor(m.energyJ / 3600),
      partsTotal: m.partsTotal,
      partsScrap: m.partsScrap,
      orderId: m.order.orderId,
    };
  }

  snapshots(): MachineSnapshot[] {
    return MACHINE_IDS.map((id) => this.snapshot(id));
  }

  /** simulated seconds each machine has spent per state */
  stateSeconds(id: MachineId): Record<MachineState, number> {
    return { ...this.get(id).stateS };
  }

  /**
   * Force a state now. A non-running state holds until `holdS` simulated seconds pass, or, without
   * `holdS`, until the machine is forced back to `running`. Forcing `running` resumes normal life.
   */
  forceState(id: MachineId, state: MachineState, holdS?: number): PlantEvent[] {
    const m = this.get(id);
    const from = m.state;
    m.state = state;
    m.stopCause = 'forced';
    m.remainingS = state === 'running' ? 0 : holdS !== undefined && holdS > 0 ? Math.ceil(holdS) : Number.POSITIVE_INFINITY;
    return from === state ? [] : [{ type: 'state', machine: id, simTimeS: this.t, from, to: state, cause: 'forced' }];
  }

  /** Advance one simulated second; returns what happened during it (stamped with the new time). */
  step(): PlantEvent[] {
    const events: PlantEvent[] = this.takeInitialEvents();
    this.t += 1;
    for (const m of this.machines) this.stepMachine(m, events);
    return events;
  }

  private stepMachine(m: MachineRuntime, events: PlantEvent[]): void {
    const { spec, rand } = m;
    const t = this.t;
    const warm = t > this.warmUpS;
    // Energy for this second at the state it was spent in (integer joules: exact sums).
    const jitter = 1 + spec.powerJitter * (2 * rand() - 1);
    m.energyJ += Math.round(spec.powerKw[m.state] * 1000 * jitter);
    m.stateS[m.state] += 1;
    if (!m.maintenanceDue && t >= m.nextMaintenanceAtS) m.maintenanceDue = true;

    if (m.state !== 'running') {
      m.remainingS -= 1;
      if (m.remainingS <= 0) {
        this.setState(m, 'running', 0, END_OF[m.stopCause] ?? 'forced', events);
      }
      return;
    }

    m.cycleElapsedS += 1;
    if (m.cycleElapsedS >= m.cycleTargetS) {
      this.completePart(m, events, warm);
      if (m.state !== 'running') return;
    }
    // A fault may strike while running; the part in progress resumes after the repair.
    if (warm && rand() < 1 / spec.mtbfS) {
      this.setState(m, 'down', this.between(m, spec.repairS), 'fault', events);
    }
  }

  private completePart(m: MachineRuntime, events: PlantEvent[], warm: boolean): void {
    const { spec, rand } = m;
    const t = this.t;
    // The first part after start-up always passes, so a demo shows a good unit early.
    const scrap = m.partsSinceStart > 0 && rand() < spec.scrapRate;
    m.partsSinceStart += 1;
    m.partsTotal += 1;
    if (scrap) m.partsScrap += 1;
    else m.orderGood += 1;
    events.push({ type: 'part', machine: spec.id, simTimeS: t, scrap });
    m.cycleElapsedS = 0;
    m.cycleTargetS = this.drawCycle(m);

    if (m.orderGood >= m.order.quantity) {
      events.push({ type: 'order', machine: spec.id, simTimeS: t, event: 'completed', order: m.order });
      m.order = m.nextOrder;
      m.orderGood = 0;
      events.push({ type: 'order', machine: spec.id, simTimeS: t, event: 'started', order: m.order });
      m.nextOrder = this.newOrder(m);
      events.push({ type: 'order', machine: spec.id, simTimeS: t, event: 'released', order: m.nextOrder });
      if (m.maintenanceDue && warm) this.startMaintenance(m, events);
      else this.setState(m, 'idle', this.between(m, spec.changeoverS), 'changeover', events);
      return;
    }
    if (!warm) return;
    if (m.maintenanceDue) {
      this.startMaintenance(m, events);
    } else if (rand() < spec.materialWaitProb) {
      this.setState(m, 'idle', this.between(m, spec.materialWaitS), 'material-wait', events);
    }
  }

  private startMaintenance(m: MachineRuntime, events: PlantEvent[]): void {
    m.maintenanceDue = false;
    m.nextMaintenanceAtS = this.t + m.spec.maintenanceEveryS;
    this.setState(m, 'planned_stop', this.between(m, m.spec.maintenanceS), 'maintenance', events);
  }

  private setState(m: MachineRuntime, to: MachineState, durationS: number, cause: StateCause, events: PlantEvent[]): void {
    const from = m.state;
    m.state = to;
    m.remainingS = durationS;
    m.stopCause = cause;
    if (from !== to) events.push({ type: 'state', machine: m.spec.id, simTimeS: this.t, from, to, cause });
  }

  private newOrder(m: MachineRuntime): Order {
    const orderId = `ORD-${this.nextOrderNumber}`;
    this.nextOrderNumber += 1;
    return { orderId, machine: m.spec.id, product: m.spec.product, quantity: this.between(m, m.spec.orderQuantity) };
  }

  private drawCycle(m: MachineRuntime): number {
    const [lo, hi] = m.spec.cycleSlowdown;
    return Math.max(1, Math.round(m.spec.idealCycleTimeS * (1 + lo + (hi - lo) * m.rand())));
  }

  /** a whole number uniformly in [lo, hi] */
  private between(m: MachineRuntime, [lo, hi]: readonly [number, number]): number {
    return lo + Math.floor(m.rand() * (hi - lo + 1));
  }

  private get(id: MachineId): MachineRuntime {
    const m = this.machines.find((x) => x.spec.id === id);
    if (!m) throw new Error(`unknown machine "${id}"`);
    return m;
  }
}
