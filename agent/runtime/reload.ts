/**
 * Config reload (SIGHUP) without a gap: the new config was validated before it gets here; this
 * applies the difference between the running Plant and the new one. Sources the reload does not
 * touch keep running through it (their connections, subscriptions and sessions stay), so they
 * miss no sample; removed and changed sources stop first (their pending samples are flushed),
 * then the Plant is swapped, then added and changed sources start.
 *
 * Settings the running parts were built from (the buffer file, the HTTP listener, the upstream
 * connection, identity) are kept as they run, and the reload says which of them need a restart.
 */
import type { Config } from '../../config/schema.ts';
import { diffPlants, Plant, type PlantDiff, type PlantSource } from '../plant/index.ts';
import type { Logger } from './logger.ts';

export interface ReloadRecord {
  ok: boolean;
  at: number;
  error?: string;
  needsRestart?: string[];
}

export interface ReloadStatus {
  config: Config;
  loadedAt: number;
  lastReload: ReloadRecord | null;
}

/** The few things a reload needs from the agent. */
export interface ReloadTarget {
  current(): { config: Config; plant: Plant };
  stopSource(id: string): Promise<void>;
  startSource(src: PlantSource): Promise<void>;
  flush(): void;
  swap(plant: Plant, config: Config): void;
  record(r: ReloadRecord): void;
}

/** The new config with the sections only a restart applies kept as they run. */
export function effectiveConfig(running: Config, next: Config): Config {
  return {
    ...next,
    site: running.site,
    agent: { ...next.agent, id: running.agent.id, dataDir: running.agent.dataDir },
    http: running.http,
    buffer: running.buffer,
    upstream: running.upstream,
    simulator: running.simulator,
  };
}

export async function applyReload(target: ReloadTarget, next: Config, log: Logger): Promise<PlantDiff> {
  const { config: running, plant: prev } = target.current();
  // the diff of the configs as written tells what needs a restart; the plant applied keeps those parts
  const needsRestart = diffPlants(prev, new Plant(next)).needsRestart;
  const config = effectiveConfig(running, next);
  const plant = new Plant(config);
  const diff = { ...diffPlants(prev, plant), needsRestart };
  const byId = new Map(plant.sources.map((s) => [s.id, s]));

  for (const id of [...diff.sources.removed, ...diff.sources.changed]) await target.stopSource(id);
  // what the stopped sources handed over is committed before their settings change
  target.flush();
  target.swap(plant, config);
  const failed: string[] = [];
  for (const id of [...diff.sources.changed, ...diff.sources.added]) {
    const src = byId.get(id);
    if (!src) continue;
    try {
      await target.startSource(src);
    } catch (err) {
      // a driver that cannot start (its module failed to load …) is this source's problem, not the reload's
      failed.push(id);
      log.error({ err, source: id }, 'source did not start after reload');
    }
  }
  const at = Date.now();
  target.record({ ok: failed.length === 0, at, ...(failed.length ? { error: `sources did not start: ${failed.join(', ')}` } : {}), ...(needsRestart.length ? { needsRestart } : {}) });
  log.info(
    {
      added: diff.sources.added,
      removed: diff.sources.removed,
      restarted: diff.sources.changed,
      unchanged: diff.sources.unchanged.length,
      machines: diff.machines,
      kpiSettings: diff.kpiSettings,
    },
    'config reloaded',
  );
  if (needsRestart.length > 0) {
    log.warn({ needsRestart }, `config reloaded, but ${needsRestart.join(', ')} changed: kept as running until a restart (systemctl restart shopfloor-agent)`);
  }
  return diff;
}

/** The `/healthz` view of the reload status. */
export function reloadHealth(s: ReloadStatus): { loadedAt: string; lastReload: { ok: boolean; at: string; error?: string; needsRestart?: string[] } | null } {
  const r = s.lastReload;
  return {
    loadedAt: new Date(s.loadedAt).toISOString(),
    lastReload: r ? { ok: r.ok, at: new Date(r.at).toISOString(), ...(r.error ? { error: r.error } : {}), ...(r.needsRestart ? { needsRestart: r.needsRestart } : {}) } : null,
  };
}
