/**
 * The reads the KPI service makes through the buffer (agent/kpi-query): order samples of every
 * machine, the oldest sample's time, and hour rollups, also on a read-only buffer opened beside
 * a writer that keeps committing (WAL).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SqliteBuffer } from './index.ts';
import type { Sample } from '../model/index.ts';

const H = 3_600_000;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sfa-kpi-reads-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const s = (machine: string, signal: string, ts: number, value: Sample['value'], quality: Sample['quality'] = 'good'): Sample => ({ machine, signal, ts, value, quality });

describe('SqliteBuffer reads for the KPI service', () => {
  it('samplesOfSignals: every sample of those signals with its names and quality, and the id they reach; oldestTs: the oldest time', () => {
    const b = new SqliteBuffer({ dataDir: dir });
    try {
      expect(b.oldestTs()).toBeNull();
      b.commit([
        s('m1', 'energy_kwh', 5 * H, 1),
        s('m1', 'order_id', 5 * H, 'A'),
        s('_orders', 'order_event', 2 * H, '{"orderId":"A","event":"released"}'),
        s('m2', 'order_id', 6 * H, 7, 'uncertain'),
      ]);
      const read = b.samplesOfSignals(['order_id', 'order_event']);
      expect(read.upTo).toBe(4);
      // found through the rollups: no id where no two share a time
      expect(read.samples.sort((x, y) => x.ts - y.ts)).toEqual([
        { machine: '_orders', signal: 'order_event', ts: 2 * H, value: '{"orderId":"A","event":"released"}', quality: 'good' },
        { machine: 'm1', signal: 'order_id', ts: 5 * H, value: 'A', quality: 'good' },
        { machine: 'm2', signal: 'order_id', ts: 6 * H, value: 7, quality: 'uncertain' },
      ]);
      expect(b.samplesOfSignals([]).samples).toEqual([]);
      expect(b.oldestTs()).toBe(2 * H);
    } finally {
      b.close();
    }
  });

  it('samplesOfSignals finds through the rollups what a scan of the samples finds, ids where an ordered signal ties', () => {
    const sample = fc.record({
      machine: fc.constantFrom('m1', 'm2', '_orders'),
      signal: fc.constantFrom('order_id', 'order_event', 'energy_kwh'),
      // minutes within 3 days, at a few seconds, some in the first minutes: buckets of one and of
      // several samples, and equal times
      minute: fc.oneof(fc.integer({ min: 0, max: 3 * 24 * 60 }), fc.integer({ min: 0, max: 3 })),
      second: fc.constantFrom(0, 0, 7, 30),
      v: fc.integer({ min: 0, max: 5 }),
      bad: fc.boolean(),
    });
    let run = 0;
    let throughRollups = 0;
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 60 }), fc.boolean(), (list, trimMinutes) => {
        const d = join(dir, `p${run++}`);
        const writer = new SqliteBuffer({ dataDir: d });
        try {
          writer.commit(list.map((x) => s(x.machine, x.signal, H + x.minute * 60_000 + x.second * 1000, x.signal === 'energy_kwh' ? x.v : `${x.signal}-${x.v}`, x.bad ? 'bad' : 'good')));
          // minute rollups are kept for fewer days than hour rollups: without them, hours of several samples are read raw
          if (trimMinutes) writer.rollups.deleteOlderThan(Infinity, 0, Infinity);
          const located = writer.samplesOfSignals(['order_id', 'order_event'], ['order_event']).samples;
          // a sample without an id was found through the rollups (a scan gives every id)
          if (located.some((x) => x.id === undefined)) throughRollups++;
          const reader = new SqliteBuffer({ dataDir: d, readonly: true });
          try {
            const scanned = reader.samplesOfSignals(['order_id', 'order_event']).samples;
            const key = (x: { machine: string; signal: string; ts: number; value: unknown; quality: string }): string => JSON.stringify([x.machine, x.signal, x.ts, x.value, x.quality]);
            expect(located.map(key).sort()).toEqual(scanned.map(key).sort());
            // order events at one time are ordered by id: each has its own
            const events = located.filter((x) => x.signal === 'order_event');
            for (const e of events) {
              if (!events.some((o) => o !== e && o.ts === e.ts)) continue;
              expect(e.id).toBeDefined();
              expect(scanned.some((x) => x.id === e.id && key(x) === key(e))).toBe(true);
            }
          } finally {
            reader.close();
          }
        } finally {
          writer.close();
        }
      }),
      { numRuns: 40 },
    );
    expect(throughRollups).toBeGreaterThan(10);
  });

  it('a read-only buffer beside a writer reads what the writer committed, and hour rollups up to its last flush', () => {
    const writer = new SqliteBuffer({ dataDir: dir, rollupFlushMs: 3_600_000 });
    try {
      writer.commit([s('m1', 'parts_total', 1 * H, 0), s('m1', 'parts_total', 1 * H + 60_000, 4), s('m1', 'state', 1 * H, 'running')]);
      writer.rollups.flush();
      writer.commit([s('m1', 'parts_total', 2 * H + 60_000, 10), s('m1', 'order_id', 2 * H, 'B')]);
      const reader = new SqliteBuffer({ dataDir: dir, readonly: true });
      try {
        expect(reader.samplesOfSignals(['order_id']).samples.map((x) => x.value)).toEqual(['B']);
        expect(reader.oldestTs()).toBe(1 * H);
        const rows = reader.hourRollups(['m1'], new Set(['parts_total', 'state']), 0, 4 * H);
        const parts = rows.find((r) => r.signal === 'parts_total');
        expect([...(parts?.bucket ?? [])]).toEqual([1 * H]);
        expect([...(parts?.value ?? [])]).toEqual([4]);
        // a reader adds no open hold: the hour of the state's last flushed sample holds nothing yet
        const state = rows.find((r) => r.signal === 'state');
        expect([...(state?.bucket ?? [])]).toEqual([1 * H]);
        expect(state?.stateMs.map((c) => c[0])).toEqual([0, 0, 0, 0]);
        // the hour after the state's last flushed sample is an open hold: not complete in the tables
        expect(reader.hourRollupsCompleteUntil('m1')).toBe(1 * H);
      } finally {
        reader.close();
      }
      // the writer flushes first and adds the open hold of its newest state (maxHold 3600 s)
      const w = writer.hourRollups(['m1'], new Set(['parts_total', 'state']), 0, 4 * H);
      const wp = w.find((r) => r.signal === 'parts_total');
      expect([...(wp?.bucket ?? [])]).toEqual([1 * H, 2 * H]);
      expect([...(wp?.value ?? [])]).toEqual([4, 6]);
      const st = w.find((r) => r.signal === 'state');
      expect([...(st?.bucket ?? [])]).toEqual([1 * H]);
      expect(st?.stateMs.map((c) => c[0])).toEqual([3_600_000, 0, 0, 0]);
      expect(writer.hourRollupsCompleteUntil('m1')).toBe(Infinity);
    } finally {
      writer.close();
    }
  });
});
