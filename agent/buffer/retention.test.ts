import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriter } from './batch-writer.ts';
import { Retention, type RetentionLog } from './retention.ts';
import { SqliteBuffer } from './sqlite-buffer.ts';
import type { Sample } from '../model/index.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sfa-retention-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 1);

function samples(n: number, from: number, step: number, first = 0): Sample[] {
  return Array.from({ length: n }, (_, i) => ({ machine: `m${(first + i) % 7}`, signal: 'temp_c', ts: from + (first + i) * step, value: (first + i) * 0.25, quality: 'good' }));
}

function recorder(): RetentionLog & { lines: { level: string; obj: object; msg: string }[] } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  return { lines, warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }), info: (obj, msg) => lines.push({ level: 'info', obj, msg }) };
}

describe('Retention', () => {
  it('deletes forwarded samples older than retainDays and keeps unforwarded ones, however old', async () => {
    const b = new SqliteBuffer({ dataDir: dir });
    b.commit(samples(100, NOW - 20 * DAY, 1000)); // ids 1..100, 20 days old
    b.commit(samples(100, NOW - DAY, 1000)); // ids 101..200, 1 day old
    const r = new Retention(b, () => 150, { maxBytes: 1e9, retainDays: 14, now: () => NOW, batchRows: 30 }, recorder());
    await r.runOnce();
    expect(b.stats().samples).toBe(100);
    expect(b.oldestId()).toBe(101);
    expect(b.droppedSamples()).toBe(0);
    // forwarded now, but young: kept
    const r2 = new Retention(b, () => 200, { maxBytes: 1e9, retainDays: 14, now: () => NOW, batchRows: 30 }, recorder());
    await r2.runOnce();
    expect(b.stats().samples).toBe(100);
    b.close();
  });

  it('keeps minute rollups rollupMinuteDays and hour rollups rollupHourDays, after the raw rows are gone', async () => {
    const b = new SqliteBuffer({ dataDir: dir });
    b.commit([
      { machine: 'm1', signal: 'parts_total', ts: NOW - 40 * DAY, value: 1, quality: 'good' },
      { machine: 'm1', signal: 'parts_total', ts: NOW - 40 * DAY + 60_000, value: 4, quality: 'good' },
      { machine: 'm1', signal: 'parts_total', ts: NOW - DAY, value: 9, quality: 'good' },
    ]);
    const r = new Retention(b, () => 3, { maxBytes: 1e9, retainDays: 14, rollupMinuteDays: 14, rollupHourDays: 730, now: () => NOW }, recorder());
    await r.runOnce();
    expect(b.stats().samples).toBe(1);
    const old = [NOW - 41 * DAY, NOW - 39 * DAY] as const;
    expect(b.rollups.rollups(['m1'], old[0], old[1], 'minute')).toEqual([]);
    expect(b.rollups.rollups(['m1'], old[0], old[1], 'hour').map((x) => [x.samples, x.delta])).toEqual([[2, 3]]);
    expect(b.rollups.rollups(['m1'], NOW - 2 * DAY, NOW, 'minute').map((x) => x.delta)).toEqual([5]);
    b.close();
  });

  it('at the size cap drops forwarded samples first, then the oldest unforwarded, counted exactly, with one warning', async () => {
    const b = new SqliteBuffer({ dataDir: dir });
    for (let i = 0; i < 60; i++) b.commit(samples(2000, NOW - DAY, 10, i * 2000));
    const log = recorder();
    const before = b.stats();
    const cap = Math.floor(before.bytes * 0.5);
    const forwarded = 20_000;
    const r = new Retention(b, () => forwarded, { maxBytes: cap, retainDays: 14, now: () => NOW, batchRows: 1000, episodeQuietMs: 0 }, log);
    await r.runOnce();
    const after = b.stats();
    const ps = b.pageStats();
    expect((ps.pageCount - ps.freelist) * ps.pageSize + ps.walBytes).toBeLessThanOrEqual(cap * 0.8);
    // everything forwarded went, then unforwarded, oldest first: what is left is contiguous at the top
    expect(b.oldestId()).toBeGreaterThan(forwarded);
    expect(after.samples).toBe(before.lastId - (b.oldestId() as number) + 1);
    expect(b.droppedSamples()).toBe((b.oldestId() as number) - 1 - forwarded);
    const warns = log.lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]?.msg).toMatch(/dropping unforwarded samples/);
    expect(warns[0]?.obj).toMatchObject({ from: new Date(NOW - DAY + forwarded * 10).toISOString() });
    // the episode ends with a summary naming the whole range
    await r.runOnce();
    const summary = log.lines.find((l) => l.msg.startsWith('dropped '));
    expect(summary?.obj).toMatchObject({ dropped: b.droppedSamples(), from: new Date(NOW - DAY + forwarded * 10).toISOString() });
    b.close();
  });

  it('with confirm: fleet, ages out only confirmed samples; the cap still drops unconfirmed ones, counted and reported as unconfirmed', async () => {
    const b = new SqliteBuffer({ dataDir: dir });
    for (let i = 0; i < 60; i++) b.commit(samples(2000, NOW - 30 * DAY, 10, i * 2000)); // all older than retainDays
    const log = recorder();
    const confirmed = 10_000;
    const aging = new Retention(b, () => confirmed, { maxBytes: 1e12, retainDays: 14, now: () => NOW, deletableIs: 'confirmed' }, log);
    await aging.runOnce();
    // by age: exactly the confirmed ones
    expect(b.oldestId()).toBe(confirmed + 1);
    expect(b.droppedSamples()).toBe(0);
    const cap = Math.floor(b.stats().bytes * 0.5);
    const capped = new Retention(b, () => confirmed, { maxBytes: cap, retainDays: 14, now: () => NOW, deletableIs: 'confirmed', episodeQuietMs: 0 }, log);
    await capped.runOnce();
    // a full disk must not stop ingest: unconfirmed samples go at the cap, oldest first, every one counted
    expect(b.droppedSamples()).toBe((b.oldestId() as number) - 1 - confirmed);
    expect(b.droppedSamples()).toBeGreaterThan(0);
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([expect.stringMatching(/dropping unconfirmed \(not yet stored by the fleet\) samples/)]);
    b.close();
  });

  it('on SQLITE_FULL makes room inside the file instead of failing: ingest continues, drops counted', async () => {
    // max_page_count makes SQLite answer SQLITE_FULL exactly as a full disk does
    const b = new SqliteBuffer({ dataDir: dir, maxPageCount: 400 });
    const log = recorder();
    const r = new Retention(b, () => 0, { maxBytes: 1024 ** 3, retainDays: 14, now: () => NOW, intervalMs: 50 }, log);
    const errors: string[] = [];
    const w = new BatchWriter(b, {
      maxRows: 1000,
      maxDelayMs: 20,
      onError: (err) => {
        errors.push(String((err as { code?: unknown }).code));
        if ((err as { code?: unknown }).code === 'SQLITE_FULL') r.onDiskFull();
      },
    });
    r.start();
    const total = 80_000;
    for (let i = 0; i < total; i += 500) {
      w.enqueue(samples(500, NOW - DAY, 10, i));
      await new Promise((res) => setImmediate(res));
    }
    const end = Date.now() + 30_000;
    while (w.pendingCount > 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
    await r.stop();
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(['SQLITE_FULL']));
    expect(w.pendingCount).toBe(0);
    expect(b.stats().lastId).toBe(total); // every sample was committed in the end
    expect(r.diskFull).toBe(true);
    expect(b.droppedSamples()).toBe(total - b.stats().samples);
    expect(b.droppedSamples()).toBeGreaterThan(0);
    expect(log.lines.some((l) => l.msg.includes('SFA_ERR_DISK_FULL'))).toBe(true);
    b.close();
  }, 60_000);
});
