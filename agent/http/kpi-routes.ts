/**
 * `GET /api/kpis?from&to&machine&line&groupBy&scope` (DESIGN.md §6). The body is built as one
 * string: the service splices the JSON text it keeps of whole past rows (a month by day for the
 * fleet is ~2 MB), so neither it nor fastify's generic serialiser walks 1,500 row objects per
 * request. The bytes are those `JSON.stringify` gives for `{ from, to, rows }`.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { timeParam } from './query-params.ts';
import type { KpiService } from '../runtime/kpi-service.ts';

export const KPI_ROUTE_DEFAULTS = { windowMs: 24 * 3600 * 1000 } as const;

const kpiQuery = z.object({
  from: timeParam,
  to: timeParam,
  machine: z.string().min(1).optional(),
  line: z.string().min(1).optional(),
  groupBy: z.enum(['none', 'hour', 'shift', 'day', 'order']).default('none'),
  scope: z.enum(['machine', 'line', 'site']).default('machine'),
});

export function registerKpiRoutes(app: FastifyInstance, kpis: KpiService): void {
  app.get('/api/kpis', async (req, reply) => {
    const q = kpiQuery.parse(req.query);
    const to = q.to ?? Date.now();
    const from = q.from ?? to - KPI_ROUTE_DEFAULTS.windowMs;
    const rows = kpis.queryJson({ from, to, machine: q.machine, line: q.line, groupBy: q.groupBy, scope: q.scope });
    const head = `{"from":${JSON.stringify(new Date(from).toISOString())},"to":${JSON.stringify(new Date(to).toISOString())},"rows":`;
    // a string with a JSON content type is sent as it is (fastify serialises only objects)
    return reply.type('application/json; charset=utf-8').send(`${head}${rows}}`);
  });
}
