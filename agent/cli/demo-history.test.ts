import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../config/index.ts';
import { SqliteBuffer } from '../buffer/index.ts';
import { Plant } from '../plant/index.ts';
import { backfillDemoHistory, demoHistory } from './demo-history.ts';

const H = 3_600_000;
const T = Date.UTC(2026, 11, 3, 12);

describe('the fleet demo history', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-demo-history-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the demo plant model: the same seed gives the same readings, another seed others; meters never go back', () => {
    const a = demoHistory(1042, 10, T - H, T);
    expect(a).toEqual(demoHistory(1042, 10, T - H, T));
    expect(a).not.toEqual(demoHistory(2042, 10, T - H, T));
    // one reading a minute of 5 signals of 4 machines
    expect(a).toHaveLength(60 * 5 * 4);
    for (const m of ['printer-1', 'cnc-1']) {
      const parts = a.filter((s) => s.machine === m && s.signal === 'parts_total').map((s) => s.value as number);
      expect(parts.every((v, i) => i === 0 || v >= (parts[i - 1] as number))).toBe(true);
      expect(parts.at(-1)).toBeGreaterThan(parts[0] as number);
    }
    expect(new Set(a.filter((s) => s.signal === 'state').map((s) => s.value))).toContain('running');
  });

  it('fills an empty buffer with the last whole hours, and leaves one holding data alone', () => {
    const res = loadConfigText(`site: { id: s }\nagent: { id: a, dataDir: "${join(dir, 'data')}" }\nsimulator: { enabled: true, seed: 7, speed: 10 }\nmachines: [{ id: printer-1 }, { id: printer-2 }, { id: cnc-1 }, { id: assembly-1 }]\n`);
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    const n = backfillDemoHistory(res.config, 2, T + 17 * 60_000);
    expect(n).toBe(2 * 60 * 5 * 4);
    expect(backfillDemoHistory(res.config, 2, T + 17 * 60_000)).toBe(0);
    const buffer = new SqliteBuffer({ dataDir: res.config.agent.dataDir, rollupSeries: new Plant(res.config) });
    try {
      expect(buffer.stats().samples).toBe(n);
      const ts = buffer.series('printer-1', 'parts_total', 0, T + H).map(([t]) => t);
      expect(Math.min(...ts)).toBe(T - 2 * H);
      expect(Math.max(...ts)).toBe(T - 60_000);
    } finally {
      buffer.close();
    }
  });
});
