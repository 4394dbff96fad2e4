/**
 * The agent's lifecycle: buffer → drivers (and the demo plant) → HTTP; stopped in reverse,
 * flushing every pending sample before the database closes.
 */
import type { Config } from '../../config/schema.ts';
import { BatchWriter, Retention, SqliteBuffer } from '../buffer/index.ts';
import { Plant } from '../plant/index.ts';
import { describePlant, Forwarder, kpiSnapshots } from '../forward/index.ts';
import type { Logger } from './logger.ts';
import { startHttp, type Health, type HealthPort, type HttpServer } from '../http/index.ts';
import { KpiService } from '../kpi-query/index.ts';
import { HTTP_QUERY_DEFAULTS } from '../http/query-budget.ts';
import { QueryWorker } from '../query-worker/index.ts';
import { ORDER_EVENT_SIGNAL, ORDER_ID_SIGNAL } from '../kpi/index.ts';
import { AgentError } from '../errors.ts';
import { AgentMetrics } from './metrics.ts';
import { SourceRunner, type SourceStatus } from './source-runner.ts';
import { Supervisor } from './supervisor.ts';
import { EventLoopMonitor } from './event-loop.ts';
import { PlantHolder } from './plant-holder.ts';
import { applyReload, reloadHealth, type ReloadStatus } from './reload.ts';
import type { PlantDiff, PlantSource } from '../plant/index.ts';

export type { SourceStatus } from './source-runner.ts';

// what the KPI service's order book reads (agent/kpi-query/kpi-service.ts), handed to the query worker
const ORDER_SIGNALS = [ORDER_EVENT_SIGNAL, ORDER_ID_SIGNAL];

/** Something the agent starts before its sources and stops after them (the demo plant). */
export interface Companion {
  stop(): Promise<void>;
}

export interface AgentHooks {
  /** starts the demo plant when simulator.enabled (injected by the CLI, keeps the runtime free of it) */
  startSimulator?: (plant: Plant, log: Logger) => Promise<Companion>;
  /** the running build's version (shopfloor_agent_build_info) */
  version?: string;
}

export class Agent implements HealthPort {
  /** the plant model, built from the config: every part below reads it (a reload swaps what it reads) */
  readonly plant: Plant;
  private readonly plantHolder: PlantHolder;
  /** the config the running plant was built from, and how the last reload went */
  private reloadStatus: ReloadStatus;
  readonly eventLoop = new EventLoopMonitor();
  readonly buffer: SqliteBuffer;
  /**
   * In-process KPIs, for bounded internal uses only: the tiles' and live feed's current shift
   * (≤ 1 day × machines) and the forwarder's snapshots (day and last 24 h by shift, per machine).
   * Every query a request sizes (/api/kpis, /api/benchmarks, /api/series, trends) goes to `queries`.
   */
  readonly kpis: KpiService;
  /** the HTTP API's queries, in a worker thread beside a read-only buffer (agent/query-worker) */
  readonly queries: QueryWorker;
  readonly metrics: AgentMetrics;
  /** restarts a component that fails unexpectedly (agent/runtime/supervisor.ts) */
  readonly supervisor: Supervisor;
  private readonly writer: BatchWriter;
  /** drivers, their status and input boundaries */
  private readonly sources: SourceRunner;
  private http: HttpServer | undefined;
  private simulator: Companion | undefined;
  private stopped = false;
  /** the step stop() is in (the shutdown deadline's log line names it) */
  stopStep = 'running';
  /** store-and-forward (null without `upstream`: the agent runs purely local) */
  readonly forwarder: Forwarder | null;
  readonly retention: Retention;

  constructor(
    config: Config,
    private readonly log: Logger,
    private readonly hooks: AgentHooks = {},
  ) {
    this.plantHolder = new PlantHolder(new Plant(config));
    this.reloadStatus = { config, loadedAt: Date.now(), lastReload: null };
    const plant = this.plantHolder.view;
    this.plant = plant;
    this.buffer = new SqliteBuffer({ dataDir: plant.dataDir, synchronous: plant.buffer.synchronous, rollupSeries: plant });
    const { series, samples } = this.buffer.repaired;
    if (samples > 0 || series > 0) this.log.warn({ series, samples }, 'stored samples with unusable names or timestamps moved to dead letters');
    // before any series' settings are resolved: which source delivered each series so far
    for (const b of this.buffer.seriesSources()) plant.bindSeries(b.source, b.machine, b.signal);
    this.writer = new BatchWriter(this.buffer, {
      maxRows: plant.buffer.batchRows,
      maxDelayMs: plant.buffer.batchMs,
      onError: (err) => {
        // a full disk is normal life for an edge box: retention makes room inside the file
        if ((err as { code?: unknown }).code === 'SQLITE_FULL') this.retention.onDiskFull();
        else this.log.error({ err }, 'buffer commit failed; samples kept in memory and retried');
      },
      onCommit: (_rows, seconds) => this.metrics.commitSeconds.observe(seconds),
    });
    this.kpis = new KpiService(plant, this.buffer);
    const budget = { ...HTTP_QUERY_DEFAULTS, ...plant.http.query };
    this.queries = new QueryWorker(config, { deadlineMs: budget.deadlineS * 1000, maxQueued: budget.maxQueued, memoryMb: budget.workerMemoryMb, observe: (kind, s) => this.metrics.observeKpiQuery(kind, s) },
      this.log.child({ component: 'queries' }),
      () => this.buffer.rollups.flush(),
      () => this.buffer.samplesOfSignals(ORDER_SIGNALS, [ORDER_EVENT_SIGNAL]),
    );
    this.buffer.onCommit((samples) => this.queries.committed(samples));
    this.metrics = new AgentMetrics({ site: plant.site.id, agent: plant.agentId }, { version: hooks.version ?? 'unknown' });
    this.metrics.eventLoop = this.eventLoop;
    this.supervisor = new Supervisor(this.log.child({ component: 'supervisor' }), this.metrics.unexpectedErrors);
    const up = plant.upstream;
    this.forwarder = up
      ? new Forwarder(
          this.buffer,
          {
            url: up.url,
            topicPrefix: up.topicPrefix,
            site: plant.site.id,
            agent: plant.agentId,
            clientId: up.clientId ?? `sfa-${plant.site.id}-${plant.agentId}`,
            username: up.username,
            password: up.password,
            ca: up.ca,
            cert: up.cert,
            key: up.key,
            rejectUnauthorized: up.rejectUnauthorized,
            batchSize: up.batchSize,
            inFlight: up.inFlight,
            kpiIntervalMs: up.kpiIntervalS * 1000,
            confirm: up.confirm,
            confirmTimeoutMs: up.confirmTimeoutS * 1000,
          },
          this.log.child({ component: 'forwarder' }),
          {
            kpiSnapshots: () => kpiSnapshots(plant, this.kpis),
            onForwarded: (n) => this.metrics.forwardedSamples.inc(n),
            onState: (st) => this.metrics.upstreamConnected.set(st === 'connected' ? 1 : 0),
            plantDescription: (instance) => describePlant(plant, instance),
            hours: { kpis: this.kpis, options: { timezone: plant.site.timezone, keepMs: plant.buffer.rollupHourDays * 86_400_000 } },
          },
        )
      : null;
    // without upstream every committed sample counts as forwarded: the cap is plain retention
    const forwarder = this.forwarder;
    this.retention = new Retention(
      this.buffer,
      // confirm: fleet — only what the fleet confirmed (retention.ts: the cap still drops, counted)
      forwarder ? () => forwarder.retainableUpTo : () => this.buffer.stats().lastId,
      { maxBytes: plant.buffer.maxBytes, retainDays: plant.buffer.retainDays, rollupMinuteDays: plant.buffer.rollupMinuteDays, rollupHourDays: plant.buffer.rollupHourDays, deletableIs: up?.confirm === 'fleet' ? 'confirmed' : 'forwarded' },
      this.log.child({ component: 'retention' }),
    );
    this.metrics.upstreamIds = forwarder ? () => ({ acked: forwarder.cursor, confirmed: forwarder.confirmation.confirmedId }) : undefined;
    this.metrics.bufferStats = () => {
      const h = this.health();
      return { backlog: h.buffer.backlog, bytes: h.buffer.bytes, droppedSamples: h.buffer.droppedSamples };
    };
    this.metrics.forwardLagSeconds = () => this.forwardLagSeconds();
    this.sources = new SourceRunner({
      plant,
      current: () => this.plantHolder.plant,
      buffer: this.buffer,
      writer: this.writer,
      retention: this.retention,
      queries: this.queries,
      metrics: this.metrics,
      supervisor: this.supervisor,
      log: this.log,
    });
  }

  async start(): Promise<{ httpPort: number }> {
    const plant = this.plant;
    this.eventLoop.start();
    if (plant.simulator.enabled) {
      if (!this.hooks.startSimulator) throw new AgentError('SFA_ERR_SIMULATOR_START', 'no simulator available in this build');
      this.simulator = await this.hooks.startSimulator(plant, this.log);
    }
    const retention = this.retention;
    await this.supervisor.start({ name: 'retention', start: () => retention.start(), stop: () => retention.stop() });
    const forwarder = this.forwarder;
    if (forwarder) await this.supervisor.start({ name: 'forwarder', start: () => forwarder.start(), stop: () => forwarder.stop() });
    for (const src of plant.sources) await this.startSource(src);
    // every KPI query needs the order book: read it now, not on the first request after a restart
    this.kpis.prepare();
    await this.queries.start();
    this.log.debug({}, 'starting HTTP');
    this.http = await startHttp({ health: this, kpis: this.kpis, buffer: this.buffer, metrics: this.metrics, plant, log: this.log, faults: this.supervisor, queries: this.queries });
    this.log.info({ url: `http://${plant.http.host}:${this.http.port}`, sources: plant.sources.length }, 'agent running');
    return { httpPort: this.http.port };
  }

  private startSource(src: PlantSource): Promise<void> {
    return this.sources.start(src);
  }

  private stopSource(id: string): Promise<void> {
    return this.sources.stop(id);
  }

  /**
   * Applies a validated config (SIGHUP): sources added start, removed ones stop, changed ones
   * restart, the others keep running untouched; machines and KPI settings take effect through the
   * swapped Plant. Settings only a restart applies are kept as they run and reported (reload.ts).
   */
  async reload(next: Config): Promise<PlantDiff> {
    if (this.stopped) throw new AgentError('SFA_ERR_CONFIG_INVALID', 'the agent is stopping');
    return applyReload(
      {
        current: () => ({ config: this.reloadStatus.config, plant: this.plantHolder.plant }),
        stopSource: (id) => this.stopSource(id),
        startSource: (src) => this.startSource(src),
        flush: () => this.writer.flush(),
        swap: (plant, config) => {
          for (const b of this.buffer.seriesSources()) plant.bindSeries(b.source, b.machine, b.signal);
          this.plantHolder.swap(plant);
          this.reloadStatus = { ...this.reloadStatus, config };
          this.kpis.clearCache();
          this.queries.reload(config);
        },
        record: (r) => {
          this.reloadStatus = { ...this.reloadStatus, loadedAt: r.at, lastReload: r };
        },
      },
      next,
      this.log,
    );
  }

  /** A reload that failed before applying anything (invalid config): shown in /healthz. */
  reloadRejected(error: string): void {
    this.reloadStatus = { ...this.reloadStatus, lastReload: { ok: false, at: Date.now(), error } };
  }

  /** Whether commits keep up: the last commit is recent, or nothing is waiting (the watchdog asks). */
  commitsHealthy(maxAgeMs: number): boolean {
    if (this.writer.pendingCount === 0) return true;
    const last = this.writer.lastCommitAt;
    return last !== undefined && Date.now() - last <= maxAgeMs;
  }

  /** Age (s) of the oldest sample not yet acknowledged upstream; 0 when none waits or no upstream. */
  private forwardLagSeconds(): number {
    if (!this.forwarder) return 0;
    const next = this.buffer.readAfterJson(this.forwarder.cursor, 1);
    if (!next) return 0;
    const ts = (JSON.parse(next.json) as { ts: number }[])[0]?.ts;
    return ts === undefined ? 0 : Math.max(0, (Date.now() - ts) / 1000);
  }

  /** Stop sources, flush every pending sample, close the database. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.supervisor.stop();
    this.stopStep = 'stopping sources';
    await this.sources.stopAll();
    this.stopStep = 'flushing the buffer';
    this.writer.flush();
    this.stopStep = 'closing HTTP';
    if (this.http) await this.http.close();
    this.stopStep = 'stopping the query worker';
    await this.queries.stop();
    this.stopStep = 'stopping the demo plant';
    if (this.simulator) await this.simulator.stop();
    this.stopStep = 'publishing offline upstream';
    await this.forwarder?.stop();
    this.stopStep = 'stopping retention';
    await this.retention.stop();
    this.stopStep = 'closing the buffer';
    this.buffer.close();
    this.stopStep = 'stopped';
    this.eventLoop.stop();
    this.log.info({}, 'agent stopped; all pending samples flushed');
  }

  health(): Health {
    const stats = this.buffer.stats();
    const sources = this.sources.health();
    const fwd = this.forwarder;
    const upstreamOk = !fwd || fwd.state === 'connected';
    return {
      status: sources.every((s) => s.state === 'connected' && !s.problems?.length) && upstreamOk && !this.retention.diskFull ? 'ok' : 'degraded',
      sources,
      buffer: {
        samples: stats.samples,
        backlog: fwd ? fwd.backlog() : 0,
        bytes: stats.bytes,
        droppedSamples: this.buffer.droppedSamples(),
        pending: this.writer.pendingCount,
        deadLetters: stats.deadLetters,
        deadLettersDropped: this.buffer.deadLettersDropped(),
      },
      upstream: fwd
        ? {
            state: fwd.state,
            lastAckAt: fwd.lastAckAt === undefined ? null : new Date(fwd.lastAckAt).toISOString(),
            confirm: fwd.confirmation.mode,
            ackedId: fwd.cursor,
            confirmedId: fwd.confirmation.confirmedAt === undefined ? null : fwd.confirmation.confirmedId,
            confirmedAt: fwd.confirmation.confirmedAt === undefined ? null : new Date(fwd.confirmation.confirmedAt).toISOString(),
          }
        : { state: 'disabled', lastAckAt: null },
      config: reloadHealth(this.reloadStatus),
    };
  }

  sourceStatus(): SourceStatus[] {
    return this.sources.list();
  }
}
