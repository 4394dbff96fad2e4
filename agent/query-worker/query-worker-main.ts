/**
 * The query worker's entry (a worker thread; bundled as dist/agent/query-worker.js): the KPI,
 * benchmark, series and trend queries of the HTTP API, answered beside a read-only connection
 * to the buffer (WAL lets it read while the agent writes), so a long query never holds up the
 * agent's event loop: ingest, /healthz and the live feed keep their latency. Its own Plant and
 * KPI service are built from the same config; the agent's commits reach its caches as digests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteBuffer } from '../buffer/index.ts';
import { machineTrend } from '../http/machine-trend.ts';
import { boundedSeries } from '../http/query-budget.ts';
import { KpiService } from '../kpi-query/index.ts';
import { Plant } from '../plant/index.ts';
import { FedBuffer } from './fed-buffer.ts';
import type { FromWorker, QueryOp, QueryWorkerStats, ToWorker, WorkerInit } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('query-worker-main.ts runs as a worker thread (agent/query-worker/query-worker.ts starts it)');

const { config, orders } = workerData as WorkerInit;
const plant = new Plant(config);
const buffer = new SqliteBuffer({ dataDir: plant.dataDir, readonly: true, rollupSeries: plant, loadLatest: false });
// resolve captured series' settings as the agent does: by the source that delivered them
for (const b of buffer.seriesSources()) plant.bindSeries(b.source, b.machine, b.signal);
const fed = new FedBuffer(buffer, plant, orders);
const kpis = new KpiService(plant, fed);
kpis.prepare();

function answer(op: QueryOp): { value: unknown; transfer: ArrayBuffer[] } {
  switch (op.kind) {
    case 'kpis': {
      // one unpooled buffer, moved to the agent's thread rather than copied
      const chunks = kpis.queryJsonChunks(op.q);
      let n = 0;
      for (const c of chunks) n += c.length;
      const out = Buffer.allocUnsafeSlow(n);
      let at = 0;
      for (const c of chunks) at += c.copy(out, at);
      return { value: out.buffer, transfer: [out.buffer as ArrayBuffer] };
    }
    case 'benchmarks':
      return { value: kpis.benchmarks(op.from, op.to), transfer: [] };
    case 'series':
      return { value: boundedSeries((s) => kpis.series(op.machine, op.signal, op.from, op.to, s), op.from, op.to, op.step, op.maxPoints), transfer: [] };
    case 'trend':
      return { value: machineTrend({ kpis, buffer: fed }, plant, op.machine, op.range, op.now), transfer: [] };
    case 'stats': {
      const stats: QueryWorkerStats = { hoursFromRollupTables: kpis.hoursFromRollupTables, cachedEntries: kpis.cachedEntries, cachedRows: kpis.cachedRows };
      return { value: stats, transfer: [] };
    }
  }
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'digest') {
    fed.apply(m);
    return;
  }
  let reply: FromWorker;
  let transfer: ArrayBuffer[] = [];
  try {
    const a = answer(m.op);
    reply = { type: 'result', id: m.id, value: a.value };
    transfer = a.transfer;
  } catch (e) {
    const err = e as { code?: unknown; detail?: unknown; statusCode?: unknown; message?: unknown };
    reply = {
      type: 'error',
      id: m.id,
      code: typeof err.code === 'string' ? err.code : undefined,
      detail: typeof err.detail === 'string' ? err.detail : String(err.message ?? e),
      statusCode: typeof err.statusCode === 'number' ? err.statusCode : undefined,
    };
  }
  port.postMessage(reply, transfer);
});

port.postMessage({ type: 'ready' } satisfies FromWorker);
