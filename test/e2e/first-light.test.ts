/**
 * First light, end to end: the demo plant (a real node-opcua server and an embedded MQTT
 * broker) → the agent's drivers → the SQLite buffer → the KPI engine → the HTTP API.
 * Per machine, energy and good/scrap units over the run must equal the simulator's ground
 * truth: exact for the counters, within 0.5 % for energy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import type { Config } from '../../config/schema.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { PlantSimulator, type GroundTruth } from '../../drivers/simulator/index.ts';
import { waitFor, waitForPlantCatchUp } from '../helpers/index.ts';

const DEMO = readFileSync(new URL('../../config/demo.yaml', import.meta.url), 'utf8');

describe('first light: simulated plant → buffer → KPIs → HTTP', () => {
  let dir: string;
  let sim: PlantSimulator;
  let agent: Agent;
  let base: string;
  let truth: GroundTruth;
  let t0: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-e2e-'));
    t0 = Date.now();
    // the CNC meter starts just below its UInt32 wrap, so the run crosses it
    sim = new PlantSimulator({ seed: 7, speed: 40, opcuaPort: 0, mqttPort: 0, autoStart: false, pkiDir: join(dir, 'sim-pki'), initialEnergyWh: { 'cnc-1': 4294967296 - 800 } });
    const ep = await sim.start();
    // the demo config as shipped, pointed at this test's ports and folders
    const text = DEMO.replaceAll('48401', String(ep.opcuaPort))
      .replaceAll('18831', String(ep.mqttPort))
      .replace('enabled: true', 'enabled: false')
      .replace('dataDir: ./data/demo', `dataDir: ${join(dir, 'data')}`)
      .replace('port: 8080', 'port: 0');
    const res = loadConfigText(text, { file: 'demo.yaml' });
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    const config: Config = res.config;
    agent = new Agent(config, pino({ level: 'silent' }));
    const { httpPort } = await agent.start();
    base = `http://127.0.0.1:${httpPort}`;
    // every OPC UA tag has delivered its initial value before the plant starts moving
    await waitFor(() => agent.health().sources.every((s) => s.state === 'connected') && agent.buffer.latest().length >= 15, 15_000, 'sources connected and initial values');
    sim.resume();
    await new Promise((r) => setTimeout(r, 12_000)); // ≈ 8 simulated minutes
    sim.pause();
    truth = sim.groundTruth();
    // wait until the agent has stored the last exposed value of every counter
    await waitForPlantCatchUp(agent, truth);
    await new Promise((r) => setTimeout(r, 500)); // the last energy values
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /healthz with every source connected', async () => {
    const h = (await (await fetch(`${base}/healthz`)).json()) as { status: string; sources: { id: string; state: string }[]; buffer: { samples: number } };
    expect(h.status).toBe('ok');
    expect(h.sources.map((s) => [s.id, s.state])).toEqual([
      ['cells-opcua', 'connected'],
      ['cells-mqtt', 'connected'],
    ]);
    expect(h.buffer.samples).toBeGreaterThan(100);
  });

  it('lists the four machines with their mapped state', async () => {
    const ms = (await (await fetch(`${base}/api/machines`)).json()) as { id: string; line: string; state: string | null; lastSampleAt: string | null }[];
    expect(ms.map((m) => m.id)).toEqual(['printer-1', 'printer-2', 'cnc-1', 'assembly-1']);
    for (const m of ms) {
      expect(['running', 'idle', 'down', 'planned_stop']).toContain(m.state);
      expect(m.lastSampleAt).not.toBeNull();
    }
  });

  it('computes energy, good and scrap units equal to the ground truth', async () => {
    const from = new Date(t0 - 60_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = (await (await fetch(`${base}/api/kpis?from=${from}&to=${to}`)).json()) as {
      rows: { machine: string; energyKwh: number; unitsTotal: number; unitsGood: number; unitsScrap: number; energyPerUnitKwh: number | null; scrapRate: number | null }[];
    };
    expect(res.rows).toHaveLength(4);
    for (const row of res.rows) {
      const t = truth.machines[row.machine as keyof GroundTruth['machines']];
      expect(t, row.machine).toBeDefined();
      expect({ machine: row.machine, good: row.unitsGood, scrap: row.unitsScrap, total: row.unitsTotal }).toEqual({
        machine: row.machine,
        good: t.unitsGood,
        scrap: t.unitsScrap,
        total: t.unitsTotal,
      });
      expect(t.unitsGood, `${row.machine} made good parts`).toBeGreaterThan(0);
      expect(Math.abs(row.energyKwh - t.energyKwh) / t.energyKwh, `${row.machine} energy ${row.energyKwh} vs ${t.energyKwh}`).toBeLessThan(0.005);
      expect(row.energyPerUnitKwh).toBeCloseTo(row.energyKwh / row.unitsGood, 9);
      expect(row.scrapRate).toBeCloseTo(row.unitsScrap / row.unitsTotal, 9);
    }
    // the CNC meter wrapped during the run, and the rollover rule kept its energy right
    expect(truth.machines['cnc-1'].last.energy).toBeLessThan(truth.machines['cnc-1'].first.energy);
  });

  it('serves a series and the plain page', async () => {
    const s = (await (await fetch(`${base}/api/series?machine=printer-1&signal=parts_total&from=${t0 - 60_000}`)).json()) as { points: [number, number][] };
    expect(s.points.length).toBeGreaterThan(1);
    const values = s.points.map((p) => p[1]);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('api/kpis');
  });
});
