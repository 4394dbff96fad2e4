/**
 * The demo plant's four machines: their ids, how they expose their values, and the figures
 * that drive their behaviour (cycle times, scrap rates, power, faults, orders, maintenance).
 */
import type { MachineState } from '../../agent/model/index.ts';
import type { EnergyMeter } from './energy-meter.ts';

export const MACHINE_IDS = ['printer-1', 'printer-2', 'cnc-1', 'assembly-1'] as const;
export type MachineId = (typeof MACHINE_IDS)[number];

/** Numeric state codes as the OPC UA machines expose them (demo.yaml's stateMap). */
export const STATE_CODES: Readonly<Record<MachineState, number>> = { running: 1, idle: 2, down: 3, planned_stop: 4 };

export type Protocol = 'opcua' | 'mqtt';

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
