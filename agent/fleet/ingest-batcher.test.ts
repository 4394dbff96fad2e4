/**
 * The batcher over a real SQLite store: a message is acknowledged only after the transaction
 * holding it has committed; a failing store acknowledges nothing and is retried; oversized and
 * hostile payloads become dead letters; batches respect batchRows; a burst is parsed in slices
 * of about a millisecond per event-loop turn; stopping commits everything received, also what was
 * not parsed yet or waits behind a commit in progress; a failure inside the fleet dead-letters
 * the one message and the rest goes on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { samplesMessage } from '../../test/helpers/fleet-messages.ts';
import { waitFor } from '../../test/helpers/index.ts';
import { FleetMetrics } from './fleet-metrics.ts';
import { IngestBatcher } from './ingest-batcher.ts';
import { AgentError } from '../errors.ts';
import { rowCount, SqliteStore, type CommitResult, type FleetStore, type IngestBatch } from './store/index.ts';

const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const P = 'up';

let dir: string;
let store: SqliteStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sfa-fleet-batcher-'));
  store = SqliteStore.open(dir);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function msg(prev: number, first: number, last: number): Buffer {
  return Buffer.from(JSON.stringify(samplesMessage({ instance: 'i', prevLastId: prev, firstId: first, lastId: last })));
}

/** A store whose commits fail while `failing` is true. */
function flaky(inner: FleetStore): FleetStore & { failing: boolean; commits: IngestBatch[] } {
  const f = Object.create(inner) as FleetStore & { failing: boolean; commits: IngestBatch[] };
  f.failing = true;
  f.commits = [];
  f.commit = async (b: IngestBatch): Promise<CommitResult> => {
    if (f.failing) throw new Error('connection refused');
    f.commits.push(b);
    return inner.commit(b);
  };
  return f;
}

describe('IngestBatcher', () => {
  it('acknowledges nothing while the store fails, and everything once it commits', async () => {
    const s = flaky(store);
    const results: CommitResult[] = [];
    const b = new IngestBatcher(s, { topicPrefix: P, batchMs: 5, retryMs: 20, retryMaxMs: 40 }, { metrics: new FleetMetrics({ fleet: 't' }), log, onCommitted: (r) => results.push(r) });
    const acked: number[] = [];
    b.push(`${P}/site-a/edge-1/samples`, msg(0, 1, 10), () => acked.push(1));
    b.push(`${P}/site-a/edge-1/samples`, msg(10, 11, 20), () => acked.push(2));
    await new Promise((r) => setTimeout(r, 150));
    expect(acked).toEqual([]);
    expect(b.pending).toBe(2);
    expect(b.lastError).toBe('connection refused');
    s.failing = false;
    await waitFor(() => acked.length === 2, 2000, 'both acknowledged');
    expect(acked).toEqual([1, 2]);
    expect(await store.sampleCount()).toBe(20);
    expect(results.at(-1)?.confirmed[0]?.confirmedId).toBe(20);
    expect(b.lastError).toBeUndefined();
    await b.stop();
  });

  it('cuts batches at batchRows and acknowledges each after its own commit', async () => {
    const s = flaky(store);
    s.failing = false;
    const b = new IngestBatcher(s, { topicPrefix: P, batchMs: 1000, batchRows: 25 }, { metrics: new FleetMetrics({ fleet: 't' }), log, onCommitted: () => undefined });
    const acked: number[] = [];
    for (let i = 0; i < 6; i++) b.push(`${P}/site-a/edge-1/samples`, msg(i * 10, i * 10 + 1, (i + 1) * 10), () => acked.push(i));
    await waitFor(() => acked.length === 6, 3000, 'all acknowledged');
    expect(s.commits.map((c) => c.samples.reduce((n, m) => n + rowCount(m), 0)).every((n) => n <= 30)).toBe(true);
    expect(s.commits.length).toBeGreaterThanOrEqual(2);
    await b.stop();
  });

  it('dead-letters what it cannot use, acknowledges it, and stores the rest', async () => {
    const metrics = new FleetMetrics({ fleet: 't' });
    const b = new IngestBatcher(store, { topicPrefix: P, batchMs: 5, maxPayloadBytes: 2048 }, { metrics, log, onCommitted: () => undefined });
    let acks = 0;
    const ack = (): void => void acks++;
    b.push(`${P}/site-a/edge-1/samples`, Buffer.alloc(4096, 0x20), ack);
    b.push(`${P}/site-a/edge-1/samples`, Buffer.from('[1,2'), ack);
    b.push(`${P}/site-a/edge-1/samples`, Buffer.from('{"__proto__":{"x":1},"agent":"edge-1"}'), ack);
    b.push(`elsewhere/site-a/edge-1/samples`, msg(0, 1, 2), ack);
    const twice = samplesMessage({ instance: 'i', prevLastId: 0, firstId: 1, lastId: 2 });
    b.push(`${P}/site-a/edge-1/samples`, Buffer.from(JSON.stringify({ ...twice, samples: [twice.samples[0], twice.samples[0], twice.samples[1]] })), ack);
    b.push(`${P}/site-a/edge-1/status`, Buffer.alloc(0), ack);
    b.push(`${P}/site-a/edge-1/samples`, msg(0, 1, 2), ack);
    await waitFor(() => acks === 7, 2000, 'all acknowledged');
    const dead = (await store.deadLetters(10)).map((d) => d.reason).reverse();
    expect(dead).toHaveLength(5);
    expect(dead[0]).toMatch(/larger than ingest.maxPayloadBytes/);
    expect(dead[1]).toMatch(/not JSON/);
    expect(dead[3]).toBe('not a fleet topic');
    expect(dead[4]).toMatch(/sample ids must increase \(1 after 1\)/);
    expect(await store.sampleCount()).toBe(2);
    expect((await metrics.deadLetters.get()).values[0]?.value).toBe(5);
    await b.stop();
  });

  it('dead-letters a message the store refuses and commits the others of its batch', async () => {
    const s = flaky(store);
    s.failing = false;
    const inner = s.commit;
    s.commit = async (b) => {
      if (b.samples.some((m) => m.instance === 'poison')) throw new AgentError('SFA_ERR_PAYLOAD', 'value out of range (SQLSTATE 22003)');
      return inner(b);
    };
    const b = new IngestBatcher(s, { topicPrefix: P, batchMs: 50 }, { metrics: new FleetMetrics({ fleet: 't' }), log, onCommitted: () => undefined });
    let acks = 0;
    const poison = Buffer.from(JSON.stringify(samplesMessage({ instance: 'poison', prevLastId: 0, firstId: 1, lastId: 5 })));
    b.push(`${P}/site-a/edge-1/samples`, msg(0, 1, 10), () => void acks++);
    b.push(`${P}/site-a/edge-1/samples`, poison, () => void acks++);
    b.push(`${P}/site-a/edge-1/samples`, msg(10, 11, 20), () => void acks++);
    await waitFor(() => acks === 3, 2000, 'all three acknowledged');
    expect(await store.sampleCount()).toBe(20);
    const [d] = await store.deadLetters(10);
    expect(d?.reason).toMatch(/the store refused it: value out of range/);
    expect(JSON.parse(d?.payload ?? '{}')).toMatchObject({ instance: 'poison' });
    expect(b.lastError).toBeUndefined();
    await b.stop();
  });

  it('parses a burst in slices of about PARSE_SLICE_MS per event-loop turn, so other I/O runs between them', async () => {
    const metrics = new FleetMetrics({ fleet: 't' });
    const b = new IngestBatcher(store, { topicPrefix: P, batchMs: 5 }, { metrics, log, onCommitted: () => undefined });
    const parsed = async (): Promise<number> => (await metrics.messages.get()).values.reduce((n, v) => n + v.value, 0);
    let acks = 0;
    // 20 messages of 1000 samples: tens of ms to parse in all, on any machine
    for (let i = 0; i < 20; i++) b.push(`${P}/site-a/edge-1/samples`, msg(i * 1000, i * 1000 + 1, (i + 1) * 1000), () => void acks++);
    // held (and counted as pending) at once, parsed later
    expect(b.pending).toBe(20);
    expect(await parsed()).toBe(0);
    // an I/O callback waiting behind the burst (a database answer) runs after a slice, not after all of it
    await new Promise((r) => setImmediate(r));
    const afterOneTurn = await parsed();
    expect(afterOneTurn).toBeGreaterThanOrEqual(1);
    expect(afterOneTurn).toBeLessThan(20);
    await waitFor(() => acks === 20, 5000, 'all acknowledged');
    expect((await store.agents())[0]).toMatchObject({ confirmedId: 20_000 });
    await b.stop();
  });

  it('commits what arrived during a long commit batchMs after its arrival, not batchMs after that commit', async () => {
    const s = flaky(store);
    s.failing = false;
    const inner = s.commit;
    const spans: { start: number; end: number }[] = [];
    s.commit = async (b) => {
      const start = performance.now();
      await new Promise((r) => setTimeout(r, 800));
      const r = await inner(b);
      spans.push({ start, end: performance.now() });
      return r;
    };
    const b = new IngestBatcher(s, { topicPrefix: P, batchMs: 1000, batchRows: 10 }, { metrics: new FleetMetrics({ fleet: 't' }), log, onCommitted: () => undefined });
    let acks = 0;
    // a full batch commits at once; the next message arrives while it commits
    b.push(`${P}/site-a/edge-1/samples`, msg(0, 1, 10), () => void acks++);
    await new Promise((r) => setTimeout(r, 50));
    const second = performance.now();
    b.push(`${P}/site-a/edge-1/samples`, msg(10, 11, 15), () => void acks++);
    await waitFor(() => acks === 2, 5000, 'both acknowledged');
    expect(spans).toHaveLength(2);
    // due at second + 1000; before, it waited 1000 ms from the first commit's end (≥ second + 1750)
    expect((spans[1] as { start: number }).start - second).toBeLessThan(1400);
    // a timer may fire a few ms early by performance.now()
    expect((spans[1] as { start: number }).start - second).toBeGreaterThanOrEqual(900);
    await b.stop();
  });

  it('stop() commits what was received and not parsed yet', async () => {
    const b = new IngestBatcher(store, { topicPrefix: P, batchMs: 10_000 }, { metrics: new FleetMetrics({ fleet: 't' }), log, onCommitted: () => undefined });
    let acks = 0;
    for (let i = 0; i < 5; i++) b.push(`${P}/site-a/edge-1/samples`, msg(i * 10, i * 10 + 1, (i + 1) * 10), () => void acks++);
    await b.stop();
    expect(acks).toBe(5);
    expect(await store.sampleCount()).toBe(50);
  });

  it('stop() waits for the commit in progress and commits everything after it, acknowledging all before it returns', async () => {
    const s = flaky(store);
    s.failing = false;
    const inner = s.commit;
    let inFlight = 0;
    s.commit = async (b) => {
      inFlight++;
      await new Promise((r) => setTimeout(r, 150));
      try {
        return await inner(b);
      } finally {
        inFlight--;
      }
    };
    const b = new IngestBatcher(s, { topicPrefix: P, batchMs: 100, batchRows: 10 }, { metrics: new FleetMetrics({ fleet: 't' }), log, onCommitted: () => undefined });
    let acks = 0;
    b.push(`${P}/site-a/edge-1/samples`, msg(0, 1, 10), () => void acks++);
    b.push(`${P}/site-a/edge-1/samples`, msg(10, 11, 20), () => void acks++);
    // a partial batch, already due when the first commits end
    b.push(`${P}/site-a/edge-1/samples`, msg(20, 21, 25), () => void acks++);
    // stopped before any was parsed: stop's own parse starts the first commit loop, which is
    // followed by another for the partial batch
    await b.stop();
    expect(inFlight).toBe(0);
    expect(acks).toBe(3);
    expect(await store.sampleCount()).toBe(25);
  });

  it('dead-letters a message the fleet itself fails on (a bug), and goes on with the rest', async () => {
    const metrics = new FleetMetrics({ fleet: 't' });
    const count = metrics.messages.inc.bind(metrics.messages);
    let calls = 0;
    metrics.messages.inc = ((...args: Parameters<typeof count>) => {
      if (++calls === 2) throw new Error('boom');
      count(...args);
    }) as typeof metrics.messages.inc;
    const b = new IngestBatcher(store, { topicPrefix: P, batchMs: 5 }, { metrics, log, onCommitted: () => undefined });
    let acks = 0;
    for (let i = 0; i < 3; i++) b.push(`${P}/site-a/edge-1/samples`, msg(i * 10, i * 10 + 1, (i + 1) * 10), () => void acks++);
    await waitFor(() => acks === 3, 3000, 'all acknowledged');
    expect((await store.deadLetters(10)).map((d) => d.reason)).toEqual(['the fleet failed on it: boom']);
    expect(await store.sampleCount()).toBe(20);
    await b.stop();
  });

  it('stores the parsed message when the store cannot encode it on arrival for another reason than its rows', async () => {
    const s = Object.create(store) as FleetStore;
    s.encodeSamples = () => {
      throw new RangeError('Array buffer allocation failed');
    };
    const b = new IngestBatcher(s, { topicPrefix: P, batchMs: 5 }, { metrics: new FleetMetrics({ fleet: 't' }), log, onCommitted: () => undefined });
    let acks = 0;
    b.push(`${P}/site-a/edge-1/samples`, msg(0, 1, 10), () => void acks++);
    await waitFor(() => acks === 1, 3000, 'acknowledged');
    expect(await store.sampleCount()).toBe(10);
    expect(await store.deadLetters(10)).toEqual([]);
    await b.stop();
  });

  it('keeps the queue of unparsed messages compact under a standing backlog', async () => {
    const b = new IngestBatcher(store, { topicPrefix: P, batchMs: 5, maxPending: 100_000, batchRows: 100_000 }, { metrics: new FleetMetrics({ fleet: 't' }), log, onCommitted: () => undefined });
    const queue = (): { length: number } => (b as unknown as { arrived: unknown[] }).arrived;
    let acks = 0;
    for (let i = 0; i < 3000; i++) b.push(`${P}/site-a/edge-1/samples`, msg(i, i + 1, i + 1), () => void acks++);
    while (b.pending - (b as unknown as { entries: unknown[] }).entries.length > 1000) await new Promise((r) => setImmediate(r));
    // without compaction the array keeps a slot for every message received since it was last empty (3000)
    expect(queue().length).toBeLessThan(2000);
    await waitFor(() => acks === 3000, 10_000, 'all acknowledged');
    expect(await store.sampleCount()).toBe(3000);
    await b.stop();
  });

  it('stores samples of an agent from before the fleet protocol (no instance, no prevLastId)', async () => {
    const b = new IngestBatcher(store, { topicPrefix: P, batchMs: 5 }, { metrics: new FleetMetrics({ fleet: 't' }), log, onCommitted: () => undefined });
    let acks = 0;
    for (const [first, last] of [[1, 10], [11, 20]] as const) {
      const { instance: _i, prevLastId: _p, ...legacy } = samplesMessage({ instance: 'x', prevLastId: 0, firstId: first, lastId: last });
      b.push(`${P}/site-a/edge-1/samples`, Buffer.from(JSON.stringify(legacy)), () => void acks++);
    }
    await waitFor(() => acks === 2, 2000, 'acknowledged');
    expect((await store.agents())[0]).toMatchObject({ instance: 'legacy:site-a/edge-1', confirmedId: 20 });
    await b.stop();
  });
});
