// The query worker's entry when the agent runs from its TypeScript sources (no bundle): a
// worker thread does not inherit the tsx loader the main thread registered, so it registers it
// and then loads the entry (agent/query-worker/query-worker.ts names it in workerData).
import { workerData } from 'node:worker_threads';

const { register } = await import('tsx/esm/api');
register();
await import(workerData.entry);
