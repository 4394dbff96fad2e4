import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteBuffer } from '../buffer/index.ts';
import { main } from './main.ts';
import { parseTime } from './kpi-command.ts';

describe('shopfloor-agent kpi', () => {
  let dir: string;
  let cfg: string;
  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-kpi-cli-'));
    cfg = join(dir, 'agent.yaml');
    writeFileSync(
      cfg,
      `site: { id: s, timezone: Europe/Berlin }\nagent: { id: a, dataDir: ${join(dir, 'data')} }\nmachines:\n  - { id: m1, line: l1, product: p1 }\nbenchmarks:\n  baselines:\n    p1: { energyPerUnitKwh: 1 }\n`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads ISO times without an offset as wall-clock time in the site zone', () => {
    expect(new Date(parseTime('2024-03-31T06:00', 'Europe/Berlin', '--from')).toISOString()).toBe('2024-03-31T04:00:00.000Z');
    expect(new Date(parseTime('2024-03-31T06:00:00Z', 'Europe/Berlin', '--from')).toISOString()).toBe('2024-03-31T06:00:00.000Z');
    expect(() => parseTime('yesterday', 'UTC', '--from')).toThrow(/not an ISO 8601 time/);
  });

  it('says what to do when there is no buffer yet (exit 1), and refuses bad usage (exit 2)', async () => {
    const r = await run(['kpi', '-c', cfg]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/has the agent run once/);
    expect((await run(['kpi', '-c', cfg, '--group-by', 'week'])).code).toBe(2);
    expect((await run(['kpi', '-c', cfg, '--from', 'soon'])).code).toBe(2);
  });

  it('prints KPI rows and the benchmarks in table, json and csv', async () => {
    const b = new SqliteBuffer({ dataDir: join(dir, 'data') });
    const t = Date.parse('2024-06-12T10:00:00+02:00');
    b.commit([
      { machine: 'm1', signal: 'energy_kwh', ts: t, value: 0, quality: 'good' },
      { machine: 'm1', signal: 'energy_kwh', ts: t + 1800_000, value: 12, quality: 'good' },
      { machine: 'm1', signal: 'parts_good', ts: t, value: 0, quality: 'good' },
      { machine: 'm1', signal: 'parts_good', ts: t + 1800_000, value: 10, quality: 'good' },
    ]);
    b.close();
    const args = ['kpi', '-c', cfg, '--from', '2024-06-12T10:00', '--to', '2024-06-12T11:00'];
    const json = await run([...args, '--format', 'json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.out) as { rows: { machine: string; energyKwh: number; energyPerUnitKwh: number }[]; benchmarks: { rows: { kpi: string; verdict: string; change: number | null }[] } };
    expect(doc.rows).toMatchObject([{ machine: 'm1', energyKwh: 12, energyPerUnitKwh: 1.2 }]);
    // 1.2 kWh/unit vs a 1 kWh baseline: +20 %, the band's low end: within
    expect(doc.benchmarks.rows.find((r) => r.kpi === 'energyPerUnit')).toMatchObject({ verdict: 'within' });
    const table = await run(args);
    expect(table.out).toMatch(/^KPIs 2024-06-12T08:00:00.000Z → 2024-06-12T09:00:00.000Z \(Europe\/Berlin\)/);
    expect(table.out).toMatch(/m1 .* 12 /);
    expect(table.out).toContain('Benchmarks (research brief)');
    const csv = await run([...args, '--format', 'csv']);
    expect(csv.out.split('\n')[1]).toMatch(/^m1,,2024-06-12T08:00:00.000Z,2024-06-12T09:00:00.000Z,12,/);
  });
});
