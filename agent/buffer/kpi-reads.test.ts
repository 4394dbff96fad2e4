/**
 * The reads the KPI service makes through the buffer (agent/kpi-query): order samples of every
 * machine, the oldest sample's time, and hour rollups, also on a read-only buffer opened beside
 * a writer that keeps committing (WAL).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  it('samplesOfSignals: every sample of those signals with its id, names and quality; oldestTs: the oldest time', () => {
    const b = new SqliteBuffer({ dataDir: dir });
    try {
      expect(b.oldestTs()).toBeNull();
      b.commit([
        s('m1', 'energy_kwh', 5 * H, 1),
        s('m1', 'order_id', 5 * H, 'A'),
        s('_orders', 'order_event', 2 * H, '{"orderId":"A","event":"released"}'),
        s('m2', 'order_id', 6 * H, 7, 'uncertain'),
      ]);
      const got = b.samplesOfSignals(['order_id', 'order_event']).sort((x, y) => x.id - y.id);
      expect(got).toEqual([
        { id: 2, machine: 'm1', signal: 'order_id', ts: 5 * H, value: 'A', quality: 'good' },
        { id: 3, machine: '_orders', signal: 'order_event', ts: 2 * H, value: '{"orderId":"A","event":"released"}', quality: 'good' },
        { id: 4, machine: 'm2', signal: 'order_id', ts: 6 * H, value: 7, quality: 'uncertain' },
      ]);
      expect(b.samplesOfSignals([])).toEqual([]);
      expect(b.oldestTs()).toBe(2 * H);
    } finally {
      b.close();
    }
  });

  it('a read-only buffer beside a writer reads what the writer committed, and hour rollups up to its last flush', () => {
    const writer = new SqliteBuffer({ dataDir: dir, rollupFlushMs: 3_600_000 });
    try {
      writer.commit([s('m1', 'parts_total', 1 * H, 0), s('m1', 'parts_total', 1 * H + 60_000, 4), s('m1', 'state', 1 * H, 'running')]);
      writer.rollups.flush();
      writer.commit([s('m1', 'parts_total', 2 * H + 60_000, 10), s('m1', 'order_id', 2 * H, 'B')]);
      const reader = new SqliteBuffer({ dataDir: dir, readonly: true });
      try {
        expect(reader.samplesOfSignals(['order_id']).map((x) => x.value)).toEqual(['B']);
        expect(reader.oldestTs()).toBe(1 * H);
        const rows = reader.hourRollups(['m1'], new Set(['parts_total', 'state']), 0, 4 * H);
        expect([...(rows.get('m1')?.get('parts_total')?.entries() ?? [])].map(([h, r]) => [h, r.delta])).toEqual([[1 * H, 4]]);
        // the hour after the state's last flushed sample is an open hold: not complete in the tables
        expect(reader.hourRollupsCompleteUntil('m1')).toBe(1 * H);
        expect(writer.hourRollups(['m1'], new Set(['parts_total']), 0, 4 * H).get('m1')?.get('parts_total')?.get(2 * H)?.delta).toBe(6);
        expect(writer.hourRollupsCompleteUntil('m1')).toBe(1 * H);
      } finally {
        reader.close();
      }
    } finally {
      writer.close();
    }
  });
});
