/**
 * The reference for what a caller passes to the engine: from a list of samples, those a
 * window needs. The buffer answers the same question in SQL; tests use this one.
 */
import { isCounterSignal } from '../model/index.ts';
import { compareSamples, type KpiSample } from './sample-order.ts';

/**
 * The samples with `from ≤ ts < to`, plus per (machine, signal) the last sample before
 * `from` and, for counter signals, the last good-quality numeric sample before `from`.
 * Works on several machines at once; the result is in no particular order.
 */
export function samplesForWindow<T extends KpiSample>(samples: readonly T[], from: number, to: number): T[] {
  const inside: T[] = [];
  const lastAny = new Map<string, T>();
  const lastGoodCounter = new Map<string, T>();
  for (const s of samples) {
    if (s.ts >= to) continue;
    if (s.ts >= from) {
      inside.push(s);
      continue;
    }
    const key = `${s.machine}\u0000${s.signal}`;
    const any = lastAny.get(key);
    if (any === undefined || compareSamples(any, s) < 0) lastAny.set(key, s);
    if (isCounterSignal(s.signal) && s.quality === 'good' && typeof s.value === 'number' && Number.isFinite(s.value)) {
      const good = lastGoodCounter.get(key);
      if (good === undefined || compareSamples(good, s) < 0) lastGoodCounter.set(key, s);
    }
  }
  for (const s of lastAny.values()) inside.push(s);
  for (const [key, s] of lastGoodCounter) if (lastAny.get(key) !== s) inside.push(s);
  return inside;
}
