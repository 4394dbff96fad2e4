/**
 * The agent's lifecycle: buffer → drivers (and the demo plant) → HTTP; stopped in reverse,
 * flushing every pending sample before the database closes.
 */
import type { Config } from '../../config/schema.ts';
import { reportsTagProblems, type Driver, type DriverContext, type SourceState, type TagProblem } from '../../drivers/driver.ts';
import { descriptorOf, type SourceType } from '../../drivers/registry.ts';
import { BatchWriter, Retention, SqliteBuffer } from '../buffer/index.ts';
import { Plant } from '../plant/index.ts';
import { Forwarder, kpiSnapshots } from '../forward/index.ts';
import type { Sample } from '../model/index.ts';
import type { Logger } from './logger.ts';
import { startHttp, type Health, type HealthPort, type HttpServer } from '../http/index.ts';
import { KpiService } from '../kpi-query/index.ts';
import { HTTP_QUERY_DEFAULTS } from '../http/query-budget.ts';
import { QueryWorker } from '../query-worker/index.ts';
import { ORDER_EVENT_SIGNAL, ORDER_ID_SIGNAL } from '../kpi/index.ts';

// what the KPI service's order book reads (agent/kpi-query/kpi-service.ts), handed to the query worker
const ORDER_SIGNALS = [ORDER_EVENT_SIGNAL, ORDER_ID_SIGNAL];
import { AgentError } from '../errors.ts';
import { AgentMetrics, reasonClass } from './metrics.ts';

export interface SourceStatus {
  id: string;
  type: SourceType;
  state: SourceState;
  detail: string | undefined;
  since: number;
  lastSampleAt: number | undefined;
  deadLetters: number;
  /** machines this source has delivered samples for (the dashboard's staleness follows its source) */
  machines: Set<string>;
}

/** Something the agent starts before its sources and stops after them (the demo plant). */
export interface Companion {
  stop(): Promise<void>;
}

export interface AgentHooks {
  /** starts the demo plant when simulator.enabled (injected by the CLI, keeps the runtime free of it) */
  startSimulator?: (plant: Plant, log: Logger) => Promise<Companion>;
}

export class Agent implements HealthPort {
  /** the plant model, built once from the config: every part below reads it */
  readonly plant: Plant;
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
  private readonly writer: BatchWriter;
  private readonly drivers: Driver[] = [];
  private readonly status = new Map<string, SourceStatus>();
  private http: HttpServer | undefined;
  private simulator: Companion | undefined;
  private stopped = false;
  /** store-and-forward (null without `upstream`: the agent runs purely local) */
  readonly forwarder: Forwarder | null;
  readonly retention: Retention;

  constructor(
    config: Config,
    private readonly log: Logger,
    private readonly hooks: AgentHooks = {},
  ) {
    const plant = new Plant(config);
    this.plant = plant;
    this.buffer = new SqliteBuffer({ dataDir: plant.dataDir, synchronous: plant.buffer.synchronous, rollupSeries: plant });
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
    });
    this.kpis = new KpiService(plant, this.buffer);
    const budget = { ...HTTP_QUERY_DEFAULTS, ...plant.http.query };
    this.queries = new QueryWorker(config, { deadlineMs: budget.deadlineS * 1000, maxQueued: budget.maxQueued, memoryMb: budget.workerMemoryMb },
      this.log.child({ component: 'queries' }),
      () => this.buffer.rollups.flush(),
      () => this.buffer.samplesOfSignals(ORDER_SIGNALS, [ORDER_EVENT_SIGNAL]),
    );
    this.buffer.onCommit((samples) => this.queries.committed(samples));
    this.metrics = new AgentMetrics({ site: plant.site.id, agent: plant.agentId });
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
          },
          this.log.child({ component: 'forwarder' }),
          {
            kpiSnapshots: () => kpiSnapshots(plant, this.kpis),
            onForwarded: (n) => this.metrics.forwardedSamples.inc(n),
            onState: (st) => this.metrics.upstreamConnected.set(st === 'connected' ? 1 : 0),
          },
        )
      : null;
    // without upstream every committed sample counts as forwarded: the cap is plain retention
    const forwarder = this.forwarder;
    this.retention = new Retention(
      this.buffer,
      forwarder ? () => forwarder.cursor : () => this.buffer.stats().lastId,
      { maxBytes: plant.buffer.maxBytes, retainDays: plant.buffer.retainDays, rollupMinuteDays: plant.buffer.rollupMinuteDays, rollupHourDays: plant.buffer.rollupHourDays },
      this.log.child({ component: 'retention' }),
    );
    this.metrics.bufferStats = () => {
      const h = this.health();
      return { backlog: h.buffer.backlog, bytes: h.buffer.bytes, droppedSamples: h.buffer.droppedSamples };
    };
  }

  async start(): Promise<{ httpPort: number }> {
    const plant = this.plant;
    if (plant.simulator.enabled) {
      if (!this.hooks.startSimulator) throw new AgentError('SFA_ERR_SIMULATOR_START', 'no simulator available in this build');
      this.simulator = await this.hooks.startSimulator(plant, this.log);
    }
    this.retention.start();
    this.forwarder?.start();
    // without any stateMap there is nothing to map: samples pass through as they are
    const normalise = plant.mapsStates ? (s: Sample): Sample => plant.normalise(s) : undefined;
    for (const src of plant.sources) {
      this.log.debug({ source: src.id }, 'starting source');
      this.status.set(src.id, { id: src.id, type: src.type, state: 'connecting', detail: undefined, since: Date.now(), lastSampleAt: undefined, deadLetters: 0, machines: new Set() });
      // drivers are loaded on demand: a plant without OPC UA does not pay for node-opcua
      const driver = await descriptorOf(src.config).create(src.config, { agentId: plant.agentId, dataDir: plant.dataDir });
      this.drivers.push(driver);
      await driver.start(this.contextFor(src.id, normalise));
    }
    // every KPI query needs the order book: read it now, not on the first request after a restart
    this.kpis.prepare();
    await this.queries.start();
    this.log.debug({}, 'starting HTTP');
    this.http = await startHttp({ health: this, kpis: this.kpis, buffer: this.buffer, metrics: this.metrics, plant, log: this.log, queries: this.queries });
    this.log.info({ url: `http://${plant.http.host}:${this.http.port}`, sources: plant.sources.length }, 'agent running');
    return { httpPort: this.http.port };
  }

  /** Stop sources, flush every pending sample, close the database. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.drivers.map((d) => d.stop().catch((err: unknown) => this.log.warn({ err, source: d.id }, 'source did not stop cleanly'))));
    this.writer.flush();
    if (this.http) await this.http.close();
    await this.queries.stop();
    if (this.simulator) await this.simulator.stop();
    await this.forwarder?.stop();
    await this.retention.stop();
    this.buffer.close();
    this.log.info({}, 'agent stopped; all pending samples flushed');
  }

  health(): Health {
    const stats = this.buffer.stats();
    const sources = [...this.status.values()].map((s) => ({
      id: s.id,
      type: s.type,
      state: s.state,
      ...(s.detail ? { detail: s.detail } : {}),
      lastSampleAt: s.lastSampleAt === undefined ? null : new Date(s.lastSampleAt).toISOString(),
      deadLetters: s.deadLetters,
      ...this.problemsOf(s.id),
    }));
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
      },
      upstream: fwd
        ? { state: fwd.state, lastAckAt: fwd.lastAckAt === undefined ? null : new Date(fwd.lastAckAt).toISOString() }
        : { state: 'disabled', lastAckAt: null },
    };
  }

  private problemsOf(sourceId: string): { problems?: TagProblem[] } {
    const driver = this.drivers.find((d) => d.id === sourceId);
    return driver && reportsTagProblems(driver) ? { problems: [...driver.tagProblems()] } : {};
  }

  sourceStatus(): SourceStatus[] {
    return [...this.status.values()];
  }

  /**
   * Binds each series to the source delivering it, the first time this source delivers it (two
   * lookups per sample, no allocation): the Plant resolves a captured series' settings among that
   * source's mappings, and the buffer keeps the binding for readers in other processes.
   */
  private seriesBinder(sourceId: string): { see(machine: string, signal: string): void } {
    // a source naming its series literally needs no binding: its literal mappings win
    if (!this.plant.capturesSeries(sourceId)) return { see: () => undefined };
    const seen = new Map<string, Set<string>>();
    return {
      see: (machine, signal) => {
        let signals = seen.get(machine);
        if (signals === undefined) seen.set(machine, (signals = new Set()));
        if (signals.has(signal)) return;
        signals.add(signal);
        if (this.plant.bindSeries(sourceId, machine, signal)) {
          this.buffer.bindSeriesSource(sourceId, machine, signal);
          this.queries.bindSeries(sourceId, machine, signal);
        }
      },
    };
  }

  private contextFor(sourceId: string, normalise: ((s: Sample) => Sample) | undefined): DriverContext {
    const status = this.status.get(sourceId) as SourceStatus;
    const log = this.log.child({ source: sourceId });
    const stored = this.metrics.samplesStored.labels(sourceId);
    const bound = this.seriesBinder(sourceId);
    const seen = (samples: readonly Sample[]): readonly Sample[] => {
      if (samples.length > 0) {
        status.lastSampleAt = Date.now();
        stored.inc(samples.length);
        // MES order events name machines they do not measure: they say nothing about a tile's freshness
        for (const s of samples) {
          if (s.signal === 'order_event') continue;
          status.machines.add(s.machine);
          bound.see(s.machine, s.signal);
        }
      }
      return normalise ? samples.map(normalise) : samples;
    };
    return {
      log,
      emit: (samples) => this.writer.enqueue(seen(samples)),
      commit: (samples) => {
        try {
          this.writer.commitNow(seen(samples));
        } catch (err) {
          // the source does not acknowledge and redelivers; a full disk makes retention free room
          if ((err as { code?: unknown }).code === 'SQLITE_FULL') this.retention.onDiskFull();
          throw err;
        }
      },
      deadLetter: (l) => {
        status.deadLetters++;
        this.metrics.deadLetters.labels(sourceId, reasonClass(l.reason)).inc();
        this.buffer.deadLetter(l.source, l.topic, l.reason, l.payload);
        if (status.deadLetters === 1 || status.deadLetters % 1000 === 0) {
          log.warn({ topic: l.topic, reason: l.reason, deadLetters: status.deadLetters }, 'payload stored as dead letter');
        }
      },
      setState: (state, detail) => {
        if (status.state === state && status.detail === detail) return;
        const changed = status.state !== state;
        status.state = state;
        status.detail = detail;
        if (changed) {
          status.since = Date.now();
          this.metrics.sourceConnected.labels(sourceId, status.type).set(state === 'connected' ? 1 : 0);
          const level = state === 'error' ? 'error' : state === 'disconnected' ? 'warn' : 'info';
          log[level]({ state, detail }, `source ${state}`);
        }
      },
    };
  }
}
