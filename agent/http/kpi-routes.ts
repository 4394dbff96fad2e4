/**
 * `GET /api/kpis?from&to&machine&line&groupBy&scope` (DESIGN.md §6). The body is the KPI
 * service's UTF-8 JSON of the rows (the kept JSON of whole past rows: a month by day for the
 * fleet is ~2 MB), computed by the query worker and handed over as one moved buffer, written
 * to the socket in one corked batch: neither the service nor fastify's serialiser walks 1,500
 * row objects, and no 2 MB string is built and encoded per request. The bytes are those
 * `JSON.stringify` gives for `{ from, to, rows }`. The request's budget is checked first.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { timeParam } from './query-params.ts';
import type { KpiRequest, QueryPort } from './ports.ts';

const CLOSE_BRACE = Buffer.from('}');

export const KPI_ROUTE_DEFAULTS = { windowMs: 24 * 3600 * 1000 } as const;

const kpiQuery = z.object({
  from: timeParam,
  to: timeParam,
  machine: z.string().min(1).optional(),
  line: z.string().min(1).optional(),
  groupBy: z.enum(['none', 'hour', 'shift', 'day', 'order']).default('none'),
  scope: z.enum(['machine', 'line', 'site']).default('machine'),
});

/**
 * `kpis`: the query worker's port (or the service itself); `gate`: the request's budget check
 * (agent/http/query-budget.ts), which throws a 400 before any work is handed on.
 */
export function registerKpiRoutes(
  app: FastifyInstance,
  kpis: Pick<QueryPort, 'kpiJson'>,
  gate: (q: KpiRequest) => void = () => undefined,
  /** the security headers every response carries (security-headers.ts): no onSend hook runs here */
  headers: Readonly<Record<string, string>> = {},
): void {
  app.get('/api/kpis', async (req, reply) => {
    const q = kpiQuery.parse(req.query);
    const to = q.to ?? Date.now();
    const from = q.from ?? to - KPI_ROUTE_DEFAULTS.windowMs;
    const request: KpiRequest = { from, to, machine: q.machine, line: q.line, groupBy: q.groupBy, scope: q.scope };
    gate(request);
    const rows = await kpis.kpiJson(request);
    const head = Buffer.from(`{"from":${JSON.stringify(new Date(from).toISOString())},"to":${JSON.stringify(new Date(to).toISOString())},"rows":`);
    let length = head.length + 1;
    for (const c of rows) length += c.length;
    // written by hand (no onSend hook applies to this route, so the security headers are passed
    // in; auth ran in onRequest): fastify
    // would otherwise need the pieces joined into one buffer first
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': length });
    res.cork();
    res.write(head);
    for (const c of rows) res.write(c);
    res.end(CLOSE_BRACE);
    res.uncork();
  });
}
