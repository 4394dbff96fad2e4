/**
 * The normalise step between drivers and the buffer (DESIGN.md §2): maps raw state codes
 * through the machine's stateMap, so that the buffer, the dashboard and upstream all see
 * running / idle / down / planned_stop. Prepared once per machine at start-up.
 */
import type { Sample } from '../model/index.ts';
import type { MachineConfig } from '../../config/schema.ts';

export type Normaliser = (s: Sample) => Sample;

export function createNormaliser(machines: readonly MachineConfig[]): Normaliser {
  const maps = new Map<string, Map<string, string>>();
  for (const m of machines) {
    if (Object.keys(m.stateMap).length > 0) maps.set(m.id, new Map(Object.entries(m.stateMap)));
  }
  return (s) => {
    if (s.signal !== 'state' || s.value === null) return s;
    const map = maps.get(s.machine);
    if (!map) return s;
    const mapped = map.get(String(s.value));
    return mapped === undefined ? s : { ...s, value: mapped };
  };
}
