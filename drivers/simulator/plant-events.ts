/** What the plant model reports: machine snapshots, and the parts, state changes and orders of a step. */
import type { MachineState } from '../../agent/model/index.ts';
import type { MachineId } from './machine-specs.ts';

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
