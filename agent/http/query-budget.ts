/**
 * The budget of the query routes (`/api/kpis`, `/api/benchmarks`, `/api/series`, the machine
 * trend), checked where a request enters (STYLE.md 14) before any work is handed to the query
 * worker: a range longer than `maxRangeDays`, or more machine rows (windows × machines) than
 * `maxRows`, is a 400 naming the limit. Series are thinned instead: the step grows until the
 * points fit `maxSeriesPoints`. Past the boundary the KPI service trusts its ranges.
 */
import { AgentError, type ErrorCode } from '../errors.ts';
import type { OrderRecord } from '../kpi/index.ts';
import type { SampleValue } from '../model/index.ts';
import type { Plant } from '../plant/index.ts';
import type { KpiPort, KpiRequest, SeriesAnswer } from './ports.ts';

export interface HttpQueryBudget {
  /** longest range one request may ask for, days (`/api/kpis`, `/api/benchmarks`, `/api/series`) */
  maxRangeDays: number;
  /** most machine rows (windows × machines) one `/api/kpis` request may compute */
  maxRows: number;
  /** most points one `/api/series` answer holds: the step is widened to fit */
  maxSeriesPoints: number;
  /** a query running longer is cancelled (its worker replaced) and answered 503, seconds */
  deadlineS: number;
  /** queries waiting for the worker beyond this are answered 503 at once */
  maxQueued: number;
  /** the query worker's old-generation heap, MB: a query needing more ends with 503, not the agent */
  workerMemoryMb: number;
}

export const HTTP_QUERY_DEFAULTS: HttpQueryBudget = {
  // a year and a month: last year's same month compared with this one
  maxRangeDays: 400,
  // ~1.4 kB of JSON a row: at most ~28 MB in one answer (a year by day for 54 machines)
  maxRows: 20_000,
  maxSeriesPoints: 10_000,
  deadlineS: 10,
  maxQueued: 16,
  workerMemoryMb: 512,
};

const DAY_MS = 86_400_000;
// a day in the site's zone is at least 23 h (a DST change): the most days a range can touch
const SHORTEST_DAY_MS = 23 * 3_600_000;

/** A request over the budget (400) or a query the worker could not finish (503). */
export class QueryBudgetError extends AgentError {
  constructor(
    code: ErrorCode,
    detail: string,
    readonly statusCode: 400 | 503,
  ) {
    super(code, detail);
    this.name = 'QueryBudgetError';
  }
}

/** `from < to` and the range within `maxRangeDays`. */
export function checkRange(from: number, to: number, budget: Pick<HttpQueryBudget, 'maxRangeDays'>): void {
  if (!(to > from)) throw new QueryBudgetError('SFA_ERR_KPI_QUERY', `"to" must be after "from"`, 400);
  const days = (to - from) / DAY_MS;
  if (days > budget.maxRangeDays) {
    throw new QueryBudgetError(
      'SFA_ERR_HTTP_QUERY_RANGE',
      `the range is ${days.toFixed(1)} days; at most http.query.maxRangeDays = ${budget.maxRangeDays} days per request: ask for a shorter range`,
      400,
    );
  }
}

/** What a KPI request's rows are counted from. */
export interface RowEstimate {
  from: number;
  to: number;
  groupBy: 'none' | 'hour' | 'shift' | 'day' | 'order';
  /** the machines the request selects */
  machines: number;
  /** shifts per day (groupBy=shift) */
  shifts: number;
  /** orders of the selected machines overlapping the range (groupBy=order) */
  orders: () => number;
}

/** An upper bound of the machine rows a KPI request computes (windows × machines). */
export function estimateRows(e: RowEstimate): number {
  const span = e.to - e.from;
  switch (e.groupBy) {
    case 'none':
      return e.machines;
    case 'hour':
      return (Math.ceil(span / 3_600_000) + 1) * e.machines;
    case 'day':
      return (Math.ceil(span / SHORTEST_DAY_MS) + 1) * e.machines;
    case 'shift':
      return (Math.ceil(span / SHORTEST_DAY_MS) + 2) * Math.max(1, e.shifts) * e.machines;
    case 'order':
      return e.orders();
  }
}

/** The range check, then the row check of a KPI request. */
export function checkKpiRequest(e: RowEstimate, budget: Pick<HttpQueryBudget, 'maxRangeDays' | 'maxRows'>): void {
  checkRange(e.from, e.to, budget);
  const rows = estimateRows(e);
  if (rows > budget.maxRows) {
    throw new QueryBudgetError(
      'SFA_ERR_HTTP_QUERY_ROWS',
      `the query would compute up to ${rows} rows (windows × machines); at most http.query.maxRows = ${budget.maxRows}: narrow the range, group coarser or pick a machine or line`,
      400,
    );
  }
}

/**
 * The step (ms) of a series answer: the one asked for, widened so `[from, to)` holds at most
 * `maxSeriesPoints` points; undefined (raw points) when none was asked for.
 */
export function seriesStep(from: number, to: number, step: number | undefined, maxPoints: number): number | undefined {
  if (step === undefined) return undefined;
  return Math.max(step, Math.ceil((to - from) / maxPoints));
}

/**
 * A series within `maxPoints`: raw points when no step was asked for and they fit, else one
 * point per step, the step widened until the points fit. `read` is the KPI service's series.
 */
export function boundedSeries(read: (step: number | undefined) => [number, SampleValue][], from: number, to: number, step: number | undefined, maxPoints: number): SeriesAnswer {
  const asked = seriesStep(from, to, step, maxPoints);
  const points = read(asked);
  if (asked !== undefined || points.length <= maxPoints) return { step: asked ?? null, points };
  const wide = Math.ceil((to - from) / maxPoints);
  return { step: wide, points: read(wide) };
}

/** What the KPI route's row check reads of the running agent. */
export interface KpiGatePorts {
  kpis: Pick<KpiPort, 'machineIds' | 'orderList'>;
  plant: Pick<Plant, 'machine' | 'shifts'>;
}

/** The `/api/kpis` check: range, then rows of the machines the request selects. */
export function kpiGate(budget: Pick<HttpQueryBudget, 'maxRangeDays' | 'maxRows'>, ports: KpiGatePorts): (q: KpiRequest) => void {
  return (q) => {
    checkRange(q.from, q.to, budget);
    const ids = new Set(ports.kpis.machineIds().filter((m) => (q.machine === undefined || m === q.machine) && (q.line === undefined || ports.plant.machine(m).line === q.line)));
    checkKpiRequest(
      {
        from: q.from,
        to: q.to,
        groupBy: q.groupBy,
        machines: ids.size,
        shifts: ports.plant.shifts.length,
        orders: () => countOrderRows(ports.kpis.orderList(), ids, q.from, q.to),
      },
      budget,
    );
  };
}

/** Orders overlapping `[from, to)`, once per selected machine that worked on them. */
function countOrderRows(orders: readonly OrderRecord[], ids: ReadonlySet<string>, from: number, to: number): number {
  let n = 0;
  for (const o of orders) {
    if ((o.completedAt ?? to) <= from || (o.startedAt ?? o.releasedAt ?? from) >= to) continue;
    for (const m of o.machines) if (ids.has(m)) n++;
  }
  return n;
}
