/** The one thing drivers produce and everything else consumes (DESIGN.md §2). */

export type Quality = 'good' | 'uncertain' | 'bad';
export type SampleValue = number | string | boolean | null;

export interface Sample {
  machine: string;
  signal: string;
  /** epoch milliseconds */
  ts: number;
  value: SampleValue;
  quality: Quality;
}

/** A sample as stored in the buffer: `id` increases monotonically per agent. */
export interface StoredSample extends Sample {
  id: number;
}

/** Well-known signals (DESIGN.md §3); anything else is a gauge. */
export const COUNTER_SIGNALS = [
  'energy_kwh',
  'parts_total',
  'parts_good',
  'parts_scrap',
  'qa_inspected',
  'qa_rejected',
  'qa_escaped',
  'qa_false_reject',
] as const;
export type CounterSignal = (typeof COUNTER_SIGNALS)[number];

export const MACHINE_STATES = ['running', 'idle', 'down', 'planned_stop'] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

export function isCounterSignal(signal: string): signal is CounterSignal {
  return (COUNTER_SIGNALS as readonly string[]).includes(signal);
}

export function isMachineState(value: unknown): value is MachineState {
  return typeof value === 'string' && (MACHINE_STATES as readonly string[]).includes(value);
}
