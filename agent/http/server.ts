/**
 * The HTTP API of the contract (DESIGN.md §6) and the operator page.
 * Default bind 127.0.0.1; any other bind needs http.token (the config refuses it otherwise).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { timeParam } from './query-params.ts';
import type { Logger } from 'pino';
import type { BufferPort, HealthPort, HttpPlant, KpiPort, MetricsPort, QueryPort } from './ports.ts';
import { inProcessQueries } from './in-process-queries.ts';
import { checkRange, HTTP_QUERY_DEFAULTS, kpiGate } from './query-budget.ts';
import { AgentError } from '../errors.ts';
import { registerBenchmarkRoutes } from './benchmark-routes.ts';
import { registerErrorReplies } from './error-replies.ts';
import { registerKpiRoutes } from './kpi-routes.ts';
import { assertBindAllowed, registerAuth } from './auth.ts';
import { registerDashboardAssets } from './dashboard-assets.ts';
import { DashboardModel } from './dashboard-model.ts';
import { registerDashboardRoutes } from './dashboard-routes.ts';
import { LiveFeed } from './live-feed.ts';
import { registerStreamRoutes, STREAM_DEFAULTS } from './stream-routes.ts';
import { registerHostCheck } from './host-check.ts';
import { registerSecurityHeaders, securityHeaderPairs } from './security-headers.ts';

export interface HttpServer {
  port: number;
  close(): Promise<void>;
  app: FastifyInstance;
}

const time = timeParam;

const seriesQuery = z.object({
  machine: z.string().min(1),
  signal: z.string().min(1),
  from: time,
  to: time,
  step: z.coerce.number().int().positive().optional(),
});

function window(q: { from?: number | undefined; to?: number | undefined }): { from: number; to: number } {
  const to = q.to ?? Date.now();
  const from = q.from ?? to - 24 * 3600 * 1000;
  return { from, to };
}

/** The server's ports (agent/http/ports.ts): the runtime hands in the parts, never itself. */
export interface HttpDeps {
  health: HealthPort;
  kpis: KpiPort;
  buffer: BufferPort;
  metrics: MetricsPort;
  plant: HttpPlant;
  log: Logger;
  /** where an unexpected failure of the live feed is reported (the agent's supervisor) */
  faults?: { fault(component: string, err: unknown): void };
  /** the KPI, benchmark, series and trend queries, off the ingest thread (agent/query-worker); default: in-process */
  queries?: QueryPort;
}

export async function startHttp(deps: HttpDeps): Promise<HttpServer> {
  const { health, kpis, buffer, metrics, plant } = deps;
  const http = plant.http;
  // request lines are logged at info; the agent's own http log starts at warn
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    // no route takes more than a sign-in form; a request must arrive whole within 30 s (slow senders)
    bodyLimit: 64 * 1024,
    requestTimeout: 30_000,
  });

  assertBindAllowed(http.host, http.token);
  // CSP, framing, nosniff, referrer on every answer (agent/http/security-headers.ts)
  const headers = { frameAncestors: http.frameAncestors ?? [] };
  registerSecurityHeaders(app, headers);
  // DNS rebinding: before authentication, a foreign Host learns nothing (agent/http/host-check.ts)
  registerHostCheck(app, http.host, http.allowedHosts ?? []);
  // bearer header or the login form's cookie; /healthz stays open for probes (agent/http/auth.ts)
  registerAuth(app, http.token);

  // every error body carries a catalogue code; a 500's cause goes to the log only
  registerErrorReplies(app, deps.log);

  app.get('/healthz', async () => health.health());

  app.get('/metrics', async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });

  app.get('/api/machines', async () => kpis.machines());

  // every query whose cost grows with its range is checked against the budget, then answered by the worker
  const budget = { ...HTTP_QUERY_DEFAULTS, ...http.query };
  const queries = deps.queries ?? inProcessQueries(kpis, buffer, plant);
  registerKpiRoutes(app, queries, kpiGate(budget, { kpis, plant }), securityHeaderPairs(headers));

  registerBenchmarkRoutes(app, queries, budget);

  app.get('/api/series', async (req) => {
    const q = seriesQuery.parse(req.query);
    const { from, to } = window(q);
    checkRange(from, to, budget);
    const { step, points } = await queries.series(q.machine, q.signal, from, to, q.step, budget.maxSeriesPoints);
    return { machine: q.machine, signal: q.signal, step, points };
  });

  // the operator dashboard: `/`, its bundled assets, its JSON routes and the live stream
  const dashboard = new DashboardModel({ health: () => health.health(), sourceStatus: () => health.sourceStatus(), kpis, buffer }, plant);
  registerDashboardAssets(app);
  registerDashboardRoutes(app, dashboard, queries);
  const httpLog = deps.log.child({ component: 'http' });
  const feed = new LiveFeed(dashboard, () => health.health(), buffer, { onFault: (err) => deps.faults?.fault('live-feed', err) });
  registerStreamRoutes(app, feed, {
    maxStreams: http.maxStreams ?? STREAM_DEFAULTS.maxStreams,
    headers: securityHeaderPairs(headers),
    onDropped: (remote, bytes) => httpLog.warn({ remote, bufferedBytes: bytes }, 'live stream dropped: the client stopped reading'),
  });

  try {
    await app.listen({ host: http.host, port: http.port });
  } catch (err) {
    throw new AgentError('SFA_ERR_HTTP_BIND', `cannot listen on ${http.host}:${http.port}: ${(err as Error).message}`, { cause: err });
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : http.port;
  return { port, app, close: () => app.close() };
}
