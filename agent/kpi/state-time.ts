/**
 * State time: `state` samples hold until the next state sample, a sample of uncertain/bad
 * quality, or `maxHoldS`; time with no known state is unknown, never running (DESIGN.md §4).
 */
import { MACHINE_STATES, type MachineState, type SampleValue } from '../model/index.ts';
import type { ScopeSet } from './planned-scopes.ts';
import type { KpiSample } from './sample-order.ts';

/** Slot of each state in the per-window accumulator (`out[window * STATE_COUNT + slot]`). */
export const STATE_SLOT: Readonly<Record<MachineState, number>> = { running: 0, idle: 1, down: 2, planned_stop: 3 };
export const STATE_COUNT = 4;

/** A machine's state mapping, prepared once (lookups on the hot path are one Map.get). */
export interface StateDecoder {
  readonly byText: ReadonlyMap<string, number>;
  readonly byNumber: ReadonlyMap<number, number>;
}

/**
 * The canonical names (`running`, `idle`, `down`, `planned_stop`) are always understood;
 * `stateMap` (config `machines[].stateMap`, raw code → state) adds codes and wins over a name.
 * A number matches the key that `String(number)` gives (`1` ↔ `"1"`), a boolean `"true"`/`"false"`.
 */
export function makeStateDecoder(stateMap?: Readonly<Record<string, string>>): StateDecoder {
  const byText = new Map<string, number>();
  const byNumber = new Map<number, number>();
  for (const name of MACHINE_STATES) byText.set(name, STATE_SLOT[name]);
  if (stateMap !== undefined) {
    for (const [code, state] of Object.entries(stateMap)) {
      if (!Object.hasOwn(STATE_SLOT, state)) continue;
      const slot = STATE_SLOT[state as MachineState];
      byText.set(code, slot);
      const asNumber = Number(code);
      if (String(asNumber) === code) byNumber.set(asNumber, slot);
    }
  }
  return { byText, byNumber };
}

/** The state slot of a value, or -1 when it maps to no state. */
export function decodeState(decoder: StateDecoder, value: SampleValue): number {
  switch (typeof value) {
    case 'string':
      return decoder.byText.get(value) ?? -1;
    case 'number':
      return decoder.byNumber.get(value) ?? -1;
    case 'boolean':
      return decoder.byText.get(value ? 'true' : 'false') ?? -1;
    default:
      return -1;
  }
}

function addScopedSpan(scopes: ScopeSet, si: number, a: number, b: number, slot: number, out: Float64Array): number {
  const { starts, ends, window, count } = scopes;
  while (si < count && (ends[si] as number) <= a) si++;
  for (let j = si; j < count; j++) {
    const ss = starts[j] as number;
    if (ss >= b) break;
    const se = ends[j] as number;
    const lo = a > ss ? a : ss;
    const hi = b < se ? b : se;
    if (hi > lo) {
      const k = (window[j] as number) * STATE_COUNT + slot;
      out[k] = (out[k] as number) + (hi - lo);
    }
  }
  return si;
}

/**
 * Adds ms per state inside the planned spans to `out[window * STATE_COUNT + slot]`.
 * A sample of good quality whose value maps to a state starts a hold; any other sample
 * (uncertain/bad quality, unmapped value) ends the current hold and starts none.
 */
export function accumulateStateMs(
  sorted: readonly KpiSample[],
  scopes: ScopeSet,
  decoder: StateDecoder,
  maxHoldMs: number,
  out: Float64Array,
): void {
  const n = sorted.length;
  let slot = -1;
  let holdStart = 0;
  let si = 0;
  for (let i = 0; i < n; i++) {
    const s = sorted[i] as KpiSample;
    const t = s.ts;
    if (slot >= 0) {
      const cap = holdStart + maxHoldMs;
      const end = t < cap ? t : cap;
      if (end > holdStart) si = addScopedSpan(scopes, si, holdStart, end, slot, out);
    }
    slot = s.quality === 'good' ? decodeState(decoder, s.value) : -1;
    holdStart = t;
  }
  if (slot >= 0) addScopedSpan(scopes, si, holdStart, holdStart + maxHoldMs, slot, out);
}
