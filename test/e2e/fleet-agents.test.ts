/**
 * Three real agents of three sites (`shopfloor-agent run`, `upstream.confirm: fleet`) forward
 * through Mosquitto to two real fleet processes (`shopfloor-agent fleet`) sharing the
 * subscription and one PostgreSQL schema. At the end:
 *   - PostgreSQL holds every sample of every agent exactly once (the ids each agent's buffer
 *     holds, none twice), and every agent's confirmed id is its last id;
 *   - the fleet's KPIs per site and for the fleet equal the sums of the agents' own `/api/kpis`
 *     components over the same whole hours, ratios recomputed from those sums;
 *   - a late sample on one agent (dated in an hour that closed long ago) changes the fleet's
 *     KPI of that hour, of that site, and nothing else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumComponents, type KpiComponents } from '../../agent/kpi/index.ts';
import { mosquitto, MOSQUITTO_URL, postgres, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { dropSchema, PG_TEST_URL, testSchema } from '../helpers/fleet-messages.ts';
import { endSession } from '../helpers/fleet-peers.ts';
import type { AgentChild } from './agent-child.ts';
import {
  agentBuffer,
  agentComponents,
  closedHours,
  expectRowMatches,
  FleetChild,
  fleetRows,
  H,
  mqttClient,
  publishTelemetry,
  sameComponents,
  startAgent,
  storedSamples,
  telemetry,
  waitConfirmedAll,
  type SiteSetup,
} from './fleet-agents-helpers.ts';
import { freePort } from './fleet-agents-ports.ts';

const HOURS = 3;
const SITES = ['site-1', 'site-2', 'site-3'];

let ready = false;
beforeAll(async () => {
  ready = (await mosquitto()).available && (await postgres()).available;
  if (!ready && process.env.CI === 'true') throw new Error('Mosquitto and PostgreSQL are required in CI');
});

describe('three agents, two fleet processes, PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-fleet-agents-'));
  const prefix = uniqueTopicPrefix('fleet-agents');
  const sourcePrefix = uniqueTopicPrefix('fleet-agents-src');
  const schema = testSchema('agents');
  const group = `g${Math.random().toString(36).slice(2, 10)}`;
  const fleetId = `fa-${process.pid}`;
  const agents: { s: SiteSetup; child: AgentChild; port: number }[] = [];
  const fleets: FleetChild[] = [];
  const { from, to } = closedHours(HOURS);

  afterAll(async () => {
    for (const a of agents) await a.child.exitAfter('SIGTERM');
    for (const f of fleets) await f.kill('SIGTERM');
    if (ready) {
      await endSession(`${fleetId}-a`);
      await endSession(`${fleetId}-b`);
      const c = await mqttClient(MOSQUITTO_URL);
      for (const site of SITES) for (const t of ['status', 'plant', 'confirm']) await c.publishAsync(`${prefix}/${site}/edge-${site}/${t}`, '', { qos: 1, retain: true });
      await c.endAsync();
      await dropSchema(schema);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every sample exactly once and sums the agents\' components into site and fleet KPIs; a late sample changes only its hour', { timeout: 90_000 }, async ({ skip }) => {
    if (!ready) skip();
    for (const w of ['a', 'b']) {
      fleets.push(new FleetChild({ id: `${fleetId}-${w}`, brokerUrl: MOSQUITTO_URL, prefix, group, dataDir: join(dir, `fleet-${w}`), dbUrl: PG_TEST_URL, schema, port: await freePort() }));
    }
    await waitFor(async () => (await fleets[0]?.healthy()) && (await fleets[1]?.healthy()), 60_000, `both fleets healthy (${fleets.map((f) => f.output).join('\n')})`, 200);
    const starts = await Promise.all(
      SITES.map((site) => {
        const s: SiteSetup = { site, agent: `edge-${site}`, dir: join(dir, site), upstreamUrl: MOSQUITTO_URL, prefix, sourceUrl: MOSQUITTO_URL, sourcePrefix };
        return startAgent(s).then((r) => ({ s, ...r }));
      }),
    );
    agents.push(...starts);
    // the agents' sources subscribe after "agent running": wait for their connections
    await waitFor(async () => (await Promise.all(agents.map((a) => fetch(`http://127.0.0.1:${a.port}/healthz`).then((r) => r.json() as Promise<{ sources: { state: string }[] }>)))).every((h) => h.sources[0]?.state === 'connected'), 20_000, 'sources connected', 200);

    const src = await mqttClient(MOSQUITTO_URL);
    let expected = 0;
    try {
      for (const [i, site] of SITES.entries()) {
        for (const m of ['m1', 'm2']) {
          const rows = telemetry(i, m, from, to);
          expected = rows.length * 4;
          await publishTelemetry(src, sourcePrefix, site, m, rows);
        }
      }
      const perAgent = expected * 2;
      for (const a of agents) await waitConfirmedAll(a.port, perAgent, 45_000, `${a.s.site}: ${perAgent} samples stored and confirmed`);

      // exactly once: PostgreSQL holds the ids each agent's buffer holds, each once
      const db = new pg.Client({ connectionString: PG_TEST_URL });
      await db.connect();
      try {
        for (const a of agents) {
          const held = agentBuffer(a.s.dir);
          expect(held.count).toBe(perAgent);
          const stored = await storedSamples(db, schema, held.instance);
          expect(stored, a.s.site).toEqual({ count: held.count, distinct: held.count, sumId: held.sumId, minId: held.minId, maxId: held.maxId });
        }
        const total = await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".samples`);
        expect(Number(total.rows[0]?.n)).toBe(perAgent * SITES.length);
        // the two fleet processes split the load: each stored a share of the rows
        for (const f of fleets) {
          const text = await (await fetch(`http://127.0.0.1:${f.s.port}/metrics`)).text();
          const stored = Number(/^shopfloor_fleet_rows_stored_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
          expect(stored, f.s.id).toBeGreaterThan(0);
          expect(stored, f.s.id).toBeLessThan(perAgent * SITES.length);
        }
      } finally {
        await db.end();
      }

      // fleet KPIs = sums of the agents' own components over the same whole hours
      const fleetPort = fleets[0]?.s.port as number;
      const range = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
      const own = new Map<string, KpiComponents>();
      for (const a of agents) own.set(a.s.site, await agentComponents(a.port, from, to));
      // the agents publish their hours' revisions as samples arrive: wait for the last ones
      await waitFor(
        async () => {
          const rows = await fleetRows(fleetPort, `${range}&scope=site`);
          return SITES.every((site) => sameComponents(rows.find((r) => r.site === site)?.components, own.get(site) as KpiComponents));
        },
        30_000,
        'the fleet\'s site KPIs equal the agents\' sums',
        300,
      );
      const sites = await fleetRows(fleetPort, `${range}&scope=site`);
      expect(sites.map((r) => r.site)).toEqual(SITES);
      for (const site of SITES) expectRowMatches(sites.find((r) => r.site === site), own.get(site) as KpiComponents, site);
      const all = sumComponents([...own.values()]);
      const fleetRow = await fleetRows(fleets[1]?.s.port as number, `${range}&scope=fleet`);
      expect(fleetRow).toHaveLength(1);
      expectRowMatches(fleetRow[0], all, 'fleet');
      // checkable by hand too: every site counted parts and energy
      expect(all.unitsTotal).toBeGreaterThan(0);
      expect(all.energyKwh).toBeGreaterThan(0);

      // a late sample: site-2's m1 went down for 30 s in the second hour
      const before = await fleetRows(fleetPort, `${range}&scope=site&groupBy=hour`);
      const beforeFleet = await fleetRows(fleetPort, `${range}&scope=fleet&groupBy=hour`);
      expect(before).toHaveLength(SITES.length * HOURS);
      const late = from + H + 5 * 60_000 + 30_000;
      const agent2 = agents[1] as (typeof agents)[number];
      const stored2 = await agentComponents(agent2.port, from + H, from + 2 * H);
      await src.publishAsync(`${sourcePrefix}/site-2/m1/telemetry`, JSON.stringify({ ts: late, state: 'down' }), { qos: 1 });
      await waitFor(async () => (await agentComponents(agent2.port, from + H, from + 2 * H)).downS > stored2.downS, 10_000, 'the agent took the late sample', 200);
      const changed = await agentComponents(agent2.port, from + H, from + 2 * H);
      await waitFor(
        async () => sameComponents((await fleetRows(fleetPort, `${range}&scope=site&groupBy=hour`)).find((r) => r.site === 'site-2' && Date.parse(r.periodStart) === from + H)?.components, changed),
        20_000,
        'the late sample in the fleet',
        300,
      );
      const after = await fleetRows(fleetPort, `${range}&scope=site&groupBy=hour`);
      const diff = after.filter((r, i) => JSON.stringify(r) !== JSON.stringify(before[i])).map((r) => [r.site, r.periodStart]);
      expect(diff).toEqual([['site-2', new Date(from + H).toISOString()]]);
      expect(after.find((r) => r.site === 'site-2' && Date.parse(r.periodStart) === from + H)?.components.downS).toBeCloseTo(stored2.downS + 30, 6);
      const afterFleet = await fleetRows(fleetPort, `${range}&scope=fleet&groupBy=hour`);
      expect(afterFleet.filter((r, i) => JSON.stringify(r) !== JSON.stringify(beforeFleet[i])).map((r) => r.periodStart)).toEqual([new Date(from + H).toISOString()]);
      // and the late sample itself is stored once
      await waitConfirmedAll(agent2.port, perAgent + 1, 15_000, 'the late sample confirmed');
    } finally {
      await src.endAsync();
    }
  });
});
