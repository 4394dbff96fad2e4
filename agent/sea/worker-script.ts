/**
 * Where a worker_threads worker's code comes from. From a checkout or dist/agent/ it is a file
 * beside its caller; in the single executable there are no files, so each worker entry is a
 * CommonJS bundle of its own, embedded as the asset `workers/<name>.cjs` (agent/cli/build-binary.mjs,
 * WORKER_ENTRIES), and run with `eval: true`. An eval'd worker's `require` loads Node's built-in
 * modules, which is all such a bundle needs; a native addon it uses goes through
 * `sqliteNativeBinding` like the main thread (process.dlopen of the same content-addressed file).
 *
 *   const w = workerScript('kpi-query', new URL('./kpi-query-worker.js', import.meta.url));
 *   new Worker(w.script, { ...w.options, workerData });
 */
import type { WorkerOptions } from 'node:worker_threads';
import { seaText } from './sea-assets.ts';

export interface WorkerScript {
  script: string | URL;
  options: Pick<WorkerOptions, 'eval'>;
}

/** name: the key in WORKER_ENTRIES; file: the worker's module outside the single executable */
export function workerScript(name: string, file: URL): WorkerScript {
  const code = seaText(`workers/${name}.cjs`);
  return code === undefined ? { script: file, options: {} } : { script: code, options: { eval: true } };
}
