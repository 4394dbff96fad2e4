/** The HTTP API's queries, answered by a worker thread beside a read-only buffer (off the ingest thread). */
export { QueryWorker, QUERY_WORKER_TIMING } from './query-worker.ts';
export type { QueryWorkerLog, QueryWorkerOptions } from './query-worker.ts';
export type { QueryWorkerStats } from './protocol.ts';
