/**
 * Energy: Σ `energy_kwh` deltas, or without a counter ∫ `power_kw` dt with a zero-order hold
 * (DESIGN.md §4: reports by exception, so silence means "unchanged"; no trapezoids).
 */
import type { KpiSample } from './sample-order.ts';
import { addSpan, type WindowSet } from './windows.ts';

export const MS_PER_HOUR = 3_600_000;

/** How energy was measured for a row; `none`: the machine has no energy samples at all. */
export type EnergySource = 'counter' | 'power' | 'none';

/** Which energy signal to read: `auto` takes the counter when there is one. */
export type EnergySourceOption = 'auto' | 'counter' | 'power';

/**
 * Picks the energy source from what the input holds (window plus baselines).
 * `auto`: `counter` when there is any `energy_kwh` sample, else `power` when there is any
 * `power_kw` sample, else `none`. `counter`/`power` force that signal (`none` without samples).
 */
export function resolveEnergySource(option: EnergySourceOption, hasCounter: boolean, hasPower: boolean): EnergySource {
  switch (option) {
    case 'counter':
      return hasCounter ? 'counter' : 'none';
    case 'power':
      return hasPower ? 'power' : 'none';
    default:
      return hasCounter ? 'counter' : hasPower ? 'power' : 'none';
  }
}

/**
 * Adds ∫ power dt in kW·ms per window to `out` (divide by `MS_PER_HOUR` for kWh).
 *
 * Each good, finite `power_kw` value holds from its sample until the next sample of the tag,
 * or `maxHoldMs` later, whichever is first. A sample of uncertain/bad quality or with a
 * non-numeric value ends the hold and starts none (its value is not used). Holds are clipped
 * to the windows.
 */
export function accumulatePowerKwMs(
  sorted: readonly KpiSample[],
  ws: WindowSet,
  maxHoldMs: number,
  out: Float64Array,
): void {
  const n = sorted.length;
  let holding = false;
  let holdStart = 0;
  let holdKw = 0;
  let wi = 0;
  for (let i = 0; i < n; i++) {
    const s = sorted[i] as KpiSample;
    const t = s.ts;
    if (holding && holdKw !== 0) {
      const cap = holdStart + maxHoldMs;
      const end = t < cap ? t : cap;
      if (end > holdStart) wi = addSpan(ws, wi, holdStart, end, holdKw, out);
    }
    const v = s.value;
    if (s.quality === 'good' && typeof v === 'number' && Number.isFinite(v)) {
      holding = true;
      holdStart = t;
      holdKw = v;
    } else {
      holding = false;
    }
  }
  if (holding && holdKw !== 0) addSpan(ws, wi, holdStart, holdStart + maxHoldMs, holdKw, out);
}
