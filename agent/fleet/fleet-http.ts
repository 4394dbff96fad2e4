/**
 * The fleet's HTTP API (DESIGN.md §6 "Fleet"): `/healthz`, `/metrics`, `/api/agents`,
 * `/api/kpis` and `/api/benchmarks`, with the agent's access rules (loopback by default, any
 * other bind needs `http.token`) and error bodies. Ranges are checked once here, with a budget.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AgentError } from '../errors.ts';
import { assertBindAllowed, registerAuth, registerErrorReplies, registerHostCheck, registerSecurityHeaders, timeParam } from '../http/index.ts';
import type { Baseline, Band, BenchmarkKpi } from '../kpi/index.ts';
import { registerFleetDashboard } from './fleet-dashboard.ts';
import { fleetBenchmarkRows, fleetKpiRows, fleetSiteBenchmarkRows, HOUR_MS, type FleetKpiQuery } from './fleet-kpis.ts';
import type { FleetMetrics } from './fleet-metrics.ts';
import type { ConsumerLag } from './ingest/index.ts';
import type { AgentRecord, FleetStore, HourRecord } from './store/index.ts';

export const FLEET_HTTP_DEFAULTS = {
  kpiWindowMs: 24 * HOUR_MS,
  benchmarkWindowMs: 7 * 24 * HOUR_MS,
  /** the longest range a query may ask for */
  maxRangeMs: 400 * 24 * HOUR_MS,
  /** most rows a /api/kpis answer may hold */
  maxRows: 20_000,
  /** most machine-hours one query reads (a year of 100 machines is 876,000) */
  maxHours: 1_000_000,
} as const;

/** A query that cannot be answered as asked: 400 with a catalogue code. */
export class FleetQueryError extends AgentError {
  readonly statusCode = 400;
  constructor(detail: string) {
    super('SFA_ERR_KPI_QUERY', detail);
  }
}

export interface FleetHealth {
  status: 'ok' | 'degraded';
  [k: string]: unknown;
}

export interface FleetHttpDeps {
  host: string;
  port: number;
  token: string | undefined;
  /** more `Host` names than the bind address and this machine's (http.allowedHosts) */
  allowedHosts?: readonly string[] | undefined;
  store: FleetStore;
  metrics: FleetMetrics;
  health: () => FleetHealth;
  /** the shared consumer's backlog (JetStream), undefined with MQTT */
  consumerLag?: () => ConsumerLag | undefined;
  benchmarks: { baselines: Record<string, Baseline>; bands: Partial<Record<BenchmarkKpi, Band>> };
  log: { error(obj: object, msg: string): void };
}

const id = z.string().min(1).max(128);
const kpiQuery = z.object({
  from: timeParam,
  to: timeParam,
  scope: z.enum(['machine', 'line', 'site', 'product', 'fleet']).default('machine'),
  groupBy: z.enum(['none', 'hour', 'day', 'site']).default('none'),
  site: id.optional(),
  line: id.optional(),
  product: id.optional(),
  machine: id.optional(),
});
const benchmarkQuery = z.object({ from: timeParam, to: timeParam, site: id.optional(), groupBy: z.enum(['none', 'site']).default('none') });

/** [from, to) widened to whole hours (the fleet holds hourly components), checked against the budget. */
export function hourRange(q: { from?: number | undefined; to?: number | undefined }, defaultMs: number, now = Date.now()): { from: number; to: number } {
  const to = Math.ceil((q.to ?? now) / HOUR_MS) * HOUR_MS;
  const from = Math.floor((q.from ?? to - defaultMs) / HOUR_MS) * HOUR_MS;
  if (to <= from) throw new FleetQueryError(`"to" must be after "from" (from ${new Date(from).toISOString()}, to ${new Date(to).toISOString()})`);
  if (to - from > FLEET_HTTP_DEFAULTS.maxRangeMs) throw new FleetQueryError(`the range is longer than ${FLEET_HTTP_DEFAULTS.maxRangeMs / (24 * HOUR_MS)} days: narrow it`);
  return { from, to };
}

/** One row per agent (its newest instance): online, last seen, confirmed id, ids held back, lag. */
export function agentViews(records: readonly AgentRecord[], now = Date.now()): object[] {
  const newest = new Map<string, { r: AgentRecord; instances: number }>();
  for (const r of records) {
    const k = `${r.site}\u0000${r.agent}`;
    const cur = newest.get(k);
    if (!cur) newest.set(k, { r, instances: 1 });
    else {
      cur.instances++;
      if (r.lastSeen > cur.r.lastSeen) cur.r = r;
    }
  }
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
  return [...newest.values()].map(({ r, instances }) => ({
    site: r.site,
    agent: r.agent,
    instance: r.instance,
    instances,
    online: r.status === 'online',
    status: r.status,
    statusAt: iso(r.statusAt),
    firstSeen: iso(r.firstSeen),
    lastSeen: iso(r.lastSeen),
    confirmedId: r.confirmedId,
    lastId: r.lastId,
    // ids seen above the contiguous cursor: batches stored but held back by a gap
    backlog: Math.max(0, r.lastId - r.confirmedId),
    lastSampleAt: iso(r.lastSampleTs),
    lagS: r.lastSampleTs === null ? null : Math.max(0, (now - r.lastSampleTs) / 1000),
  }));
}

/** The shared consumer's backlog as JSON: the same in /healthz and in each /api/agents row. */
export function consumerView(l: ConsumerLag): object {
  return { stream: l.stream, name: l.consumer, pending: l.pending, redelivered: l.redelivered, ackPending: l.ackPending, at: new Date(l.at).toISOString() };
}

async function readHours(store: FleetStore, from: number, to: number): Promise<HourRecord[]> {
  const max = FLEET_HTTP_DEFAULTS.maxHours;
  const hours = await store.hours(from, to, max + 1);
  if (hours.length > max) throw new FleetQueryError(`the range holds more than ${max} machine-hours: narrow it`);
  return hours;
}

export async function startFleetHttp(deps: FleetHttpDeps): Promise<{ port: number; app: FastifyInstance; close(): Promise<void> }> {
  assertBindAllowed(deps.host, deps.token);
  const app = Fastify({ logger: false });
  // the agent's dashboard rules: CSP with hashed inline blocks, no framing, DNS rebinding refused
  registerSecurityHeaders(app, { frameAncestors: [] });
  registerHostCheck(app, deps.host, deps.allowedHosts ?? []);
  registerAuth(app, deps.token);
  registerErrorReplies(app, deps.log);
  const { store } = deps;
  registerFleetDashboard(app);

  // 200 with `status: degraded` like the agent's: probes read the body
  app.get('/healthz', async () => deps.health());
  app.get('/metrics', async (_req, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
  app.get('/api/agents', async () => {
    const views = agentViews(await store.agents());
    // JetStream: every row also carries the group consumer's backlog as this worker last read it
    const lag = deps.consumerLag?.();
    if (!lag) return views;
    const consumer = consumerView(lag);
    return views.map((v) => ({ ...v, consumer }));
  });
  // the plant descriptions the agents sent: sites with their zone, machines with line and product
  app.get('/api/sites', async () => {
    const [sites, machines] = await Promise.all([store.sites(), store.machines()]);
    return sites.map((s) => ({ ...s, machines: machines.filter((m) => m.site === s.id).map(({ site: _site, ...m }) => m) }));
  });

  app.get('/api/kpis', async (req) => {
    const p = kpiQuery.parse(req.query);
    const { from, to } = hourRange(p, FLEET_HTTP_DEFAULTS.kpiWindowMs);
    const q: FleetKpiQuery = { ...p, from, to };
    const [hours, machines, sites] = await Promise.all([readHours(store, from, to), store.machines(), store.sites()]);
    const rows = fleetKpiRows(q, hours, { machines, sites });
    if (rows.length > FLEET_HTTP_DEFAULTS.maxRows) throw new FleetQueryError(`the answer would hold ${rows.length} rows (at most ${FLEET_HTTP_DEFAULTS.maxRows}): narrow the range or group coarser`);
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), scope: q.scope, groupBy: q.groupBy, rows };
  });

  app.get('/api/benchmarks', async (req) => {
    const p = benchmarkQuery.parse(req.query);
    const { from, to } = hourRange(p, FLEET_HTTP_DEFAULTS.benchmarkWindowMs);
    const [hours, units, machines, sites, oldest] = await Promise.all([readHours(store, from, to), store.unitsUntil(to), store.machines(), store.sites(), store.oldestHour()]);
    const input = { from, to, site: p.site, hours, units, plant: { machines, sites }, ...deps.benchmarks };
    const rows = p.groupBy === 'site' ? fleetSiteBenchmarkRows(input) : fleetBenchmarkRows(input);
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), volumeSince: oldest === null ? null : new Date(oldest).toISOString(), rows };
  });

  try {
    await app.listen({ host: deps.host, port: deps.port });
  } catch (err) {
    throw new AgentError('SFA_ERR_HTTP_BIND', `cannot listen on ${deps.host}:${deps.port}: ${(err as Error).message}`, { cause: err });
  }
  const addr = app.server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : deps.port, app, close: () => app.close() };
}
