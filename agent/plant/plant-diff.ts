/**
 * What a config reload changes, as the difference between two Plants: which sources start, stop
 * or restart, which machines and KPI settings change (they take effect through the new Plant),
 * and which settings only a restart can apply (the running parts were built from them).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Plant } from './plant.ts';

export interface PlantDiff {
  sources: { added: string[]; removed: string[]; changed: string[]; unchanged: string[] };
  machines: { added: string[]; removed: string[]; changed: string[] };
  /** shifts, benchmarks or energy settings differ (KPIs of new windows use the new ones) */
  kpiSettings: string[];
  /** settings the running agent cannot apply: `agent.dataDir`, `http`, `upstream` … */
  needsRestart: string[];
}

/**
 * Settings read once when the agent starts: the buffer file and its batching, the HTTP listener,
 * the upstream connection, the demo plant, the identity that names metrics and topics.
 */
const RESTART_ONLY = ['agentId', 'dataDir', 'site', 'http', 'buffer', 'upstream', 'simulator'] as const;
const RESTART_NAMES: Record<(typeof RESTART_ONLY)[number], string> = {
  agentId: 'agent.id',
  dataDir: 'agent.dataDir',
  site: 'site',
  http: 'http',
  buffer: 'buffer',
  upstream: 'upstream',
  simulator: 'simulator',
};

export function diffPlants(prev: Plant, next: Plant): PlantDiff {
  const before = new Map(prev.sources.map((s) => [s.id, s]));
  const after = new Map(next.sources.map((s) => [s.id, s]));
  const sources: PlantDiff['sources'] = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [id, s] of after) {
    const old = before.get(id);
    if (!old) sources.added.push(id);
    else if (isDeepStrictEqual(old.config, s.config)) sources.unchanged.push(id);
    else sources.changed.push(id);
  }
  for (const id of before.keys()) if (!after.has(id)) sources.removed.push(id);

  const prevMachines = new Set(prev.machineIds());
  const nextMachines = new Set(next.machineIds());
  const machines: PlantDiff['machines'] = {
    added: [...nextMachines].filter((m) => !prevMachines.has(m)),
    removed: [...prevMachines].filter((m) => !nextMachines.has(m)),
    changed: [...nextMachines].filter((m) => prevMachines.has(m) && !isDeepStrictEqual(prev.machine(m), next.machine(m))),
  };
  const kpiSettings = (['shifts', 'benchmarks', 'energy'] as const).filter((k) => !isDeepStrictEqual(prev[k], next[k]));
  const needsRestart = RESTART_ONLY.filter((k) => !isDeepStrictEqual(prev[k], next[k])).map((k) => RESTART_NAMES[k]);
  return { sources, machines, kpiSettings, needsRestart };
}

/** True when the reload changes nothing at all. */
export function isEmptyDiff(d: PlantDiff): boolean {
  return (
    d.sources.added.length + d.sources.removed.length + d.sources.changed.length + d.machines.added.length + d.machines.removed.length + d.machines.changed.length + d.kpiSettings.length + d.needsRestart.length === 0
  );
}
