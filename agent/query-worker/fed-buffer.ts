/**
 * The worker's read-only buffer as the KPI service's port, with the agent's commits replayed
 * into it: a read-only connection sees the committed rows (WAL), but no commit happens in it,
 * so the service's cache learns of late data from the digests the agent posts.
 */
import type { SqliteBuffer } from '../buffer/index.ts';
import type { KpiBuffer } from '../kpi-query/index.ts';
import type { Plant } from '../plant/index.ts';
import type { StoredSample } from '../model/index.ts';
import type { CommitDigestMessage, WorkerInit } from './protocol.ts';

export class FedBuffer implements KpiBuffer {
  private readonly listeners: ((samples: readonly StoredSample[]) => void)[] = [];

  constructor(
    private readonly buffer: SqliteBuffer,
    private readonly plant: Pick<Plant, 'bindSeries'>,
    /** the order samples the agent handed over at start: the first read of them is answered from here */
    private initialOrders: WorkerInit['orders'] | undefined,
  ) {}

  /** Applies a digest: bindings first, then new series, then the commits as the cache sees them. */
  apply(d: CommitDigestMessage): void {
    for (const [source, machine, signal] of d.binds) this.plant.bindSeries(source, machine, signal);
    if (d.series.some(([machine, signal]) => !this.buffer.hasSeries(machine, signal))) this.buffer.refreshSeries();
    // one stand-in per series at its earliest time: the cache keys on machine, signal and time only
    const samples: StoredSample[] = d.series.map(([machine, signal, ts]) => ({ id: 0, machine, signal, ts, value: null, quality: 'good' }));
    for (const s of d.orders) samples.push(s);
    if (samples.length === 0) return;
    for (const l of this.listeners) l(samples);
  }

  onCommit(listener: (samples: readonly StoredSample[]) => void): void {
    this.listeners.push(listener);
  }

  machines(): string[] {
    return this.buffer.machines();
  }

  signals(machine: string): string[] {
    return this.buffer.signals(machine);
  }

  latest(machine?: string): ReturnType<SqliteBuffer['latest']> {
    return this.buffer.latest(machine);
  }

  window(...a: Parameters<SqliteBuffer['window']>): ReturnType<SqliteBuffer['window']> {
    return this.buffer.window(...a);
  }

  series(...a: Parameters<SqliteBuffer['series']>): ReturnType<SqliteBuffer['series']> {
    return this.buffer.series(...a);
  }

  hourRollups(...a: Parameters<SqliteBuffer['hourRollups']>): ReturnType<SqliteBuffer['hourRollups']> {
    return this.buffer.hourRollups(...a);
  }

  hourRollupsCompleteUntil(machine: string): number {
    return this.buffer.hourRollupsCompleteUntil(machine);
  }

  samplesOfSignals(...a: Parameters<SqliteBuffer['samplesOfSignals']>): ReturnType<SqliteBuffer['samplesOfSignals']> {
    const given = this.initialOrders;
    this.initialOrders = undefined;
    // the KPI service asks once, for the order signals: those the agent read
    if (given) return given;
    return this.buffer.samplesOfSignals(...a);
  }

  oldestTs(): number | null {
    return this.buffer.oldestTs();
  }
}
