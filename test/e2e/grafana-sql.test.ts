/**
 * The Grafana dashboards (dashboards/grafana/) against the fleet's PostgreSQL schema: the
 * schema made by the real migrations and filled through the real store, the read-only role
 * made by readonly-role.sql, and every panel's and every variable's SQL — enumerated from the
 * JSON, so a panel added without a working query fails here — expanded as Grafana would and
 * run as that role: each returns rows with the expected columns (time first for a time
 * series), and the overview's ratios equal the KPI engine's over the summed components.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadTimeStats, ratiosFromComponents, sumComponents } from '../../agent/kpi/index.ts';
import { PgStore } from '../../agent/fleet/store/index.ts';
import { postgres } from '../helpers/index.ts';
import { dropSchema, PG_TEST_URL, testSchema } from '../helpers/fleet-messages.ts';
import { feedFleet, FLEET_SITES, type FleetFixture } from '../helpers/grafana-fleet-data.ts';
import { grafanaSql, interpolateVariables, expandMacros, intervalSeconds, type TimeRange } from '../helpers/grafana-sql.ts';

const DIR = fileURLToPath(new URL('../../dashboards/grafana/', import.meta.url));
const DS_UID = 'shopfloor-fleet';

interface Target {
  refId: string;
  datasource?: { type?: string; uid?: string };
  format: 'table' | 'time_series';
  rawQuery?: boolean;
  rawSql: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  /** a relative time override: the panel shows the last `timeFrom` up to the dashboard's end */
  timeFrom?: string;
  gridPos?: { h: number; w: number; x: number; y: number };
}
interface Variable {
  name: string;
  type: string;
  query: string;
  datasource?: { uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

function dashboards(): { file: string; d: Dashboard }[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, d: JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Dashboard }));
}

/** The columns each query must return, by `dashboard uid / panel title` or `… / $variable`. */
const EXPECTED: Record<string, readonly string[]> = {
  'shopfloor-fleet-overview/Sites ranked by energy per unit': ['site', 'energy per unit (kWh)', 'scrap rate', 'OEE', 'availability', 'performance', 'quality', 'mean lead time (h)', 'good units', 'energy (kWh)'],
  'shopfloor-fleet-overview/Energy per good unit': ['site', 'energy per unit (kWh)'],
  'shopfloor-fleet-overview/Scrap rate': ['site', 'scrap rate'],
  'shopfloor-fleet-overview/OEE': ['site', 'OEE'],
  'shopfloor-fleet-overview/Lead time': ['site', 'median lead time (h)', 'mean lead time (h)', 'orders'],
  'shopfloor-fleet-overview/Agents': ['online', 'offline or unknown'],
  'shopfloor-fleet-overview/Agents: last seen and confirmation': ['site', 'agent', 'status', 'last seen', 'seen ago (s)', 'confirmed id', 'last id stored', 'ids behind a gap', 'newest sample lag (s)', 'instance'],
  'shopfloor-fleet-overview/Samples per second stored': ['time', 'samples/s'],
  'shopfloor-fleet-site/$site': ['__value', '__text'],
  'shopfloor-fleet-site/$machine': ['__value', '__text'],
  'shopfloor-fleet-site/$signal': ['signal'],
  'shopfloor-fleet-site/Lines': ['line', 'machines', 'energy per unit (kWh)', 'energy (kWh)', 'good units', 'scrap rate', 'OEE'],
  'shopfloor-fleet-site/Machines': ['line', 'machine', 'name', 'product', 'ideal cycle (s)', 'energy (kWh)', 'good units', 'scrap rate', 'OEE'],
  'shopfloor-fleet-site/Energy per hour': ['time', 'energy (kWh)'],
  'shopfloor-fleet-site/Units per hour': ['time', 'good', 'scrap'],
  'shopfloor-fleet-site/Energy per hour by line': ['time', 'metric', 'energy (kWh)'],
  'shopfloor-fleet-site/Raw signal: $machine / $signal': ['time', 'value'],
};

describe('Grafana dashboards: JSON and provisioning', () => {
  it('has two dashboards with unique uids, unique panel ids and every query on the provisioned data source', () => {
    const all = dashboards();
    expect(all.map((x) => x.d.title)).toEqual(['Fleet overview', 'Site drill-down']);
    expect(new Set(all.map((x) => x.d.uid)).size).toBe(all.length);
    const ds = parseYaml(readFileSync(join(DIR, 'provisioning/datasources/fleet.yaml'), 'utf8')) as { datasources: { uid: string; type: string; user: string }[] };
    expect(ds.datasources.map((d) => d.uid)).toEqual([DS_UID]);
    const prov = parseYaml(readFileSync(join(DIR, 'provisioning/dashboards/fleet.yaml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] };
    expect(prov.providers[0]).toMatchObject({ type: 'file' });
    for (const { file, d } of all) {
      expect(d.uid, file).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
      expect(d.schemaVersion, file).toBeGreaterThanOrEqual(36);
      expect(new Set(d.panels.map((p) => p.id)).size, file).toBe(d.panels.length);
      for (const p of d.panels) {
        expect(p.datasource?.uid, `${file} ${p.title}`).toBe(DS_UID);
        expect(p.gridPos, `${file} ${p.title}`).toBeDefined();
        expect(p.targets?.length, `${file} ${p.title}: a panel without a query`).toBeGreaterThan(0);
        for (const t of p.targets ?? []) {
          expect(t.datasource?.uid, `${file} ${p.title}`).toBe(DS_UID);
          expect(t.rawQuery && t.rawSql.trim().length > 0, `${file} ${p.title}`).toBe(true);
          expect(['table', 'time_series']).toContain(t.format);
          // the role's search_path is the fleet schema: no query names a schema of its own
          expect(t.rawSql, `${file} ${p.title}`).not.toMatch(/\b(public|t_\w+)\./);
        }
      }
      for (const v of d.templating.list) expect(v.type === 'query' ? v.datasource?.uid : DS_UID, `${file} $${v.name}`).toBe(DS_UID);
    }
  });

  it('expands Grafana macros and variables as Grafana documents them', () => {
    const range = { from: Date.UTC(2026, 0, 1, 0, 0, 0), to: Date.UTC(2026, 0, 1, 6, 0, 0) };
    expect(expandMacros(`SELECT $__timeGroupAlias(ts, '1h'), 1 WHERE $__timeFilter(ts) AND a >= $__timeFrom() AND a < $__timeTo()`, range)).toBe(
      `SELECT floor(extract(epoch from ts)/3600)*3600 AS "time", 1 WHERE ts BETWEEN '2026-01-01T00:00:00Z' AND '2026-01-01T06:00:00Z' AND a >= '2026-01-01T00:00:00Z' AND a < '2026-01-01T06:00:00Z'`,
    );
    expect(expandMacros('$__unixEpochFilter(t)', range)).toBe('t >= 1767225600 AND t <= 1767247200');
    expect(interpolateVariables(`site = '$site' AND m IN ($m) AND x = '\${site}'`, { site: "o'hare", m: ['a', 'b'] })).toBe(`site = 'o''hare' AND m IN ('a','b') AND x = 'o''hare'`);
    expect(() => expandMacros('$__interval_ms()', range)).toThrow(/not implemented/);
    expect(() => interpolateVariables('$nobody', {})).toThrow(/no value/);
  });
});

describe('Grafana dashboards: every query against the fleet schema, as the read-only role', () => {
  let up = false;
  const schema = testSchema('grafana');
  const role = `sfa_grafana_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  let admin: pg.Client | undefined;
  let reader: pg.Client | undefined;
  let fixture: FleetFixture;
  let range: TimeRange;

  beforeAll(async () => {
    up = (await postgres()).available;
    if (!up) return;
    const store = await PgStore.open({ url: PG_TEST_URL, schema });
    try {
      fixture = await feedFleet(store);
    } finally {
      await store.close();
    }
    range = { from: fixture.from, to: fixture.to };
    admin = new pg.Client({ connectionString: PG_TEST_URL });
    await admin.connect();
    const owner = (await admin.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u as string;
    const script = readFileSync(join(DIR, 'readonly-role.sql'), 'utf8');
    await admin.query(psqlVariables(script, { schema, owner, role, password: `pw-${role}`, DBNAME: new URL(PG_TEST_URL).pathname.slice(1) }));
    const url = new URL(PG_TEST_URL);
    url.username = role;
    url.password = `pw-${role}`;
    reader = new pg.Client({ connectionString: url.toString() });
    await reader.connect();
  }, 60_000);

  afterAll(async () => {
    await reader?.end();
    if (admin) {
      await admin.query(`DROP OWNED BY "${role}"`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS "${role}"`);
      await admin.end();
    }
    if (up) await dropSchema(schema);
  });

  it('the role reads the fleet schema through its search_path and cannot write', async ({ skip }) => {
    if (!up) skip();
    const r = reader as pg.Client;
    expect((await r.query<{ search_path: string }>('SHOW search_path')).rows[0]?.search_path).toBe(schema);
    expect((await r.query<{ jit: string }>('SHOW jit')).rows[0]?.jit).toBe('off');
    expect((await r.query<{ default_transaction_read_only: string }>('SHOW default_transaction_read_only')).rows[0]?.default_transaction_read_only).toBe('on');
    expect(Number((await r.query<{ n: string }>('SELECT count(*) AS n FROM agents')).rows[0]?.n)).toBe(FLEET_SITES.length);
    await expect(r.query(`DELETE FROM agents`)).rejects.toThrow(/read-only transaction|permission denied/);
    await r.query('BEGIN READ WRITE');
    await expect(r.query(`INSERT INTO sites (id, updated_at) VALUES ('x', now())`)).rejects.toThrow(/permission denied/);
    await r.query('ROLLBACK');
    // a table a later migration adds is readable without granting again (default privileges)
    await (admin as pg.Client).query(`CREATE TABLE "${schema}".later_table (x int); INSERT INTO "${schema}".later_table VALUES (1)`);
    expect((await r.query('SELECT x FROM later_table')).rows).toEqual([{ x: 1 }]);
  });

  it('runs every variable and panel query of both dashboards with rows and the expected columns', async ({ skip }) => {
    if (!up) skip();
    const r = reader as pg.Client;
    const seen = new Set<string>();
    const run = async (key: string, rawSql: string, vars: Record<string, string>, format: 'table' | 'time_series' | 'variable', timeFrom?: string): Promise<pg.QueryResult> => {
      seen.add(key);
      const panelRange = timeFrom === undefined ? range : { from: range.to - intervalSeconds(timeFrom) * 1000, to: range.to };
      const res = await r.query(grafanaSql(rawSql, panelRange, vars)).catch((err: Error) => {
        throw new Error(`${key}: ${err.message}`);
      });
      expect(res.rows.length, `${key} returns rows`).toBeGreaterThan(0);
      expect(res.fields.map((f) => f.name), key).toEqual(EXPECTED[key] ?? [`(no expected columns declared for ${key})`]);
      for (const f of res.fields) expect(res.rows.some((row: Record<string, unknown>) => row[f.name] !== null), `${key}: column ${f.name} is null in every row`).toBe(true);
      if (format === 'time_series') {
        const times = res.rows.map((row: Record<string, unknown>) => Number(row.time));
        expect(times.every((t, i) => Number.isFinite(t) && (i === 0 || t >= (times[i - 1] as number))), `${key}: time ascending`).toBe(true);
      }
      return res;
    };
    for (const { d } of dashboards()) {
      // variables in dashboard order, each taking its first value as Grafana does on load
      const vars: Record<string, string> = {};
      for (const v of d.templating.list) {
        const res = await run(`${d.uid}/$${v.name}`, v.query, vars, 'variable');
        const first = res.rows[0] as Record<string, unknown>;
        vars[v.name] = String(first.__value ?? Object.values(first)[0]);
      }
      for (const p of d.panels) for (const t of p.targets ?? []) await run(`${d.uid}/${p.title}`, t.rawSql, vars, t.format, p.timeFrom);
    }
    expect([...seen].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it("the overview's ratios are the KPI engine's over the summed components, per site", async ({ skip }) => {
    if (!up) skip();
    const overview = dashboards().find((x) => x.d.uid === 'shopfloor-fleet-overview')?.d as Dashboard;
    const sql = (title: string): string => grafanaSql(overview.panels.find((p) => p.title === title)?.targets?.[0]?.rawSql as string, range, {});
    const ranking = (await (reader as pg.Client).query(sql('Sites ranked by energy per unit'))).rows as Record<string, number | string>[];
    const lead = (await (reader as pg.Client).query(sql('Lead time'))).rows as Record<string, number | string>[];
    expect(ranking.length).toBe(FLEET_SITES.length);
    const epus: number[] = [];
    for (const site of FLEET_SITES) {
      const sum = sumComponents(fixture.hours.filter((h) => h.site === site).map((h) => h.components));
      const want = ratiosFromComponents(sum);
      const name = site.replace('site-', 'Site ').replace(/\b\w/g, (c) => c.toUpperCase());
      const row = ranking.find((x) => x.site === name) as Record<string, number>;
      expect(row, name).toBeDefined();
      expect(row['energy per unit (kWh)']).toBeCloseTo(want.energyPerUnitKwh as number, 9);
      expect(row['scrap rate']).toBeCloseTo(want.scrapRate as number, 9);
      expect(row.OEE).toBeCloseTo(want.oee as number, 9);
      expect(row.availability).toBeCloseTo(want.availability as number, 9);
      expect(row.performance).toBeCloseTo(want.performance as number, 9);
      const lt = leadTimeStats(sum);
      const l = lead.find((x) => x.site === name) as Record<string, number | string>;
      expect(Number(l['median lead time (h)'])).toBeCloseTo((lt.p50S as number) / 3600, 9);
      expect(Number(l['mean lead time (h)'])).toBeCloseTo((lt.meanS as number) / 3600, 9);
      expect(Number(l.orders)).toBe(lt.orders);
      epus.push(want.energyPerUnitKwh as number);
    }
    // ranked: lowest energy per unit first
    expect(ranking.map((x) => x['energy per unit (kWh)'])).toEqual([...epus].sort((a, b) => a - b).map((e) => expect.closeTo(e, 9)));
    const agents = (await (reader as pg.Client).query(sql('Agents'))).rows;
    expect(agents.map((x: Record<string, string>) => [Number(x.online), Number(x['offline or unknown'])])).toEqual([[2, 1]]);
  });

  it("the drill-down's hourly series are the site's hours summed, on the hour", async ({ skip }) => {
    if (!up) skip();
    const drill = dashboards().find((x) => x.d.uid === 'shopfloor-fleet-site')?.d as Dashboard;
    const site = FLEET_SITES[1];
    const rawSql = drill.panels.find((p) => p.title === 'Units per hour')?.targets?.[0]?.rawSql as string;
    const rows = (await (reader as pg.Client).query(grafanaSql(rawSql, range, { site }))).rows as Record<string, string | number>[];
    const want = new Map<number, { good: number; scrap: number }>();
    for (const h of fixture.hours.filter((x) => x.site === site)) {
      const w = want.get(h.hourStart / 1000) ?? { good: 0, scrap: 0 };
      want.set(h.hourStart / 1000, { good: w.good + (h.components.unitsGood ?? 0), scrap: w.scrap + (h.components.unitsScrap ?? 0) });
    }
    expect(rows.map((x) => [Number(x.time), Number(x.good), Number(x.scrap)])).toEqual([...want].map(([t, w]) => [t, w.good, w.scrap]));
    // the overview's rate over its last hour counts every sample stored in that hour once
    const overview = dashboards().find((x) => x.d.uid === 'shopfloor-fleet-overview')?.d as Dashboard;
    const ratePanel = overview.panels.find((p) => p.title === 'Samples per second stored') as Panel;
    const last = { from: range.to - intervalSeconds(ratePanel.timeFrom as string) * 1000, to: range.to };
    const rate = (await (reader as pg.Client).query(grafanaSql(ratePanel.targets?.[0]?.rawSql as string, last, {}))).rows as Record<string, string>[];
    const stored = await (admin as pg.Client).query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".samples WHERE ts >= to_timestamp($1 / 1000.0) AND ts <= to_timestamp($2 / 1000.0)`, [last.from, last.to]);
    expect(Math.round(rate.reduce((a, x) => a + Number(x['samples/s']) * 60, 0))).toBe(Number(stored.rows[0]?.n));
    expect(Number(stored.rows[0]?.n)).toBeGreaterThan(1000);
  });
});

/** psql's `:"name"` (identifier) and `:'name'` (literal) variables, as `psql -v` substitutes them. */
function psqlVariables(sql: string, vars: Record<string, string>): string {
  return sql.replace(/:(["'])(\w+)\1/g, (_, q: string, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`psql variable ${name} is not set`);
    return q === '"' ? `"${v.replace(/"/g, '""')}"` : `'${v.replace(/'/g, "''")}'`;
  });
}
