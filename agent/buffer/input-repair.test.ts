/**
 * Rows stored before the input boundary existed: a restart moves unprintable and far-future
 * samples and series with unsafe names to dead letters, and the rollups and latest values no
 * longer point at them. Dead letters stay within their bounds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sample } from '../model/index.ts';
import { SqliteBuffer } from './sqlite-buffer.ts';
import { DEAD_LETTER_LIMITS, DeadLetters } from './dead-letters.ts';
import { openBufferDb } from './buffer-open.ts';

const NOW = Date.now();
const s = (machine: string, signal: string, ts: number, value: Sample['value']): Sample => ({ machine, signal, ts, value, quality: 'good' });

describe('start-up repair of stored plant input', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-repair-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('moves far-future and unprintable samples and unsafe series to dead letters; latest values and rollups follow the rest', () => {
    const b = new SqliteBuffer({ dataDir: dir, rollupFlushMs: 0 });
    const t0 = NOW - 3_600_000;
    b.commit([s('m1', 'state', t0, 'running'), s('m1', 'power_kw', t0, 2), s('m1', 'power_kw', t0 + 60_000, 3)]);
    b.commit([s('m1', 'state', 1e17, 'down'), s('m1', 'power_kw', 1e17, 99), s('m1', 'power_kw', -9e15, 5)]);
    b.commit([s('evil/#', 'order_event', t0, '{"orderId":"o1","event":"started"}'), s('m\u0000', 'power_kw', t0, 1)]);
    expect(b.latest('m1').find((l) => l.signal === 'state')?.ts).toBe(1e17);
    const lastId = b.stats().lastId;
    b.close();

    const b2 = new SqliteBuffer({ dataDir: dir });
    expect(b2.repaired).toEqual({ series: 2, samples: 5 });
    expect(b2.machines().sort()).toEqual(['m1']);
    const latest = b2.latest('m1');
    expect(latest.find((l) => l.signal === 'state')).toMatchObject({ ts: t0, value: 'running' });
    expect(latest.find((l) => l.signal === 'power_kw')).toMatchObject({ ts: t0 + 60_000, value: 3 });
    expect(b2.stats()).toMatchObject({ samples: 3, lastId });
    // the hour rollups hold nothing beyond the real samples
    const rows = b2.rollups.rollups(['m1'], -1e16, 2e17, 'hour');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.start > NOW + 2 * 3_600_000 || r.start < t0 - 3_600_000 || (r.lastTs ?? t0) > NOW || (r.firstTs ?? t0) < t0)).toEqual([]);
    expect(rows.filter((r) => r.signal === 'power_kw').reduce((n, r) => n + r.samples, 0)).toBe(2);
    const reasons = b2.deadLetters(10).map((d) => d.reason);
    expect(reasons.filter((r) => r.includes('ahead of the agent\'s clock'))).toHaveLength(2);
    expect(reasons.filter((r) => r.includes('before any printable date'))).toHaveLength(1);
    expect(reasons.some((r) => r.startsWith('stored series removed at start-up with its 1 samples: machine "evil/#" holds'))).toBe(true);
    // new ids continue above the removed ones
    expect(b2.commit([s('m1', 'power_kw', NOW, 4)])[0]?.id).toBe(lastId + 1);
    b2.close();
    const b3 = new SqliteBuffer({ dataDir: dir });
    expect(b3.repaired).toEqual({ series: 0, samples: 0 });
    b3.close();
  });

  it('bounds dead letters: reason and payload cut, original size kept, rows and bytes within their caps', () => {
    const b = new SqliteBuffer({ dataDir: dir, deadLetterCap: 50 });
    const big = Buffer.alloc(200_000, 0x41);
    b.deadLetter('src', 't'.repeat(1000), 'r'.repeat(200_000), big);
    const [row] = b.deadLetters(1);
    expect(row?.reason.length).toBe(DEAD_LETTER_LIMITS.reasonChars);
    expect(row?.topic.length).toBe(DEAD_LETTER_LIMITS.topicChars);
    expect(row?.payload.length).toBe(DEAD_LETTER_LIMITS.payloadBytes);
    expect(row?.payloadBytes).toBe(200_000);
    for (let i = 0; i < 120; i++) b.deadLetter('src', `t/${i}`, 'bad', big);
    expect(b.stats().deadLetters).toBe(50);
    expect(b.deadLettersDropped()).toBe(71);
    expect(b.deadLetters(1)[0]?.topic).toBe('t/119');
    b.close();
  });

  it('keeps the newest dead letters within a byte budget', () => {
    const db = openBufferDb(join(dir, 'buffer.db'), { dataDir: dir, synchronous: 'NORMAL', readonly: false, maxPageCount: undefined });
    const letters = new DeadLetters(db, 10_000, 20_000);
    for (let i = 0; i < 100; i++) letters.add('src', `t/${i}`, 'bad', Buffer.alloc(1000, 0x42), i);
    const held = (db.prepare('SELECT SUM(length(topic) + length(reason) + length(payload)) AS b, COUNT(*) AS n, MAX(ts) AS newest FROM dead_letters').get() as { b: number; n: number; newest: number });
    expect(held.b).toBeLessThanOrEqual(20_000);
    expect(held.n).toBeGreaterThan(10);
    expect(held.newest).toBe(99);
    expect(letters.dropped).toBe(100 - held.n);
    db.close();
  });
});
