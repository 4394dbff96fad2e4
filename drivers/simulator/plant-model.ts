/**
 * The demo plant's machines as a pure, deterministic model: no clock, no I/O, no globals.
 * One step is one simulated second. Given the same seed (and the same forced states),
 * every run produces the same sequence of states, parts, energy and orders.
 */
import type { MachineState } from '../../agent/model/index.ts';

export type { MachineState };

export const MACHINE_IDS = ['printer-1', 'printer-2', 'cnc-1', 'assembly-1'] as const;
export type MachineId = (typeof MACHINE_IDS)[number];

/** Numeric state codes as the OPC UA machines expose them (demo.yaml's stateMap). */
export const STATE_CODES: Readonly<Record<MachineState, number>> = { running: 1, idle: 2, down: 3, planned_stop: 4 };

/** How a machine's energy meter is exposed: a kWh Double, or a UInt32 Wh register that wraps. */
export type EnergyMeter = 'kwh-double' | 'wh-uint32';
export type Protocol = 'opcua' | 'mqtt';

/** The UInt32 Wh register wraps here (the agent maps it with `rollover: 4294967296`). */
export const WH_ROLLOVER = 4_294_967_296;

export interface MachineSpec {
  readonly id: MachineId;
  readonly name: string;
  readonly kind: 'sls-printer' | 'cnc' | 'assembly';
  readonly protocol: Protocol;
  readonly energyMeter: EnergyMeter;
  readonly line: string;
  readonly product: string;
  readonly idealCycleTimeS: number;
  /** actual cycle = ideal × (1 + slowdown), slowdown uniform in this range, whole seconds */
  readonly cycleSlowdown: readonly [number, number];
  /** probability that a completed part is scrap */
  readonly scrapRate: number;
  /** power draw per state, kW (±powerJitter uniformly per second) */
  readonly powerKw: Readonly<Record<MachineState, number>>;
  readonly powerJitter: number;
  /** good units per order */
  readonly orderQuantity: readonly [number, number];
  /** mean running seconds between faults (exponential) */
  readonly mtbfS: number;
  readonly repairS: readonly [number, number];
  /** after a part, probability of waiting for material (idle) */
  readonly materialWaitProb: number;
  readonly materialWaitS: readonly [number, number];
  /** idle between two orders (setup, unpacking a build) */
  readonly changeoverS: readonly [number, number];
  /** a planned stop (maintenance, cleaning) every this many simulated seconds, after the part in progress */
  readonly maintenanceEveryS: number;
  readonly maintenanceS: readonly [number, number];
  /** meter and counter readings at simulated time 0 (before the per-seed offset) */
  readonly initialEnergyWh: number;
  readonly initialPartsTotal: number;
}

/** The four machines of the demo plant (ids and products match config/demo.yaml). */
export const MACHINE_SPECS: readonly MachineSpec[] = Object.freeze(([
  {
    id: 'printer-1', name: 'SLS printer 1', kind: 'sls-printer', protocol: 'opcua', energyMeter: 'kwh-double',
    line: 'additive', product: 'bracket-a', idealCycleTimeS: 40, cycleSlowdown: [0.02, 0.12], scrapRate: 0.05,
    powerKw: { running: 9, idle: 1.5, down: 0.3, planned_stop: 0.8 }, powerJitter: 0.05,
    orderQuantity: [24, 40], mtbfS: 7200, repairS: [180, 900], materialWaitProb: 0.02, materialWaitS: [60, 300],
    changeoverS: [120, 300], maintenanceEveryS: 4 * 3600, maintenanceS: [600, 1200],
    initialEnergyWh: 18_420_000, initialPartsTotal: 12_400,
  },
  {
    id: 'printer-2', name: 'SLS printer 2', kind: 'sls-printer', protocol: 'opcua', energyMeter: 'kwh-double',
    line: 'additive', product: 'bracket-a', idealCycleTimeS: 40, cycleSlowdown: [0.03, 0.14], scrapRate: 0.07,
    powerKw: { running: 9.3, idle: 1.5, down: 0.3, planned_stop: 0.8 }, powerJitter: 0.05,
    orderQuantity: [24, 40], mtbfS: 6000, repairS: [180, 900], materialWaitProb: 0.025, materialWaitS: [60, 300],
    changeoverS: [120, 300], maintenanceEveryS: 4 * 3600, maintenanceS: [600, 1200],
    initialEnergyWh: 9_870_000, initialPartsTotal: 6_150,
  },
  {
    id: 'cnc-1', name: 'CNC cell 1', kind: 'cnc', protocol: 'opcua', energyMeter: 'wh-uint32',
    line: 'machining', product: 'housing-b', idealCycleTimeS: 25, cycleSlowdown: [0.02, 0.1], scrapRate: 0.03,
    powerKw: { running: 15, idle: 2, down: 0.5, planned_stop: 1 }, powerJitter: 0.08,
    orderQuantity: [30, 60], mtbfS: 5400, repairS: [120, 720], materialWaitProb: 0.03, materialWaitS: [45, 240],
    changeoverS: [90, 240], maintenanceEveryS: 6 * 3600, maintenanceS: [600, 900],
    // close to the top of the UInt32 so the register wraps during a long demo (~4.5 simulated hours)
    initialEnergyWh: 4_294_900_000, initialPartsTotal: 48_210,
  },
  {
    id: 'assembly-1', name: 'Assembly cell 1', kind: 'assembly', protocol: 'mqtt', energyMeter: 'kwh-double',
    line: 'assembly', product: 'housing-b', idealCycleTimeS: 15, cycleSlowdown: [0.03, 0.12], scrapRate: 0.02,
    powerKw: { running: 4, idle: 0.8, down: 0.2, planned_stop: 0.4 }, powerJitter: 0.05,
    orderQuantity: [40, 80], mtbfS: 10800, repairS: [120, 600], materialWaitProb: 0.04, materialWaitS: [30, 180],
    changeoverS: [60, 180], maintenanceEveryS: 8 * 3600, maintenanceS: [600, 900],
    initialEnergyWh: 2_315_000, initialPartsTotal: 91_030,
  },
] satisfies MachineSpec[]).map((spec): MachineSpec => Object.freeze(spec)));

export function machineSpec(id: MachineId): MachineSpec {
  const spec = MACHINE_SPECS.find((s) => s.id === id);
  if (!spec) throw new Error(`unknown machine "${id}"`);
  return spec;
}

export function isMachineId(v: unknown): v is MachineId {
  return typeof v === 'string' && (MACHINE_IDS as readonly string[]).includes(v);
}

/** mulberry32: a small, fast, seedable PRNG; returns uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A per-machine seed: machines draw from independent streams, so one machine's events never shift another's. */
function streamSeed(seed: number, index: number): number {
  let h = (Math.trunc(seed) ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The values a machine exposes, in model units (energy as an unwrapped integer Wh reading). */
export interface MachineSnapshot {
  id: MachineId;
  state: MachineState;
  stateCode: number;
  energyWh: number;
  partsTotal: number;
  partsScrap: number;
  orderId: string;
}

export type OrderEventKind = 'released' | 'started' | 'completed';

export interface Order {
  orderId: string;
  machine: MachineId;
  product: string;
  quantity: number;
}

export type PlantEvent =
  | { type: 'part'; machine: MachineId; simTimeS: number; scrap: boolean }
  | { type: 'state'; machine: MachineId; simTimeS: number; from: MachineState; to: MachineState; cause: StateCause }
  | { type: 'order'; machine: MachineId; simTimeS: number; event: OrderEventKind; order: Order };

/** Why a state changed: a stop's cause, and the matching "-done" when the machine runs again. */
export type StateCause =
  | 'fault'
  | 'repaired'
  | 'material-wait'
  | 'material-arrived'
  | 'changeover'
  | 'changeover-done'
  | 'maintenance'
  | 'maintenance-done'
  | 'forced';

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

/** The energy reading as the machine exposes it: a kWh Double, or the UInt32 Wh register (wrapped). */
export function exposedEnergy(meter: EnergyMeter, energyWh: number): number {
  return meter === 'wh-uint32' ? energyWh % WH_ROLLOVER : energyWh / 1000;
}

/**
 * kWh between two exposed readings, the way a consumer of the meter computes it:
 * a Double's difference, or the Wh register's difference across at most one wrap.
 */
export function exposedEnergyDeltaKwh(meter: EnergyMeter, first: number, last: number): number {
  if (meter === 'kwh-double') return last - first;
  const deltaWh = last >= first ? last - first : WH_ROLLOVER - first + last;
  return deltaWh / 1000;
}
