/**
 * Fleet KPIs from hourly components (DESIGN.md §4, §6): two agents of two sites publish their
 * plant and per-machine hours (one hour revised) through Mosquitto; `/api/kpis` and
 * `/api/benchmarks` of the fleet — with PostgreSQL and with the embedded SQLite store — equal
 * the hand-summed components, and every ratio is computed from the sums (an average of the
 * machines' ratios would differ).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../../agent/fleet/index.ts';
import { mosquitto, postgres, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { dropSchema, hoursMessage, plantMessage, T0, testSchema } from '../helpers/fleet-messages.ts';
import { agentClient, clearRetained, endSession, startFleet, type FleetTestSetup } from '../helpers/fleet-peers.ts';

const H = 3_600_000;
const BENCH = `benchmarks: { baselines: { bracket: { energyPerUnitKwh: 0.15, scrapRate: 0.1 } } }\n`;

interface Row {
  site: string | null;
  line: string | null;
  product: string | null;
  machine: string | null;
  periodStart: string;
  hours: number;
  energyKwh: number;
  unitsTotal: number;
  unitsGood: number;
  unitsScrap: number;
  energyPerUnitKwh: number;
  scrapRate: number;
  availability: number;
  performance: number;
  quality: number;
  oee: number;
  leadTime: { orders: number; maxS: number | null };
}

let up = { mqtt: false, pg: false };
beforeAll(async () => {
  up = { mqtt: (await mosquitto()).available, pg: (await postgres()).available };
});

for (const kind of ['PostgreSQL', 'SQLite'] as const) {
  describe(`fleet KPIs sum components (${kind})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfa-fleet-kpis-'));
    const s: FleetTestSetup = { id: `kpis-${kind}-${process.pid}`, prefix: uniqueTopicPrefix('fleet-kpis'), group: `q${Math.random().toString(36).slice(2, 10)}`, dataDir: dir, schema: kind === 'PostgreSQL' ? testSchema('kpis') : undefined };
    let fleet: Fleet | undefined;
    const retained = [`${s.prefix}/site-a/edge-1/plant`, `${s.prefix}/site-b/edge-2/plant`, `${s.prefix}/site-a/edge-1/confirm`];

    afterAll(async () => {
      await fleet?.stop();
      if (!up.mqtt) return;
      await endSession(s.id);
      const c = await agentClient();
      await clearRetained(c, retained);
      await c.endAsync();
      if (s.schema !== undefined && up.pg) await dropSchema(s.schema);
      rmSync(dir, { recursive: true, force: true });
    });

    const get = async <T>(path: string): Promise<T> => {
      const r = await fetch(`http://127.0.0.1:${fleet?.port ?? 0}${path}`);
      expect(r.status, path).toBe(200);
      return (await r.json()) as T;
    };

    it('answers /api/kpis per site, line, product, fleet, hour and site group, and /api/benchmarks', async ({ skip }) => {
      if (!up.mqtt || (kind === 'PostgreSQL' && !up.pg)) skip();
      fleet = await startFleet({ ...s, ingest: `batchMs: 20`, extra: BENCH });
      const f = fleet;
      await waitFor(() => f.health().status === 'ok', 10_000, 'connected');
      const c = await agentClient();
      const a = { site: 'site-a', agent: 'edge-1', instance: 'ia' };
      const b = { site: 'site-b', agent: 'edge-2', instance: 'ib' };
      await c.publishAsync(retained[0] as string, JSON.stringify(plantMessage({ ...a, machines: [{ id: 'p1', line: 'additive', product: 'bracket' }, { id: 'p2', line: 'additive', product: 'bracket' }] })), { qos: 1, retain: true });
      await c.publishAsync(retained[1] as string, JSON.stringify(plantMessage({ ...b, machines: [{ id: 'c1', line: 'cnc', product: 'housing' }] })), { qos: 1, retain: true });
      const hours = [
        // revision 1 of p1's first hour, corrected by revision 2 below (late data)
        hoursMessage({ ...a, machine: 'p1', hourStart: T0, revision: 1, c: { energyKwh: 1.5, unitsTotal: 7, unitsGood: 7, unitsScrap: 0, runningS: 2000, idealS: 1400 } }),
        hoursMessage({ ...a, machine: 'p1', hourStart: T0, revision: 2, c: { energyKwh: 2, unitsTotal: 10, unitsGood: 9, unitsScrap: 1, runningS: 3000, idealS: 2400 } }),
        hoursMessage({ ...a, machine: 'p1', hourStart: T0 + H, revision: 1, c: { energyKwh: 3, unitsTotal: 20, unitsGood: 18, unitsScrap: 2, runningS: 3600, idealS: 3000 } }),
        hoursMessage({ ...a, machine: 'p2', hourStart: T0, revision: 1, c: { energyKwh: 1, unitsTotal: 5, unitsGood: 5, unitsScrap: 0, runningS: 1800, idealS: 1500 } }),
        hoursMessage({ ...b, machine: 'c1', hourStart: T0, revision: 1, c: { energyKwh: 4, unitsTotal: 8, unitsGood: 6, unitsScrap: 2, runningS: 3600, idealS: 3600, orders: 2, ordersFromRelease: 2, leadTimeSumS: 300, leadTimeMinS: 100, leadTimeMaxS: 200, leadTimeHist: { '463': 1, '533': 1 } } }),
      ];
      for (const h of hours) await c.publishAsync(`${s.prefix}/${h.site}/${h.agent}/hours/${h.machine}`, JSON.stringify(h), { qos: 1 });
      await c.endAsync();
      const range = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 2 * H).toISOString()}`;
      await waitFor(async () => (await get<{ rows: Row[] }>(`/api/kpis?${range}&scope=fleet`)).rows[0]?.energyKwh === 10, 10_000, 'every hour stored');

      const sites = (await get<{ rows: Row[] }>(`/api/kpis?${range}&scope=site`)).rows;
      expect(sites.map((r) => [r.site, r.hours, r.energyKwh, r.unitsTotal, r.unitsGood, r.unitsScrap])).toEqual([
        ['site-a', 3, 6, 35, 32, 3],
        ['site-b', 1, 4, 8, 6, 2],
      ]);
      const siteA = sites[0] as Row;
      expect(siteA.energyPerUnitKwh).toBeCloseTo(6 / 32, 12);
      // not the mean of the machines' ratios ((5/27 + 1/5) / 2 = 0.1926)
      expect(siteA.energyPerUnitKwh).not.toBeCloseTo((5 / 27 + 1 / 5) / 2, 3);
      expect(siteA.scrapRate).toBeCloseTo(3 / 35, 12);
      expect(siteA.availability).toBeCloseTo(8400 / 10800, 12);
      expect(siteA.performance).toBeCloseTo(6900 / 8400, 12);
      expect(siteA.oee).toBeCloseTo((8400 / 10800) * (6900 / 8400) * (32 / 35), 12);
      expect(sites[1]?.leadTime).toMatchObject({ orders: 2, maxS: 200 });

      const fleetRow = (await get<{ rows: Row[] }>(`/api/kpis?${range}&scope=fleet`)).rows;
      expect(fleetRow).toHaveLength(1);
      expect(fleetRow[0]).toMatchObject({ site: null, hours: 4, energyKwh: 10, unitsTotal: 43, unitsGood: 38, unitsScrap: 5 });
      expect(fleetRow[0]?.energyPerUnitKwh).toBeCloseTo(10 / 38, 12);

      const lines = (await get<{ rows: Row[] }>(`/api/kpis?${range}&scope=line`)).rows;
      expect(lines.map((r) => [r.site, r.line, r.energyKwh])).toEqual([['site-a', 'additive', 6], ['site-b', 'cnc', 4]]);
      const products = (await get<{ rows: Row[] }>(`/api/kpis?${range}&scope=product`)).rows;
      expect(products.map((r) => [r.product, r.unitsGood])).toEqual([['bracket', 32], ['housing', 6]]);
      const machines = (await get<{ rows: Row[] }>(`/api/kpis?${range}&scope=machine&site=site-a`)).rows;
      expect(machines.map((r) => [r.machine, r.energyKwh, r.unitsTotal])).toEqual([['p1', 5, 30], ['p2', 1, 5]]);
      const byHour = (await get<{ rows: Row[] }>(`/api/kpis?${range}&scope=fleet&groupBy=hour`)).rows;
      expect(byHour.map((r) => [r.periodStart, r.energyKwh, r.unitsGood])).toEqual([[new Date(T0).toISOString(), 7, 20], [new Date(T0 + H).toISOString(), 3, 18]]);
      const bySite = (await get<{ rows: Row[] }>(`/api/kpis?${range}&scope=fleet&groupBy=site`)).rows;
      expect(bySite.map((r) => [r.site, r.energyKwh])).toEqual([['site-a', 6], ['site-b', 4]]);

      const bench = await get<{ rows: { kpi: string; product: string; value: number | null; change: number | null; verdict: string }[] }>(`/api/benchmarks?${range}`);
      const epu = bench.rows.find((r) => r.kpi === 'energyPerUnit' && r.product === 'bracket');
      expect(epu?.value).toBeCloseTo(6 / 32, 12);
      expect(epu?.change).toBeCloseTo(6 / 32 / 0.15 - 1, 12);
      expect(epu?.verdict).toBe('within');
      expect(bench.rows.find((r) => r.kpi === 'scrapRate' && r.product === 'bracket')?.change).toBeCloseTo(1 - 3 / 35 / 0.1, 12);
      expect(bench.rows.find((r) => r.kpi === 'productLineVolume' && r.product === 'bracket')?.value).toBe(35);
      expect(bench.rows.find((r) => r.kpi === 'energyPerUnit' && r.product === 'housing')?.verdict).toBe('no-baseline');

      // a bad range is a clear 400 with a catalogue code
      const bad = await fetch(`http://127.0.0.1:${f.port}/api/kpis?from=${new Date(T0 + H).toISOString()}&to=${new Date(T0).toISOString()}`);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ code: 'SFA_ERR_KPI_QUERY' });
      expect((await fetch(`http://127.0.0.1:${f.port}/api/kpis?scope=galaxy`)).status).toBe(400);
      expect((await fetch(`http://127.0.0.1:${f.port}/api/kpis?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`)).status).toBe(400);
    });

    it('lists the agents with their status, confirmed id and lag, and exposes /metrics', async ({ skip }) => {
      if (!up.mqtt || (kind === 'PostgreSQL' && !up.pg) || !fleet) skip();
      const agents = await get<{ site: string; agent: string; instance: string; online: boolean; confirmedId: number }[]>('/api/agents');
      expect(agents.map((x) => [x.site, x.agent, x.instance, x.online, x.confirmedId])).toEqual([
        ['site-a', 'edge-1', 'ia', false, 0],
        ['site-b', 'edge-2', 'ib', false, 0],
      ]);
      const metrics = await (await fetch(`http://127.0.0.1:${fleet?.port ?? 0}/metrics`)).text();
      expect(metrics).toMatch(/shopfloor_fleet_messages_total\{kind="hours",fleet="[^"]+"\} 5/);
    });
  });
}
