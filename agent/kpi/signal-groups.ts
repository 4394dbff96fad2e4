/** Splits one machine's samples into the per-tag streams the KPIs read, each in order. */
import type { CounterSignal } from '../model/index.ts';
import { sortSamplesInPlace, type KpiSample } from './sample-order.ts';

export interface SignalGroups {
  readonly counters: Readonly<Record<CounterSignal, KpiSample[]>>;
  readonly power: KpiSample[];
  readonly state: KpiSample[];
}

/**
 * One pass over `samples`: keeps those of `machine` with a finite `ts` before `endMs`
 * (later ones belong to later windows), grouped by signal, each group sorted.
 */
export function groupSignals(samples: readonly KpiSample[], machine: string, endMs: number): SignalGroups {
  const counters: Record<CounterSignal, KpiSample[]> = {
    energy_kwh: [],
    parts_total: [],
    parts_good: [],
    parts_scrap: [],
    qa_inspected: [],
    qa_rejected: [],
    qa_escaped: [],
    qa_false_reject: [],
  };
  const power: KpiSample[] = [];
  const state: KpiSample[] = [];
  const n = samples.length;
  for (let i = 0; i < n; i++) {
    const s = samples[i] as KpiSample;
    const ts = s.ts;
    if (s.machine !== machine || !(ts < endMs) || ts === -Infinity) continue;
    switch (s.signal) {
      case 'power_kw':
        power.push(s);
        break;
      case 'state':
        state.push(s);
        break;
      case 'energy_kwh':
      case 'parts_total':
      case 'parts_good':
      case 'parts_scrap':
      case 'qa_inspected':
      case 'qa_rejected':
      case 'qa_escaped':
      case 'qa_false_reject':
        counters[s.signal].push(s);
        break;
      default:
        break;
    }
  }
  for (const list of Object.values(counters)) sortSamplesInPlace(list);
  sortSamplesInPlace(power);
  sortSamplesInPlace(state);
  return { counters, power, state };
}
