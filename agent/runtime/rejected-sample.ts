/** A sample the input boundary refused, as the dead letter the runtime stores. */
import type { DeadLetter } from '../../drivers/driver.ts';
import type { Sample } from '../model/index.ts';

/** Its series as the letter's topic and the sample as JSON (the buffer truncates both). */
export function deadLetterOf(source: string, s: Sample, reason: string): DeadLetter {
  let payload: string;
  try {
    payload = JSON.stringify({ machine: s.machine, signal: s.signal, ts: s.ts, value: s.value, quality: s.quality });
  } catch {
    // a value JSON cannot write (a bigint from a buggy driver): the reason says what it was
    payload = '';
  }
  return { source, topic: `${String(s.machine).slice(0, 200)}/${String(s.signal).slice(0, 200)}`, reason, payload };
}
