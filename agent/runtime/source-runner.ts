/**
 * The agent's sources: each source's driver, its status (state, last sample, dead letters, the
 * machines it feeds) and its input boundary (DESIGN.md §2), and the context a driver gets to hand
 * samples to the buffer through that boundary. The agent starts and stops sources through here,
 * at start-up and when a reload adds, removes or changes one.
 */
import { reportsTagProblems, type DeadLetter, type Driver, type DriverContext, type SourceState, type TagProblem } from '../../drivers/driver.ts';
import { descriptorOf, type SourceType } from '../../drivers/registry.ts';
import type { BatchWriter, Retention, SqliteBuffer } from '../buffer/index.ts';
import { SourceBoundary, type Plant, type PlantSource } from '../plant/index.ts';
import type { Sample } from '../model/index.ts';
import type { QueryWorker } from '../query-worker/index.ts';
import { deadLetterOf } from './rejected-sample.ts';
import type { Logger } from './logger.ts';
import { reasonClass, type AgentMetrics } from './metrics.ts';
import type { Supervisor } from './supervisor.ts';

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

/** A source as /healthz shows it. */
export interface SourceHealth {
  id: string;
  type: SourceType;
  state: SourceState;
  detail?: string;
  lastSampleAt: string | null;
  deadLetters: number;
  seriesCapped: number;
  problems?: TagProblem[];
}

export interface SourceRunnerParts {
  /** the Plant view every part reads (a reload swaps what it reads) */
  plant: Plant;
  /** the Plant now, for the state decoders of sources a reload leaves running */
  current: () => Plant;
  buffer: SqliteBuffer;
  writer: BatchWriter;
  retention: Retention;
  queries: QueryWorker;
  metrics: AgentMetrics;
  supervisor: Supervisor;
  log: Logger;
}

export class SourceRunner {
  private readonly drivers: Driver[] = [];
  private readonly status = new Map<string, SourceStatus>();
  /** the input boundary of each source */
  private readonly boundaries = new Map<string, SourceBoundary>();

  constructor(private readonly p: SourceRunnerParts) {}

  async start(src: PlantSource): Promise<void> {
    const { plant, log, supervisor } = this.p;
    log.debug({ source: src.id }, 'starting source');
    this.status.set(src.id, { id: src.id, type: src.type, state: 'connecting', detail: undefined, since: Date.now(), lastSampleAt: undefined, deadLetters: 0, machines: new Set() });
    // drivers are loaded on demand: a plant without OPC UA does not pay for node-opcua
    const driver = await descriptorOf(src.config).create(src.config, { agentId: plant.agentId, dataDir: plant.dataDir });
    this.drivers.push(driver);
    const ctx = this.contextFor(src.id);
    await supervisor.start({ name: `source ${src.id}`, start: () => driver.start(ctx), stop: () => driver.stop() });
  }

  async stop(id: string): Promise<void> {
    const i = this.drivers.findIndex((d) => d.id === id);
    const driver = this.drivers[i];
    this.p.supervisor.forget(`source ${id}`);
    this.boundaries.delete(id);
    if (driver) {
      this.drivers.splice(i, 1);
      await driver.stop().catch((err: unknown) => this.p.log.warn({ err, source: id }, 'source did not stop cleanly'));
    }
    const st = this.status.get(id);
    if (st) this.p.metrics.sourceConnected.remove(id, st.type);
    this.status.delete(id);
  }

  /** Stops every driver (shutdown: the supervisor has already stopped restarting them). */
  async stopAll(): Promise<void> {
    await Promise.all(this.drivers.map((d) => d.stop().catch((err: unknown) => this.p.log.warn({ err, source: d.id }, 'source did not stop cleanly'))));
  }

  list(): SourceStatus[] {
    return [...this.status.values()];
  }

  health(): SourceHealth[] {
    return this.list().map((s) => ({
      id: s.id,
      type: s.type,
      state: s.state,
      ...(s.detail ? { detail: s.detail } : {}),
      lastSampleAt: s.lastSampleAt === undefined ? null : new Date(s.lastSampleAt).toISOString(),
      deadLetters: s.deadLetters,
      seriesCapped: this.boundaries.get(s.id)?.seriesCapped ?? 0,
      ...this.problemsOf(s.id),
    }));
  }

  private problemsOf(sourceId: string): { problems?: TagProblem[] } {
    const driver = this.drivers.find((d) => d.id === sourceId);
    return driver && reportsTagProblems(driver) ? { problems: [...driver.tagProblems()] } : {};
  }

  /**
   * The source's input boundary. A series it admits for the first time is bound to the source
   * (the Plant resolves a captured series' settings among that source's mappings, and the buffer
   * keeps the binding for readers in other processes); series bound in earlier runs count
   * against the source's cap.
   */
  private boundaryFor(sourceId: string, status: SourceStatus, bindings: readonly { source: string; machine: string; signal: string }[]): SourceBoundary {
    const { plant, queries, buffer, log } = this.p;
    // a source naming its series literally needs no binding: its literal mappings win
    const captures = plant.capturesSeries(sourceId);
    const boundary = new SourceBoundary(plant.inputPolicy(sourceId), (machine, signal) => {
      // MES order events name machines they do not measure: they say nothing about a tile's freshness
      if (signal === 'order_event') return;
      status.machines.add(machine);
      if (captures && plant.bindSeries(sourceId, machine, signal)) {
        queries.bindSeries(sourceId, machine, signal);
        try {
          buffer.bindSeriesSource(sourceId, machine, signal);
        } catch (err) {
          // the sample goes on to the writer (which keeps and retries it); this run keeps the
          // binding in the Plant, only readers in other processes resolve the series without it
          log.warn({ err, source: sourceId, machine, signal }, 'series binding not stored');
        }
      }
    });
    for (const b of bindings) if (b.source === sourceId) boundary.seed(b.machine, b.signal);
    this.boundaries.set(sourceId, boundary);
    return boundary;
  }

  private contextFor(sourceId: string): DriverContext {
    const { buffer, metrics, writer, retention } = this.p;
    const status = this.status.get(sourceId) as SourceStatus;
    const log = this.p.log.child({ source: sourceId });
    const stored = metrics.samplesStored.labels(sourceId);
    const deadLetter = (l: DeadLetter): void => {
      status.deadLetters++;
      metrics.deadLetters.labels(sourceId, reasonClass(l.reason)).inc();
      buffer.deadLetter(l.source, l.topic, l.reason, l.payload);
      if (status.deadLetters === 1 || status.deadLetters % 1000 === 0) {
        log.warn({ topic: l.topic.slice(0, 256), reason: l.reason.slice(0, 512), deadLetters: status.deadLetters }, 'payload stored as dead letter');
      }
    };
    const boundary = this.boundaryFor(sourceId, status, buffer.seriesSources());
    const reject = (s: Sample, reason: string): void => deadLetter(deadLetterOf(sourceId, s, reason));
    const seen = (samples: readonly Sample[]): readonly Sample[] => {
      if (samples.length === 0) return samples;
      const now = Date.now();
      const admitted = boundary.admit(samples, now, reject);
      if (admitted.length > 0) {
        status.lastSampleAt = now;
        stored.inc(admitted.length);
      }
      // the current Plant's state decoders (a reload's new stateMaps apply to sources it leaves
      // running); without any stateMap there is nothing to map and samples pass as they are
      const current = this.p.current();
      return current.mapsStates ? admitted.map((x) => current.normalise(x)) : admitted;
    };
    return {
      log,
      emit: (samples) => writer.enqueue(seen(samples)),
      commit: (samples) => {
        try {
          writer.commitNow(seen(samples));
        } catch (err) {
          // the source does not acknowledge and redelivers; a full disk makes retention free room
          if ((err as { code?: unknown }).code === 'SQLITE_FULL') retention.onDiskFull();
          throw err;
        }
      },
      deadLetter,
      setState: (state, detail) => {
        if (status.state === state && status.detail === detail) return;
        const changed = status.state !== state;
        status.state = state;
        status.detail = detail;
        if (changed) {
          status.since = Date.now();
          metrics.sourceConnected.labels(sourceId, status.type).set(state === 'connected' ? 1 : 0);
          const level = state === 'error' ? 'error' : state === 'disconnected' ? 'warn' : 'info';
          log[level]({ state, detail }, `source ${state}`);
        }
      },
    };
  }
}
