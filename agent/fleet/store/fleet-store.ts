/**
 * The fleet's storage port (DESIGN.md §6 "Fleet"): one transaction per ingest batch, keyed so
 * a batch stored twice changes nothing, with each agent instance's contiguous cursor advanced in
 * the same transaction. Two implementations, PostgreSQL and SQLite (the embedded default), run
 * the same conformance suite (test/conformance/fleet-store.test.ts).
 */
import type { KpiComponents } from '../../kpi/index.ts';
import type { HoursMessage, PlantMessage, SamplesMessage } from '../messages.ts';

export type AgentStatus = 'online' | 'offline';

export interface StatusUpdate {
  site: string;
  agent: string;
  status: AgentStatus;
  /** epoch ms it was received */
  at: number;
}

export interface DeadLetter {
  topic: string;
  reason: string;
  /** the payload as text, cut at `DEAD_LETTER_PAYLOAD_CHARS` */
  payload: string;
  at: number;
}

export const DEAD_LETTER_PAYLOAD_CHARS = 64 * 1024;

/**
 * A samples message a store encoded when it arrived (`FleetStore.encodeSamples`): its chain and
 * who sent it, and its rows already in the store's own form instead of a thousand parsed objects
 * held until the transaction (they died young instead; the commit only writes bytes).
 */
export interface EncodedSamples extends Omit<SamplesMessage, 'samples'> {
  /** the rows as the store writes them (PgStore: binary COPY rows, pg-copy.ts) */
  encoded: Buffer;
  /** how many sample rows `encoded` holds */
  rows: number;
  /** the newest sample's ts (epoch ms) */
  maxTs: number;
}

/** A samples message in a batch: as parsed, or encoded by the store on arrival. */
export type BatchSamples = SamplesMessage | EncodedSamples;

/** Sample rows a batch entry holds. */
export function rowCount(m: BatchSamples): number {
  return 'encoded' in m ? m.rows : m.samples.length;
}

/** The newest sample's ts of a batch entry (epoch ms). */
export function newestTs(m: BatchSamples): number {
  if ('encoded' in m) return m.maxTs;
  let max = 0;
  for (const x of m.samples) if (x.ts > max) max = x.ts;
  return max;
}

/** Everything parsed from the messages of one transaction. */
export interface IngestBatch {
  samples: BatchSamples[];
  hours: HoursMessage[];
  plants: PlantMessage[];
  statuses: StatusUpdate[];
  deadLetters: DeadLetter[];
  /** epoch ms: agents' last_seen */
  at: number;
}

export interface ConfirmedCursor {
  instance: string;
  site: string;
  agent: string;
  /** every id ≤ this of the instance is stored (or was deliberately not sent by the agent) */
  confirmedId: number;
}

export interface CommitResult {
  /** sample rows inserted by this transaction */
  stored: number;
  /** sample rows that were already stored */
  duplicates: number;
  /** the cursor of each instance whose samples this batch carried, after the commit */
  confirmed: ConfirmedCursor[];
}

export interface AgentRecord {
  instance: string;
  site: string;
  agent: string;
  firstSeen: number;
  lastSeen: number;
  status: AgentStatus | null;
  statusAt: number | null;
  confirmedId: number;
  /** the highest sample id stored */
  lastId: number;
  /** the newest sample's ts (epoch ms), null before any */
  lastSampleTs: number | null;
}

export interface HourRecord {
  instance: string;
  site: string;
  agent: string;
  machine: string;
  hourStart: number;
  revision: number;
  components: KpiComponents;
}

export interface MachineRecord {
  site: string;
  agent: string;
  id: string;
  name: string | null;
  line: string | null;
  product: string | null;
  idealCycleTimeS: number | null;
}

export interface SiteRecord {
  id: string;
  name: string | null;
  timezone: string | null;
}

export interface UnitsRecord {
  site: string;
  agent: string;
  machine: string;
  /** Σ units_total; null when any hour of the machine had no counter */
  unitsTotal: number | null;
}

export interface FleetStore {
  readonly kind: 'postgres' | 'sqlite';
  /**
   * Encodes a checked samples message for `commit` as it arrives (a store without it takes the
   * parsed message). Throws an `SFA_ERR_PAYLOAD` AgentError for rows the store can never hold.
   */
  encodeSamples?(m: SamplesMessage): EncodedSamples;
  commit(batch: IngestBatch): Promise<CommitResult>;
  agents(): Promise<AgentRecord[]>;
  /** an instance's contiguous cursor as committed now (null: unknown instance) */
  confirmedId(instance: string): Promise<number | null>;
  /** hours with `from ≤ hourStart < to`, at most `limit` */
  hours(from: number, to: number, limit?: number): Promise<HourRecord[]>;
  /** Σ units per machine over every hour before `to` (cumulative product-line volume) */
  unitsUntil(to: number): Promise<UnitsRecord[]>;
  /** the first hour stored, null when none */
  oldestHour(): Promise<number | null>;
  machines(): Promise<MachineRecord[]>;
  sites(): Promise<SiteRecord[]>;
  /** samples stored for an instance (tests and the API's counts) */
  sampleCount(instance?: string): Promise<number>;
  deadLetters(limit: number): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

/** A batch's id range as the agent chained it (notes/fleet-protocol.md §2). */
export interface BatchRange {
  prevLastId: number;
  lastId: number;
}

/**
 * The contiguous cursor C passes every range with `prevLastId ≤ C` (then C = max(C, lastId)),
 * again and again over ranges held back before; a range with `prevLastId > C` is a gap. Ranges
 * sorted by prevLastId need one pass: once one is a gap, every later one is too.
 */
export function advanceCursor(c: number, sortedRanges: readonly BatchRange[]): number {
  let cur = c;
  for (const r of sortedRanges) {
    if (r.prevLastId > cur) break;
    if (r.lastId > cur) cur = r.lastId;
  }
  return cur;
}

/** The instances a batch touches, sorted: rows are locked in this order so two fleet processes never deadlock. */
export function instancesOf(batch: IngestBatch): Map<string, { site: string; agent: string }> {
  const all = new Map<string, { site: string; agent: string }>();
  for (const m of [...batch.samples, ...batch.hours, ...batch.plants]) if (!all.has(m.instance)) all.set(m.instance, { site: m.site, agent: m.agent });
  return new Map([...all].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/** The highest revision of each (instance, machine, hour) in a batch (one upsert per key). */
export function latestHours(hours: readonly HoursMessage[]): HoursMessage[] {
  const best = new Map<string, HoursMessage>();
  for (const h of hours) {
    const k = `${h.instance}\u0000${h.machine}\u0000${h.hourStart}`;
    const cur = best.get(k);
    if (!cur || cur.revision < h.revision) best.set(k, h);
  }
  return [...best.values()];
}

/** A sample value in its columns: numbers (booleans as 1/0) in `value`, text in `text_value`. */
export function valueColumns(v: number | string | boolean | null): [number | null, string | null] {
  if (typeof v === 'number') return [Number.isFinite(v) ? v : null, null];
  if (typeof v === 'boolean') return [v ? 1 : 0, null];
  if (typeof v === 'string') return [null, v];
  return [null, null];
}

/** kpi_hours' columns beside the JSON: the additive figures Grafana and SQL users sum. */
export const HOUR_COLUMNS = [
  ['window_s', 'windowS'],
  ['planned_s', 'plannedS'],
  ['running_s', 'runningS'],
  ['idle_s', 'idleS'],
  ['down_s', 'downS'],
  ['planned_stop_s', 'plannedStopS'],
  ['unknown_s', 'unknownS'],
  ['unscheduled_s', 'unscheduledS'],
  ['energy_kwh', 'energyKwh'],
  ['units_total', 'unitsTotal'],
  ['units_good', 'unitsGood'],
  ['units_scrap', 'unitsScrap'],
  ['ideal_s', 'idealS'],
  ['qa_inspected', 'qaInspected'],
  ['qa_rejected', 'qaRejected'],
  ['qa_escaped', 'qaEscaped'],
  ['qa_false_reject', 'qaFalseReject'],
  ['energy_cost', 'energyCost'],
  ['co2e_kg', 'co2eKg'],
  ['orders', 'orders'],
  ['lead_time_sum_s', 'leadTimeSumS'],
] as const satisfies readonly (readonly [string, keyof KpiComponents])[];
