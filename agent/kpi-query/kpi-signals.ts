/** The signals the KPIs are computed from: a sample of another signal changes no KPI window. */
import { COUNTER_SIGNALS, isCounterSignal } from '../model/index.ts';

/** the gauges the KPIs read (the others are counters) */
const KPI_GAUGES: ReadonlySet<string> = new Set(['power_kw', 'state']);

export const KPI_SIGNALS: ReadonlySet<string> = new Set([...COUNTER_SIGNALS, ...KPI_GAUGES]);

export function isKpiSignal(signal: string): boolean {
  return isCounterSignal(signal) || KPI_GAUGES.has(signal);
}
