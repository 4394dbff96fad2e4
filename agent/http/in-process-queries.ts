/**
 * The query port answered on the calling thread, by the agent's own KPI service: for a server
 * started without a query worker (a test, a tool embedding the routes). The agent itself hands
 * the server its worker (agent/query-worker), so no request's query runs on the ingest thread.
 */
import { machineTrend, type TrendPlant } from './machine-trend.ts';
import type { BufferPort, KpiPort, QueryPort } from './ports.ts';
import { boundedSeries } from './query-budget.ts';

export function inProcessQueries(kpis: KpiPort, buffer: Pick<BufferPort, 'series'>, plant: TrendPlant): QueryPort {
  return {
    kpiJson: async (q) => kpis.queryJsonChunks(q),
    benchmarks: async (from, to) => kpis.benchmarks(from, to),
    series: async (machine, signal, from, to, step, maxPoints) => boundedSeries((s) => kpis.series(machine, signal, from, to, s), from, to, step, maxPoints),
    trend: async (machine, range, now) => machineTrend({ kpis, buffer }, plant, machine, range, now),
  };
}
