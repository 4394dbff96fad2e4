/**
 * The KPI engine on the demo plant, end to end: simulator (node-opcua server + embedded MQTT
 * broker) → agent → buffer → KPIs. Checks that
 *   - every order's lead time equals the simulator's ground truth (release → completion);
 *   - `/api/benchmarks` shows every row of DESIGN.md §5 per product with a verdict and source;
 *   - order, shift and site groupings answer, and the site row is the sum of the machines;
 *   - `shopfloor-agent kpi` in another process reads the same database while the agent runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { BRIEF_BANDS, BENCHMARK_KPIS } from '../../agent/kpi/index.ts';
import type { BenchmarkReport, KpiRow, RollupRow } from '../../agent/kpi-query/index.ts';
import { PlantSimulator, type GroundTruth } from '../../drivers/simulator/index.ts';
import { waitFor, waitForPlantCatchUp } from '../helpers/index.ts';

const DEMO = readFileSync(new URL('../../config/demo.yaml', import.meta.url), 'utf8');
const CLI = fileURLToPath(new URL('../../agent/cli/shopfloor-agent.mjs', import.meta.url));
const run = promisify(execFile);

describe('KPIs and benchmarks on the demo plant', () => {
  let dir: string;
  let configFile: string;
  let sim: PlantSimulator;
  let agent: Agent;
  let base: string;
  let truth: GroundTruth;
  let t0: number;
  let t1: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-kpi-demo-'));
    t0 = Date.now();
    // fast: about 50 simulated minutes, so every machine completes orders
    sim = new PlantSimulator({ seed: 11, speed: 250, opcuaPort: 0, mqttPort: 0, autoStart: false, pkiDir: join(dir, 'sim-pki') });
    const ep = await sim.start();
    const text = DEMO.replaceAll('48401', String(ep.opcuaPort))
      .replaceAll('18831', String(ep.mqttPort))
      .replace('enabled: true', 'enabled: false')
      .replace('dataDir: ./data/demo', `dataDir: ${join(dir, 'data')}`)
      .replace('port: 8080', 'port: 0');
    configFile = join(dir, 'agent.yaml');
    writeFileSync(configFile, text);
    const res = loadConfigText(text, { file: 'demo.yaml' });
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    agent = new Agent(res.config, pino({ level: 'silent' }));
    const { httpPort } = await agent.start();
    base = `http://127.0.0.1:${httpPort}`;
    await waitFor(() => agent.health().sources.every((s) => s.state === 'connected') && agent.buffer.latest().length >= 15, 15_000, 'sources connected');
    sim.resume();
    await new Promise((r) => setTimeout(r, 12_000));
    sim.pause();
    truth = sim.groundTruth();
    const completed = truth.orders.filter((o) => o.leadTimeS !== undefined);
    await waitFor(
      () => completed.every((o) => agent.kpis.orderList().some((x) => x.orderId === o.orderId && x.completedAt !== null && x.releasedAt !== null)),
      15_000,
      'the agent to store every completed order',
    );
    // and the last exposed value of every counter, committed: the CLI in another process reads
    // only what is on disk, the HTTP API in this one reads the same file after it
    await waitForPlantCatchUp(agent, truth);
    t1 = Date.now() + 60_000;
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('measures every completed order\'s lead time as the ground truth has it', () => {
    const completed = truth.orders.filter((o) => o.leadTimeS !== undefined);
    expect(completed.length, 'orders completed during the run').toBeGreaterThanOrEqual(3);
    const ours = new Map(agent.kpis.orderList().map((o) => [o.orderId, o]));
    for (const o of completed) {
      const mine = ours.get(o.orderId);
      expect(mine, o.orderId).toBeDefined();
      expect({ id: o.orderId, machine: mine?.machine, leadTimeS: mine?.leadTimeS, fromRelease: mine?.fromRelease }).toEqual({
        id: o.orderId,
        machine: o.machine,
        leadTimeS: o.leadTimeS,
        fromRelease: true,
      });
    }
  });

  it('rows of the window hold the orders completed in it, counted once on the site row', async () => {
    const q = `from=${new Date(t0 - 60_000).toISOString()}&to=${new Date(t1).toISOString()}`;
    const machines = (await (await fetch(`${base}/api/kpis?${q}`)).json()) as { rows: KpiRow[] };
    const site = (await (await fetch(`${base}/api/kpis?${q}&scope=site`)).json()) as { rows: RollupRow[] };
    const completed = truth.orders.filter((o) => o.leadTimeS !== undefined);
    expect(site.rows).toHaveLength(1);
    const s = site.rows[0] as RollupRow;
    expect(s.leadTime.orders).toBe(completed.length);
    expect(s.leadTime.basis).toBe('released');
    const lts = completed.map((o) => o.leadTimeS as number).sort((a, b) => a - b);
    expect(s.leadTime.maxS).toBe(lts[lts.length - 1]);
    expect(s.leadTime.meanS).toBeCloseTo(lts.reduce((a, b) => a + b, 0) / lts.length, 6);
    const exactP50 = lts[Math.ceil(0.5 * lts.length) - 1] as number;
    expect(Math.abs((s.leadTime.p50S as number) - exactP50) / exactP50).toBeLessThanOrEqual(0.005);
    // the site is the sum of its machines, ratios recomputed from the sums
    const sum = (f: (r: KpiRow) => number | null): number => machines.rows.reduce((a, r) => a + (f(r) ?? 0), 0);
    expect(s.unitsGood).toBe(sum((r) => r.unitsGood));
    expect(s.energyKwh).toBeCloseTo(sum((r) => r.energyKwh), 9);
    expect(s.energyPerUnitKwh).toBeCloseTo(sum((r) => r.energyKwh) / sum((r) => r.unitsGood), 12);
    expect(s.leadTime.orders).toBe(sum((r) => r.leadTime.orders));
  });

  it('groups by order: one row per order a machine worked on', async () => {
    const q = `from=${new Date(t0 - 60_000).toISOString()}&to=${new Date(t1).toISOString()}&groupBy=order&machine=printer-1`;
    const res = (await (await fetch(`${base}/api/kpis?${q}`)).json()) as { rows: KpiRow[] };
    expect(res.rows.length).toBeGreaterThanOrEqual(2);
    const truthIds = truth.orders.filter((o) => o.machine === 'printer-1' && o.startedAt !== undefined).map((o) => o.orderId);
    for (const r of res.rows) expect(truthIds).toContain(r.period);
    // a completed order's row holds about its quantity of good units (the OPC UA subscription
    // samples every 250 ms, here 62 simulated seconds, so a part may land next to the boundary)
    // and exactly its lead time
    for (const o of truth.orders.filter((x) => x.machine === 'printer-1' && x.leadTimeS !== undefined && x.startedAt !== undefined && Date.parse(x.startedAt) > t0 + 2000)) {
      const row = res.rows.find((r) => r.period === o.orderId);
      expect(row, o.orderId).toBeDefined();
      expect(Math.abs((row?.unitsGood as number) - o.quantity), `${o.orderId} good units ${row?.unitsGood} vs ${o.quantity}`).toBeLessThanOrEqual(3);
      expect(row?.leadTime.maxS).toBe(o.leadTimeS);
    }
    // order rows are adjacent windows: together they hold the machine's units over their span
    const first = res.rows[0] as KpiRow;
    const last = res.rows[res.rows.length - 1] as KpiRow;
    const whole = (await (await fetch(`${base}/api/kpis?from=${first.periodStart}&to=${last.periodEnd}&machine=printer-1`)).json()) as { rows: KpiRow[] };
    expect(res.rows.reduce((a, r) => a + (r.unitsGood ?? 0), 0)).toBe(whole.rows[0]?.unitsGood);
  });

  it('GET /api/benchmarks shows every row of DESIGN.md §5 per product, with verdict and source', async () => {
    const res = (await (await fetch(`${base}/api/benchmarks?from=${new Date(t0 - 60_000).toISOString()}&to=${new Date(t1).toISOString()}`)).json()) as BenchmarkReport;
    const products = ['bracket-a', 'housing-b'];
    for (const p of products) {
      for (const kpi of BENCHMARK_KPIS) {
        const row = res.rows.find((r) => r.kpi === kpi && r.product === p);
        expect(row, `${kpi} ${p}`).toBeDefined();
        if (!row) continue;
        expect(row.source).toBe(BRIEF_BANDS[kpi].source);
        expect(row.band).toEqual([...BRIEF_BANDS[kpi].band]);
        expect(['better', 'within', 'worse', 'no-baseline', 'no-data']).toContain(row.verdict);
      }
      const epu = res.rows.find((r) => r.kpi === 'energyPerUnit' && r.product === p);
      // demo.yaml has baselines for both products: a real comparison, never "no-baseline"
      expect(epu?.baseline).not.toBeNull();
      expect(['better', 'within', 'worse']).toContain(epu?.verdict);
      expect(epu?.change).toBeCloseTo((epu?.value as number) / (epu?.baseline as number) - 1, 12);
      const lt = res.rows.find((r) => r.kpi === 'leadTime' && r.product === p);
      // minutes against a 5–10 day baseline: a reduction beyond 90 %
      expect(lt?.verdict).toBe('better');
      const vol = res.rows.find((r) => r.kpi === 'productLineVolume' && r.product === p);
      expect(vol?.verdict).toBe('within');
      expect(vol?.value).toBeGreaterThan(0);
      // no QA inspection signals in the demo plant
      expect(res.rows.find((r) => r.kpi === 'qaAccuracy' && r.product === p)?.verdict).toBe('no-data');
    }
  });

  it('`shopfloor-agent kpi` reads the same buffer read-only while the agent runs', async () => {
    const from = new Date(t0 - 60_000).toISOString();
    const to = new Date(t1).toISOString();
    const { stdout } = await run(process.execPath, [CLI, 'kpi', '-c', configFile, '--from', from, '--to', to, '--format', 'json'], { timeout: 30_000 });
    const out = JSON.parse(stdout) as { rows: KpiRow[]; benchmarks: BenchmarkReport };
    const api = (await (await fetch(`${base}/api/kpis?from=${from}&to=${to}`)).json()) as { rows: KpiRow[] };
    expect(out.rows.map((r) => [r.machine, r.unitsGood, r.leadTime.orders])).toEqual(api.rows.map((r) => [r.machine, r.unitsGood, r.leadTime.orders]));
    expect(out.benchmarks.rows).toHaveLength(10);
    const table = await run(process.execPath, [CLI, 'kpi', '-c', configFile, '--from', from, '--to', to, '--scope', 'line'], { timeout: 30_000 });
    expect(table.stdout).toContain('Benchmarks (research brief)');
    expect(table.stdout).toContain('IEA Industry Report, 2023');
    expect(table.stdout).toMatch(/line additive/);
    const csv = await run(process.execPath, [CLI, 'kpi', '-c', configFile, '--from', from, '--to', to, '--format', 'csv', '--group-by', 'shift'], { timeout: 30_000 });
    expect(csv.stdout.split('\n')[0]).toMatch(/^machine,period,start,end,energyKwh/);
    expect(csv.stdout).toContain('kpi,scope,value,baseline,change,band,verdict,source');
    // the agent is unaffected: still writing
    const before = agent.health().buffer.samples;
    sim.step(30);
    await waitFor(() => agent.health().buffer.samples > before, 10_000, 'the agent to keep storing samples');
  });
});
