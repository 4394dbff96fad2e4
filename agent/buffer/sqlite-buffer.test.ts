import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { BatchWriter, SqliteBuffer, SCHEMA_VERSION } from './index.ts';
import type { Sample } from '../model/index.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sfa-buffer-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const s = (ts: number, value: Sample['value'], signal = 'parts_total', machine = 'm1', quality: Sample['quality'] = 'good'): Sample => ({
  machine,
  signal,
  ts,
  value,
  quality,
});

describe('SqliteBuffer', () => {
  it('opens in WAL mode with the current schema version', () => {
    const b = new SqliteBuffer({ dataDir: join(dir, 'nested', 'data') });
    b.close();
    const db = new Database(join(dir, 'nested', 'data', 'buffer.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('gives monotonically increasing ids that never go back, even after rows are deleted', () => {
    const b = new SqliteBuffer({ dataDir: dir });
    const first = b.commit([s(1, 1), s(2, 2), s(3, 3)]);
    expect(first.map((x) => x.id)).toEqual([1, 2, 3]);
    expect(b.deleteUpTo(3)).toBe(3);
    expect(b.stats().samples).toBe(0);
    b.close();
    const b2 = new SqliteBuffer({ dataDir: dir });
    const next = b2.commit([s(4, 4)]);
    expect(next[0]?.id).toBe(4);
    b2.close();
  });

  it('round-trips values and qualities, and answers window queries with baselines', () => {
    const b = new SqliteBuffer({ dataDir: dir });
    b.commit([
      s(100, 10),
      s(150, null, 'parts_total', 'm1', 'bad'),
      s(200, 12),
      s(300, 15),
      s(120, 'running', 'state'),
      s(250, true, 'door_open'),
      s(210, 99, 'parts_total', 'm2'),
    ]);
    const w = b.machineWindow('m1', 160, 400);
    const parts = w.filter((x) => x.signal === 'parts_total').map((x) => [x.ts, x.value, x.quality]);
    // baseline: the last sample before 160 is bad, so the last good one comes too
    expect(parts).toEqual([
      [100, 10, 'good'],
      [150, null, 'bad'],
      [200, 12, 'good'],
      [300, 15, 'good'],
    ]);
    expect(w.filter((x) => x.signal === 'state').map((x) => x.value)).toEqual(['running']);
    expect(w.find((x) => x.signal === 'door_open')?.value).toBe(1);
    expect(w.every((x) => x.machine === 'm1')).toBe(true);
    b.close();
  });

  it('keeps the latest value per series and when it last changed, across restarts', () => {
    const b = new SqliteBuffer({ dataDir: dir });
    b.commit([s(100, 'idle', 'state'), s(200, 'running', 'state'), s(300, 'running', 'state'), s(250, 'down', 'state')]);
    const latest = b.latest('m1').find((l) => l.signal === 'state');
    expect(latest).toMatchObject({ value: 'running', ts: 300, since: 200 });
    b.close();
    const b2 = new SqliteBuffer({ dataDir: dir });
    // from disk, ordered by ts: idle@100, running@200, down@250, running@300 → running since 300
    expect(b2.latest('m1').find((l) => l.signal === 'state')).toMatchObject({ value: 'running', ts: 300, since: 300 });
    b2.close();
  });

  it('keeps a latest value that changes between number, text, boolean and null, and when it last changed', () => {
    const b = new SqliteBuffer({ dataDir: dir });
    const steps: [Sample, { value: Sample['value']; since: number; quality?: Sample['quality'] }][] = [
      [s(100, 7, 'mode'), { value: 7, since: 100 }],
      [s(110, 7, 'mode'), { value: 7, since: 100 }],
      [s(120, 'setup', 'mode'), { value: 'setup', since: 120 }],
      [s(130, 'setup', 'mode'), { value: 'setup', since: 120 }],
      [s(140, null, 'mode', 'm1', 'bad'), { value: null, since: 140, quality: 'bad' }],
      [s(150, 0, 'mode'), { value: 0, since: 150 }],
      [s(160, 0, 'mode', 'm1', 'uncertain'), { value: 0, since: 160, quality: 'uncertain' }],
      [s(170, true, 'mode'), { value: true, since: 170 }],
      [s(180, 2.5, 'mode'), { value: 2.5, since: 180 }],
      [s(175, 9, 'mode'), { value: 2.5, since: 180 }], // late: "now" stays
    ];
    for (const [sample, want] of steps) {
      b.commit([sample]);
      expect(b.latest('m1')).toEqual([{ machine: 'm1', signal: 'mode', ts: Math.max(sample.ts, want.since), value: want.value, quality: want.quality ?? 'good', since: want.since }]);
    }
    b.close();
  });

  it('restores the latest value and "since" from the rollups after a restart, as raw rows say (many minutes, qualities, late samples)', () => {
    let run = 0;
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.oneof(fc.integer({ min: 0, max: 5 * 60_000 }), fc.constantFrom(0, 59_999, 60_000, 61_000)), v: fc.constantFrom('running', 'idle', 'down'), q: fc.constantFrom<Sample['quality']>('good', 'good', 'good', 'bad') }), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (steps, readonly) => {
          const d = join(dir, String(run++));
          const samples = steps.map((x) => s(1_000_000 + x.dt, x.q === 'bad' ? null : x.v, 'state', 'm1', x.q));
          const b = new SqliteBuffer({ dataDir: d });
          for (let i = 0; i < samples.length; i += 7) b.commit(samples.slice(i, i + 7));
          const live = b.latest('m1')[0];
          b.close();
          // the reference, from the raw rows in (ts, id) order: the last run of equal value and quality
          const ordered = samples.map((x, id) => ({ ...x, id })).sort((a, c) => a.ts - c.ts || a.id - c.id);
          const last = ordered[ordered.length - 1] as Sample;
          let i = ordered.length - 1;
          while (i > 0 && ordered[i - 1]?.value === last.value && ordered[i - 1]?.quality === last.quality) i--;
          const b2 = new SqliteBuffer({ dataDir: d, readonly });
          expect(b2.latest('m1')).toEqual([{ machine: 'm1', signal: 'state', ts: last.ts, value: last.value, quality: last.quality, since: ordered[i]?.ts }]);
          b2.close();
          expect(live).toMatchObject({ value: last.value, quality: last.quality, ts: last.ts });
        },
      ),
      { numRuns: Number(process.env.SFA_PROP_RUNS ?? 150) },
    );
  });

  it('downsamples series: mean of gauges, last value of counters', () => {
    const b = new SqliteBuffer({ dataDir: dir });
    b.commit([s(0, 1, 'temp'), s(500, 3, 'temp'), s(1000, 10, 'temp'), s(0, 5), s(600, 7), s(1100, 9)]);
    expect(b.series('m1', 'temp', 0, 2000, 1000)).toEqual([
      [0, 2],
      [1000, 10],
    ]);
    expect(b.series('m1', 'parts_total', 0, 2000, 1000, true)).toEqual([
      [0, 7],
      [1000, 9],
    ]);
    expect(b.series('m1', 'temp', 0, 2000)).toHaveLength(3);
    b.close();
  });

  it('caps dead letters and keeps the first KiB of the payload', () => {
    const b = new SqliteBuffer({ dataDir: dir, deadLetterCap: 5 });
    for (let i = 0; i < 12; i++) b.deadLetter('src', `t/${i}`, 'invalid JSON', 'x'.repeat(5000));
    const rows = b.deadLetters(100);
    expect(rows).toHaveLength(5);
    expect(rows[0]?.topic).toBe('t/11');
    expect(rows[0]?.payload).toHaveLength(1024);
    b.close();
  });

  it('serialises samples for upstream exactly: text, null, booleans, full float precision, qualities', () => {
    const b = new SqliteBuffer({ dataDir: dir });
    b.commit([
      s(1, 0.1 + 0.2, 'temp_c'),
      s(2, 'say "hi" \\ ünïcödé\n', 'order_id', 'm"1'),
      s(3, null, 'temp_c', 'm1', 'bad'),
      s(4, true, 'door_open', 'm1', 'uncertain'),
      s(5, -1e300, 'temp_c'),
    ]);
    const batch = b.readAfterJson(0, 10);
    expect(batch).toMatchObject({ firstId: 1, lastId: 5, count: 5 });
    expect(JSON.parse(batch?.json ?? '')).toEqual([
      { id: 1, machine: 'm1', signal: 'temp_c', ts: 1, value: 0.30000000000000004, quality: 'good' },
      { id: 2, machine: 'm"1', signal: 'order_id', ts: 2, value: 'say "hi" \\ ünïcödé\n', quality: 'good' },
      { id: 3, machine: 'm1', signal: 'temp_c', ts: 3, value: null, quality: 'bad' },
      { id: 4, machine: 'm1', signal: 'door_open', ts: 4, value: 1, quality: 'uncertain' },
      { id: 5, machine: 'm1', signal: 'temp_c', ts: 5, value: -1e300, quality: 'good' },
    ]);
    expect(b.readAfterJson(3, 10)?.firstId).toBe(4);
    expect(b.readAfterJson(5, 10)).toBeUndefined();
    b.close();
  });

  it('writes pending rollups once they are due even when no more samples come (a reader sees them)', async () => {
    const b = new SqliteBuffer({ dataDir: dir, rollupFlushMs: 50 });
    try {
      b.commit([s(1_000, 1), s(61_000, 3)]);
      const cursor = (): number => {
        const r = new SqliteBuffer({ dataDir: dir, readonly: true });
        try {
          return r.rollups.coveredUntil(true);
        } finally {
          r.close();
        }
      };
      expect(cursor()).toBe(1_000); // pending in the writer's memory
      b.rollups.flushIfDue();
      expect(cursor()).toBe(1_000); // not due yet
      await new Promise((r) => setTimeout(r, 60));
      b.rollups.flushIfDue();
      expect(cursor()).toBe(Infinity);
    } finally {
      b.close();
    }
  });

  it('measures its size as the database file plus its WAL, as on disk, in one place (stats and page stats agree)', () => {
    const b = new SqliteBuffer({ dataDir: dir });
    b.commit(Array.from({ length: 2000 }, (_, i) => s(i, i)));
    const onDisk = (): number => statSync(join(dir, 'buffer.db')).size + statSync(join(dir, 'buffer.db-wal')).size;
    const ps = b.pageStats();
    expect(ps.walBytes).toBeGreaterThan(0); // the commit sits in the WAL until a checkpoint
    expect(ps.bytes).toBe(ps.pageCount * ps.pageSize + ps.walBytes);
    expect(b.stats().bytes).toBe(ps.bytes);
    // the file holds every page once checkpointed; before that the pages in the WAL count twice
    b.checkpoint('TRUNCATE');
    expect(b.pageStats().walBytes).toBe(0);
    expect(b.stats().bytes).toBe(onDisk());
    b.close();
  });

  it('refuses a buffer written by a newer agent', () => {
    const db = new Database(join(dir, 'buffer.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new SqliteBuffer({ dataDir: dir })).toThrow(/SFA_ERR_BUFFER_SCHEMA_NEWER/);
  });
});

describe('BatchWriter', () => {
  it('commits at maxRows without waiting, and the rest after maxDelayMs', async () => {
    const b = new SqliteBuffer({ dataDir: dir });
    const commits: number[] = [];
    b.onCommit((x) => commits.push(x.length));
    const w = new BatchWriter(b, { maxRows: 1000, maxDelayMs: 30 });
    w.enqueue(Array.from({ length: 2500 }, (_, i) => s(i, i)));
    expect(commits).toEqual([1000, 1000]);
    expect(w.pendingCount).toBe(500);
    await new Promise((r) => setTimeout(r, 80));
    expect(commits).toEqual([1000, 1000, 500]);
    expect(b.stats().samples).toBe(2500);
    b.close();
  });

  it('commitNow commits pending samples first, in order, before returning', () => {
    const b = new SqliteBuffer({ dataDir: dir });
    const w = new BatchWriter(b, { maxRows: 1000, maxDelayMs: 50 });
    w.enqueue([s(1, 1), s(2, 2)]);
    w.commitNow([s(3, 3)]);
    expect(w.pendingCount).toBe(0);
    expect(b.machineWindow('m1', 0, 10).map((x) => [x.id, x.value])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    b.close();
  });

  it('keeps samples pending when a commit fails, and commits them on the next flush', () => {
    const b = new SqliteBuffer({ dataDir: dir });
    const errors: unknown[] = [];
    const w = new BatchWriter(b, { maxRows: 1000, maxDelayMs: 10_000, onError: (e) => errors.push(e) });
    const real = b.commit.bind(b);
    let fail = true;
    b.commit = (x) => {
      if (fail) throw new Error('SQLITE_FULL');
      return real(x);
    };
    w.enqueue([s(1, 1), s(2, 2)]);
    w.flush();
    expect(errors).toHaveLength(1);
    expect(w.pendingCount).toBe(2);
    fail = false;
    w.flush();
    expect(w.pendingCount).toBe(0);
    expect(b.stats().samples).toBe(2);
    b.close();
  });
});
