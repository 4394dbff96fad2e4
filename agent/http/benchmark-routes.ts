/**
 * `GET /api/benchmarks?from&to` (DESIGN.md §5, §6): per product, this site's energy per unit,
 * lead time, scrap rate, QA accuracy and cumulative volume next to the research brief's bands,
 * each with its verdict and the source the brief cites. Default window: the last 7 days
 * (lead times need completed orders; a day often has few).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { timeParam } from './query-params.ts';
import type { QueryPort } from './ports.ts';
import { checkRange, HTTP_QUERY_DEFAULTS, type HttpQueryBudget } from './query-budget.ts';

export const BENCHMARK_ROUTE_DEFAULTS = { windowMs: 7 * 24 * 3600 * 1000 } as const;

const time = timeParam;

const benchmarkQuery = z.object({ from: time, to: time });

/** `kpis`: the query worker's port; the range is checked against `budget` first. */
export function registerBenchmarkRoutes(app: FastifyInstance, kpis: Pick<QueryPort, 'benchmarks'>, budget: Pick<HttpQueryBudget, 'maxRangeDays'> = HTTP_QUERY_DEFAULTS): void {
  app.get('/api/benchmarks', async (req) => {
    const q = benchmarkQuery.parse(req.query);
    const to = q.to ?? Date.now();
    const from = q.from ?? to - BENCHMARK_ROUTE_DEFAULTS.windowMs;
    checkRange(from, to, budget);
    return kpis.benchmarks(from, to);
  });
}
