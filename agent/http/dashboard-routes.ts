/**
 * The dashboard's JSON routes, additive to the contract (DESIGN.md §6):
 * - GET /api/site → the site's name, locale, time zone and shifts (the browser formats with them)
 * - GET /api/overview → every machine tile (state, time in state, staleness) and this shift's KPIs
 * - GET /api/machines/:id/trend?range=shift|day|week → energy and output per bucket, state changes
 * - GET /api/machines/:id/orders?from&to → orders with lead times (default: the last 7 days)
 * - GET /api/diagnostics → sources, last sample per tag, dead letters, buffer, upstream
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { timeParam } from './query-params.ts';
import type { DashboardModel } from './dashboard-model.ts';
import type { QueryPort } from './ports.ts';
import { sendNotFound } from './error-replies.ts';

const time = timeParam;

const machineParams = z.object({ id: z.string().min(1) });
const trendQuery = z.object({ range: z.enum(['shift', 'day', 'week']).default('shift') });
const ordersQuery = z.object({ from: time, to: time });

/** `queries`: the trend is computed by the query worker (a week of one machine), off the ingest thread. */
export function registerDashboardRoutes(app: FastifyInstance, model: DashboardModel, queries?: Pick<QueryPort, 'trend'>): void {
  app.get('/api/site', async () => model.site());
  app.get('/api/overview', async () => model.overview());
  app.get('/api/diagnostics', async () => model.diagnostics());

  app.get('/api/machines/:id/trend', async (req, reply) => {
    const { id } = machineParams.parse(req.params);
    if (!model.hasMachine(id)) return sendNotFound(reply, `no machine "${id}": see /api/machines`);
    const range = trendQuery.parse(req.query).range;
    return queries ? queries.trend(id, range, Date.now()) : model.trend(id, range);
  });

  app.get('/api/machines/:id/orders', async (req, reply) => {
    const { id } = machineParams.parse(req.params);
    if (!model.hasMachine(id)) return sendNotFound(reply, `no machine "${id}": see /api/machines`);
    const q = ordersQuery.parse(req.query);
    const to = q.to ?? Date.now();
    const from = q.from ?? to - 7 * 86_400_000;
    return { machine: id, from: new Date(from).toISOString(), to: new Date(to).toISOString(), orders: model.orders(id, from, to) };
  });
}
