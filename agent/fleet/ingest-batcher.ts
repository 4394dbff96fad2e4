/**
 * From broker messages to committed transactions. Each message is parsed (zod; a bad one becomes
 * a dead letter with its reason), held with its acknowledgement, and committed with the others
 * of its batch — at `batchRows` sample rows, `maxPending` messages, or `batchMs` after the
 * batch's first message arrived (when messages still wait to be parsed, the batch fills with
 * them first). Only after COMMIT are the batch's messages acknowledged
 * (PUBACK): a crash before it means the broker delivers them again, and the store's keys make
 * the second delivery change nothing. A failed commit (database down) keeps the messages
 * unacknowledged and is retried with backoff; the broker stops sending once `maxPending`
 * messages wait (MQTT 5 Receive Maximum), so memory stays bounded.
 *
 * Messages are parsed in slices of about `PARSE_SLICE_MS` per event-loop turn (`setImmediate`),
 * not in the broker client's callback: a burst of them (a Receive Maximum's worth arrives at
 * once) would otherwise hold the thread for hundreds of ms, and the transaction in progress
 * waits that long for each of its round trips to PostgreSQL, which then sits idle (bench: the
 * first commits of a burst took 3× their steady time with the database CPU at a third).
 */
import { z } from 'zod';
import type { KpiComponents } from '../kpi/index.ts';
import { hoursMessageSchema, parseTopic, plantMessageSchema, reasonOf, type ParsedTopic } from './messages.ts';
import { parseSamplesMessage } from './samples-check.ts';
import { DEAD_LETTER_PAYLOAD_CHARS, type BatchSamples, type CommitResult, type DeadLetter, type FleetStore, type IngestBatch } from './store/index.ts';
import type { FleetMetrics } from './fleet-metrics.ts';

export interface IngestOptions {
  topicPrefix: string;
  batchRows: number;
  batchMs: number;
  maxPending: number;
  maxPayloadBytes: number;
  /** first retry delay after a failed commit, doubled up to `retryMaxMs` */
  retryMs: number;
  retryMaxMs: number;
}

/** parsing gives the event loop back after this much (ms; a message is never cut) */
export const PARSE_SLICE_MS = 1;

export const INGEST_DEFAULTS: Omit<IngestOptions, 'topicPrefix'> = {
  batchRows: 20_000,
  batchMs: 100,
  maxPending: 100,
  maxPayloadBytes: 16 * 1024 * 1024,
  retryMs: 500,
  retryMaxMs: 10_000,
};

export interface IngestLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

interface Parsed {
  apply: (b: IngestBatch) => void;
  rows: number;
  ack: () => void;
}

/** A message held until its batch commits; topic and payload stay for a dead letter. */
interface Entry extends Parsed {
  topic: string;
  payload: Buffer;
  at: number;
}

/** Text PostgreSQL can hold (no U+0000). */
function storable(s: string): string {
  return s.replaceAll('\u0000', '\uFFFD');
}

/** The store refused the data itself (not the connection): retrying the same batch cannot help. */
function isDataError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'SFA_ERR_PAYLOAD';
}

/** A message received and not parsed yet. */
interface Arrived {
  topic: string;
  payload: Buffer;
  ack: () => void;
  /** performance.now() when it was received: its batch commits `batchMs` after that at the latest */
  at: number;
}

export class IngestBatcher {
  private readonly opts: IngestOptions;
  /** received and not parsed yet, in arrival order from `arrivedHead` (parsed in slices, parseNext) */
  private arrived: Arrived[] = [];
  private arrivedHead = 0;
  private parsing: NodeJS.Immediate | undefined;
  private entries: Entry[] = [];
  private rows = 0;
  private timer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  private failures = 0;
  /** after a failed commit, no new attempt before this time (epoch ms) */
  private retryAt = 0;
  /** stop() has begun: nothing starts a commit but stop itself */
  private stopping = false;
  private stopped = false;
  /** the last error of the store, shown in /healthz while commits fail */
  lastError: string | undefined;

  constructor(
    private readonly store: FleetStore,
    options: Partial<IngestOptions> & Pick<IngestOptions, 'topicPrefix'>,
    private readonly hooks: { metrics: FleetMetrics; log: IngestLog; onCommitted: (r: CommitResult) => void },
  ) {
    this.opts = { ...INGEST_DEFAULTS, ...options };
  }

  /** Messages held and not yet acknowledged. */
  get pending(): number {
    return this.entries.length + this.unparsed();
  }

  private unparsed(): number {
    return this.arrived.length - this.arrivedHead;
  }

  /** Takes one message; `ack` is called once its batch is committed. */
  push(topic: string, payload: Buffer, ack: () => void): void {
    this.arrived.push({ topic, payload, ack, at: performance.now() });
    this.hooks.metrics.pending.set(this.pending);
    this.parsing ??= setImmediate(() => this.parseNext());
  }

  /** Parses messages received for about PARSE_SLICE_MS, then gives the event loop back until the next turn. */
  private parseNext(): void {
    this.parsing = undefined;
    if (this.stopping) return;
    const until = performance.now() + PARSE_SLICE_MS;
    do {
      const a = this.arrived[this.arrivedHead];
      if (!a) break;
      this.arrived[this.arrivedHead++] = undefined as unknown as Arrived;
      this.hold(a);
    } while (performance.now() < until);
    // drop the parsed slots when all are parsed, and now and then under a steady backlog (the queue never empties)
    if (this.unparsed() === 0 || (this.arrivedHead >= 1024 && this.arrivedHead * 2 >= this.arrived.length)) {
      this.arrived = this.arrived.slice(this.arrivedHead);
      this.arrivedHead = 0;
    }
    if (this.unparsed() > 0) this.parsing = setImmediate(() => this.parseNext());
  }

  /** Parses every message received (stopping: nothing is left behind). */
  private parseAll(): void {
    if (this.parsing) clearImmediate(this.parsing);
    this.parsing = undefined;
    const all = this.arrived.slice(this.arrivedHead);
    this.arrived = [];
    this.arrivedHead = 0;
    for (const a of all) this.hold(a);
  }

  private hold(a: Arrived): void {
    let parsed: Parsed;
    try {
      parsed = this.parse(a.topic, a.payload, a.ack);
    } catch (err) {
      // a bug, not the message's fault alone: it is kept with the reason, and the rest goes on
      this.hooks.log.error({ err, topic: a.topic }, 'fleet ingest failed on a message; dead-lettered [SFA_ERR_UNEXPECTED]');
      parsed = this.deadEntry(a.topic, a.payload, `the fleet failed on it: ${(err as Error).message}`, a.ack);
    }
    const entry: Entry = { ...parsed, topic: a.topic, payload: a.payload, at: a.at };
    this.entries.push(entry);
    this.rows += entry.rows;
    if (this.rows >= this.opts.batchRows || this.entries.length >= this.opts.maxPending) this.kick(0);
    // with more waiting to be parsed the batch fills first (full, or the last parsed kicks it): a
    // backlog older than batchMs must not cut it into whatever one slice parsed
    else if (this.unparsed() === 0) this.kick(this.dueIn());
  }

  /** ms until the oldest message held is `batchMs` old (0: due now) */
  private dueIn(): number {
    const first = this.entries[0];
    return first ? Math.max(0, Math.ceil(first.at + this.opts.batchMs - performance.now())) : this.opts.batchMs;
  }

  private parse(topic: string, payload: Buffer, ack: () => void): Parsed {
    const t = parseTopic(this.opts.topicPrefix, topic);
    const dead = (reason: string): Parsed => this.deadEntry(topic, payload, reason, ack);
    if (!t) return dead('not a fleet topic');
    this.hooks.metrics.messages.inc({ kind: t.kind });
    // an empty retained message clears the retained one: nothing to store
    if (payload.length === 0) return { apply: () => undefined, rows: 0, ack };
    if (payload.length > this.opts.maxPayloadBytes) return dead(`payload of ${payload.length} bytes is larger than ingest.maxPayloadBytes (${this.opts.maxPayloadBytes})`);
    if (t.kind === 'status') {
      const s = payload.toString('utf8');
      if (s !== 'online' && s !== 'offline') return dead(`status must be "online" or "offline", got ${JSON.stringify(s.slice(0, 40))}`);
      const st = { site: t.site, agent: t.agent, status: s, at: Date.now() } as const;
      return { apply: (b) => b.statuses.push(st), rows: 0, ack };
    }
    const text = payload.toString('utf8');
    // PostgreSQL text cannot hold U+0000: such a message could never be stored
    if (text.includes('\\u0000')) return dead('contains a NUL character (\\u0000), which the store cannot hold');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return dead(`not JSON: ${(err as Error).message}`);
    }
    return this.typed(t, json, dead, ack);
  }

  private deadEntry(topic: string, payload: Buffer, reason: string, ack: () => void): Parsed {
    this.hooks.metrics.deadLetters.inc();
    const d: DeadLetter = { topic: storable(topic.slice(0, 1024)), reason: storable(reason), payload: storable(payload.subarray(0, DEAD_LETTER_PAYLOAD_CHARS).toString('utf8')), at: Date.now() };
    return { apply: (b) => b.deadLetters.push(d), rows: 0, ack };
  }

  private typed(t: ParsedTopic, json: unknown, dead: (reason: string) => Parsed, ack: () => void): Parsed {
    const differs = (m: { site: string; agent: string; machine?: string }): boolean =>
      m.site !== t.site || m.agent !== t.agent || (t.machine !== undefined && m.machine !== t.machine);
    const mismatch = 'site, agent or machine differ from the topic';
    const check = <S extends z.ZodType>(schema: S): z.output<S> | string => {
      const r = schema.safeParse(json);
      if (!r.success) return reasonOf(r.error);
      return differs(r.data as { site: string; agent: string; machine?: string }) ? mismatch : r.data;
    };
    if (t.kind === 'samples') {
      const m = parseSamplesMessage(json);
      if (typeof m === 'string') return dead(m);
      if (differs(m)) return dead(mismatch);
      const rows = m.samples.length;
      let part: BatchSamples = m;
      if (this.store.encodeSamples) {
        try {
          part = this.store.encodeSamples(m);
        } catch (err) {
          if (isDataError(err)) return dead(`the store refused it: ${(err as Error).message}`);
          // not the rows (memory, a bug): the store encodes the parsed message at commit instead
          this.hooks.log.warn({ err }, 'fleet store could not encode samples on arrival; encoded at commit');
        }
      }
      return { apply: (b) => b.samples.push(part), rows, ack };
    }
    if (t.kind === 'hours') {
      const m = check(hoursMessageSchema);
      if (typeof m === 'string') return dead(m);
      const h = { ...m, components: m.components as unknown as KpiComponents };
      return { apply: (b) => b.hours.push(h), rows: 1, ack };
    }
    if (t.kind === 'plant') {
      const m = check(plantMessageSchema);
      if (typeof m === 'string') return dead(m);
      return { apply: (b) => b.plants.push(m), rows: m.machines.length, ack };
    }
    // the fleet does not subscribe to confirm; one arriving is acknowledged and ignored
    return { apply: () => undefined, rows: 0, ack };
  }

  private kick(delayMs: number): void {
    if (this.stopping || this.committing || Date.now() < this.retryAt) return;
    if (delayMs === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.committing = this.commitLoop();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick(0);
    }, delayMs);
  }

  /** Commits batches until nothing waits (or the store fails: then a retry later). */
  private async commitLoop(drain = false): Promise<void> {
    try {
      while (this.entries.length > 0 && !this.stopped) {
        const take = this.takeBatch();
        try {
          await this.commitEntries(take);
        } catch (err) {
          if (!isDataError(err)) {
            this.onFailure(take, err);
            return;
          }
          // one message the store cannot take must not hold back the others: one by one
          const rest = await this.isolate(take);
          if (rest) {
            this.onFailure(rest.entries, rest.err);
            return;
          }
        }
        // a batch still filling waits for its size or its time
        if (!drain && this.rows < this.opts.batchRows && this.entries.length < this.opts.maxPending) break;
      }
    } finally {
      this.committing = undefined;
    }
    // what arrived during the commit waits `batchMs` from its arrival, not from the commit's end
    if (this.entries.length > 0 && this.failures === 0 && this.unparsed() === 0) this.kick(this.dueIn());
  }

  private async commitEntries(take: readonly Entry[]): Promise<void> {
    const b: IngestBatch = { samples: [], hours: [], plants: [], statuses: [], deadLetters: [], at: Date.now() };
    for (const e of take) e.apply(b);
    const end = this.hooks.metrics.commitSeconds.startTimer();
    const r = await this.store.commit(b);
    end();
    if (this.failures > 0) this.hooks.log.info({ after: this.failures }, 'fleet store commits again');
    this.failures = 0;
    this.retryAt = 0;
    this.lastError = undefined;
    const m = this.hooks.metrics;
    m.batches.inc();
    m.rowsStored.inc(r.stored);
    m.duplicates.inc(r.duplicates);
    for (const e of take) e.ack();
    m.pending.set(this.pending);
    this.hooks.onCommitted(r);
  }

  /**
   * Commits each message alone; one the store refuses is dead-lettered with the store's reason.
   * Returns what is left when the store fails for another reason (to be retried).
   */
  private async isolate(take: readonly Entry[]): Promise<{ entries: Entry[]; err: unknown } | undefined> {
    for (let i = 0; i < take.length; i++) {
      const e = take[i] as Entry;
      try {
        await this.commitEntries([e]);
      } catch (err) {
        if (!isDataError(err)) return { entries: take.slice(i), err };
        const reason = `the store refused it: ${(err as Error).message}`;
        this.hooks.log.warn({ topic: e.topic, reason }, 'message dead-lettered [SFA_ERR_PAYLOAD]');
        try {
          await this.commitEntries([{ ...this.deadEntry(e.topic, e.payload, reason, e.ack), topic: e.topic, payload: e.payload, at: e.at }]);
        } catch (err2) {
          return { entries: take.slice(i), err: err2 };
        }
      }
    }
    return undefined;
  }

  private takeBatch(): Entry[] {
    let n = 0;
    let rows = 0;
    while (n < this.entries.length && (n === 0 || rows + (this.entries[n] as Entry).rows <= this.opts.batchRows)) rows += (this.entries[n++] as Entry).rows;
    const take = this.entries.splice(0, n);
    this.rows -= rows;
    return take;
  }

  private onFailure(take: Entry[], err: unknown): void {
    this.entries = take.concat(this.entries);
    for (const e of take) this.rows += e.rows;
    this.failures++;
    this.lastError = (err as Error).message;
    this.hooks.metrics.commitFailures.inc();
    // logged when it starts failing and then rarely: the database being down is state, not news
    if (this.failures === 1 || this.failures % 20 === 0) this.hooks.log.warn({ err, failures: this.failures, pending: this.entries.length }, 'fleet store commit failed; retrying, nothing is acknowledged before it is stored [SFA_ERR_FLEET_STORE]');
    const delay = Math.min(this.opts.retryMaxMs, this.opts.retryMs * 2 ** Math.min(this.failures - 1, 10));
    this.retryAt = Date.now() + delay;
    setTimeout(() => this.kick(0), delay + 1).unref();
  }

  /** Commits what is held (best effort within the caller's timeout) and stops taking batches. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // the loop running now may be followed by none: kick() starts nothing once stopping
    while (this.committing) await this.committing;
    // what was received and not parsed yet is committed too
    this.parseAll();
    if (this.entries.length > 0 && this.failures === 0) {
      this.committing = this.commitLoop(true);
      await this.committing;
    }
    this.stopped = true;
  }
}
