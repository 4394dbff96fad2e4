/**
 * What the HTTP layer needs of the running agent (STYLE.md habit 11): small ports the runtime
 * satisfies, so that http/ imports nothing of runtime/ and the runtime can start the server
 * without a circle. Shapes are structural; the runtime's classes fit them as they are.
 */
import type { SourceState, TagProblem } from '../../drivers/driver.ts';
import type { DeadLetterRow, LatestValue } from '../buffer/index.ts';
import type { KpiRatios, OrderRecord } from '../kpi/index.ts';
import type { SampleValue, StoredSample } from '../model/index.ts';
import type { Plant } from '../plant/index.ts';
import type { Trend, TrendRange } from './machine-trend.ts';

/** GET /healthz (DESIGN.md §6), also the diagnostics page's and the live feed's `health`. */
export interface Health {
  status: 'ok' | 'degraded';
  /** problems: per-tag problems of sources that can report them (e.g. an OPC UA nodeId the server does not know) */
  sources: { id: string; type: string; state: SourceState; detail?: string; lastSampleAt: string | null; deadLetters: number; seriesCapped?: number; problems?: TagProblem[] }[];
  buffer: { samples: number; backlog: number; bytes: number; droppedSamples: number; pending: number; deadLetters: number; deadLettersDropped?: number };
  upstream: { state: 'disabled' | 'connecting' | 'connected' | 'disconnected'; lastAckAt: string | null } & Partial<UpstreamConfirmation>;
  /** when the running config was loaded, and how the last reload (SIGHUP) went */
  config?: { loadedAt: string; lastReload: { ok: boolean; at: string; error?: string; needsRestart?: string[] } | null };
}

/** With upstream: the broker-acknowledged cursor and the fleet's confirmation (null: none yet). */
export interface UpstreamConfirmation {
  confirm: 'broker' | 'fleet';
  ackedId: number;
  confirmedId: number | null;
  confirmedAt: string | null;
}

/** A source as the dashboard sees it (times in epoch ms). */
export interface SourceStatusView {
  id: string;
  type: string;
  state: SourceState;
  detail: string | undefined;
  since: number;
  lastSampleAt: number | undefined;
  deadLetters: number;
  /** machines this source has delivered samples for (the dashboard's staleness follows its source) */
  machines: ReadonlySet<string>;
}

export interface HealthPort {
  health(): Health;
  sourceStatus(): readonly SourceStatusView[];
}

/** A KPI window query (DESIGN.md §6 `/api/kpis`). */
export interface KpiRequest {
  from: number;
  to: number;
  machine?: string | undefined;
  line?: string | undefined;
  groupBy: 'none' | 'hour' | 'shift' | 'day' | 'order';
  scope?: 'machine' | 'line' | 'site' | undefined;
}

/** What the dashboard reads of a machine's KPI row: its units, energy and ratios. */
export interface MachineKpiRow extends KpiRatios {
  machine: string;
  energyKwh: number | null;
  unitsTotal: number | null;
  unitsGood: number | null;
  unitsScrap: number | null;
}

/** The KPI service, as far as the routes and the dashboard use it. */
export interface KpiPort {
  machineIds(): string[];
  /** GET /api/machines, sent as it is */
  machines(): object[];
  /** machine rows (the dashboard asks for scope machine only) */
  kpis(q: KpiRequest): MachineKpiRow[];
  /** the JSON text of the rows in UTF-8 pieces (agent/http/kpi-routes.ts) */
  queryJsonChunks(q: KpiRequest): Buffer[];
  /** GET /api/benchmarks, sent as it is */
  benchmarks(from: number, to: number): object;
  series(machine: string, signal: string, from: number, to: number, step?: number): [number, SampleValue][];
  /** every order of the order book (the machine page's table is a view of it) */
  orderList(): OrderRecord[];
}

/** A series answer: its points and the step they were averaged over (ms; null: raw points). */
export interface SeriesAnswer {
  step: number | null;
  points: [number, SampleValue][];
}

/**
 * The queries a request triggers, whose cost grows with the range it asks for: answered off
 * the ingest thread by the query worker (agent/query-worker), within the budget the routes
 * checked (agent/http/query-budget.ts).
 */
export interface QueryPort {
  /** the JSON text of `/api/kpis` rows, in UTF-8 pieces written one after another */
  kpiJson(q: KpiRequest): Promise<readonly Buffer[]>;
  benchmarks(from: number, to: number): Promise<object>;
  /** at most `maxPoints` points: the step is widened to fit */
  series(machine: string, signal: string, from: number, to: number, step: number | undefined, maxPoints: number): Promise<SeriesAnswer>;
  trend(machine: string, range: TrendRange, now: number): Promise<Trend>;
}

/** The buffer's reads the dashboard makes, and its commits the live feed follows. */
export interface BufferPort {
  latest(): readonly LatestValue[];
  series(machine: string, signal: string, from: number, to: number): [number, SampleValue][];
  deadLetters(limit: number): DeadLetterRow[];
  /** called inside the commit, with samples that are durable */
  onCommit(listener: (samples: readonly StoredSample[]) => void): void;
}

/** GET /metrics: the registry's exposition text. */
export interface MetricsPort {
  registry: { metrics(): Promise<string>; readonly contentType: string };
}

/** What the dashboard model reads of the running agent. */
export interface DashboardPorts extends HealthPort {
  kpis: Pick<KpiPort, 'machineIds' | 'kpis' | 'series' | 'orderList'>;
  buffer: Pick<BufferPort, 'latest' | 'series' | 'deadLetters'>;
}

/** What the dashboard reads of the plant model. */
export type DashboardPlant = Pick<Plant, 'site' | 'agentId' | 'shifts' | 'machine' | 'feeds' | 'series' | 'origin'>;

/** What the server reads of the plant model: the dashboard's part and its own settings. */
export type HttpPlant = DashboardPlant & Pick<Plant, 'http'>;
