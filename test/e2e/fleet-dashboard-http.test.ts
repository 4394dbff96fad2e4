/**
 * The fleet dashboard over HTTP (no browser, no broker: the fleet's HTTP API over a SQLite store
 * holding three hand-built sites): `/` serves the page and `/assets/fleet.{js,css}` the bundle
 * built from dashboards/fleet, with the agent's security headers (a CSP allowing exactly the
 * page's inline script by hash, no framing), a foreign Host refused and the token required when
 * configured; `/api/benchmarks?groupBy=site`, `/api/sites` and `/api/kpis?site=` answer what
 * the page draws.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleetHttp } from '../../agent/fleet/fleet-http.ts';
import { FleetMetrics } from '../../agent/fleet/fleet-metrics.ts';
import { openFleetStore, type FleetStore } from '../../agent/fleet/store/index.ts';
import { fleetConfig } from '../helpers/fleet-peers.ts';
import { DASHBOARD_BENCHMARKS, dashboardBatch, dashboardFixture } from '../helpers/fleet-dashboard-fixture.ts';

const TOKEN = 'fleet-dashboard-token-0123456789';
const INDEX = readFileSync(new URL('../../dashboards/fleet/index.html', import.meta.url), 'utf8');
const silent = { error: () => undefined };

interface BenchRow {
  site: string;
  kpi: string;
  product: string;
  change: number | null;
  verdict: string;
  band: [number, number];
}

/** A GET with a Host header of our choosing (fetch does not let one set it). */
function rawGet(port: number, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('fleet dashboard over HTTP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-fleet-dash-'));
  let store: FleetStore;
  const servers: { port: number; close(): Promise<void> }[] = [];
  const benchmarks = fleetConfig({ id: 'dash', prefix: 'x', group: 'g', dataDir: dir, extra: DASHBOARD_BENCHMARKS }).benchmarks;

  const start = async (token: string | undefined): Promise<number> => {
    const s = await startFleetHttp({ host: '127.0.0.1', port: 0, token, store, metrics: new FleetMetrics({ fleet: 'dash' }), health: () => ({ status: 'ok' }), benchmarks, log: silent });
    servers.push(s);
    return s.port;
  };

  beforeAll(async () => {
    store = await openFleetStore({ schema: 'unused' }, dir, 'fleet-dashboard-test');
    await store.commit(dashboardBatch(dashboardFixture()));
  });

  afterAll(async () => {
    for (const s of servers) await s.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page and its bundle with a CSP that allows only its own inline script', async () => {
    const port = await start(undefined);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toBe(INDEX);
    expect(html).toContain('/assets/fleet.js');
    const inline = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(inline).toContain('sfa-theme');
    const csp = page.headers.get('content-security-policy') ?? '';
    const hash = createHash('sha256').update(inline, 'utf8').digest('base64');
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');

    const js = await fetch(`http://127.0.0.1:${port}/assets/fleet.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    expect(js.headers.get('content-security-policy')).toContain("script-src 'self'");
    const code = await js.text();
    // the fleet's own code and the operator dashboard's modules it imports, bundled
    expect(code).toContain('/api/benchmarks?groupBy=site');
    expect(code).toContain('/api/agents');
    expect(code).toContain('kWh/unit');
    const css = await fetch(`http://127.0.0.1:${port}/assets/fleet.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    const sheet = await css.text();
    expect(sheet).toContain('.rank'); // dashboards/fleet/fleet.css
    expect(sheet).toContain('.topbar'); // dashboards/app/styles.css
  });

  it('refuses a foreign Host before anything else (DNS rebinding)', async () => {
    const port = await start(undefined);
    expect(await rawGet(port, '/', `127.0.0.1:${port}`)).toBe(200);
    expect(await rawGet(port, '/', 'evil.example')).toBe(421);
    expect(await rawGet(port, '/api/agents', 'evil.example')).toBe(421);
  });

  it('asks for the token when one is configured', async () => {
    const port = await start(TOKEN);
    const anon = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/html' } });
    expect(anon.status).toBe(401);
    expect(await anon.text()).toContain('name="token"');
    expect((await fetch(`http://127.0.0.1:${port}/assets/fleet.js`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/api/agents`)).status).toBe(401);
    const ok = await fetch(`http://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe(INDEX);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    // a screen signs in once through the form; its cookie opens the page and the API
    const login = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${TOKEN}&next=%2F%23%2Fsite%2Fsite-a` });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/#/site/site-a');
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^sfa_session=./);
    expect((await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/api/agents`, { headers: { cookie } })).status).toBe(200);
  });

  it('answers the per-site benchmarks, the sites and a site\'s machines the page draws', async () => {
    const port = await start(undefined);
    const get = async <T>(path: string): Promise<T> => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(r.status, path).toBe(200);
      return (await r.json()) as T;
    };
    const bench = (await get<{ rows: BenchRow[] }>('/api/benchmarks?groupBy=site')).rows;
    const pick = (site: string, kpi: string): BenchRow | undefined => bench.find((r) => r.site === site && r.kpi === kpi);
    expect(pick('site-a', 'energyPerUnit')?.change).toBeCloseTo(3.9 / 20 / 0.15 - 1, 9);
    expect(pick('site-a', 'energyPerUnit')).toMatchObject({ verdict: 'within', band: [0.2, 0.4], product: 'bracket' });
    expect(pick('site-a', 'scrapRate')?.change).toBeCloseTo(1 - 1 / 21 / 0.1, 9);
    expect(pick('site-a', 'scrapRate')?.verdict).toBe('better');
    expect(pick('site-a', 'leadTime')?.verdict).not.toBe('no-data');
    expect(pick('site-b', 'energyPerUnit')?.change).toBeCloseTo(6 / 20 / 0.15 - 1, 9);
    expect(pick('site-b', 'energyPerUnit')?.verdict).toBe('worse');
    expect(pick('site-b', 'scrapRate')?.verdict).toBe('worse');
    expect(pick('site-c', 'energyPerUnit')).toMatchObject({ product: 'housing', verdict: 'no-baseline' });
    // a site lists its own products only, not the fleet's other baselines
    expect(bench.filter((r) => r.site === 'site-c').map((r) => r.product)).toEqual(Array(5).fill('housing'));
    // one site: the same rows as that site's slice of the grouped answer
    const onlyB = (await get<{ rows: BenchRow[] }>('/api/benchmarks?groupBy=site&site=site-b')).rows;
    expect(onlyB).toEqual(bench.filter((r) => r.site === 'site-b'));
    // without groupBy the answer is the fleet-wide one it always was (no `site` on rows)
    const plain = (await get<{ rows: (BenchRow & { site?: string })[] }>('/api/benchmarks')).rows;
    expect(plain.every((r) => r.site === undefined)).toBe(true);
    expect(plain.find((r) => r.kpi === 'energyPerUnit' && r.product === 'bracket')?.change).toBeCloseTo((3.9 + 6) / 40 / 0.15 - 1, 9);

    const sites = await get<{ id: string; name: string; timezone: string; machines: { id: string; line: string }[] }[]>('/api/sites');
    expect(sites.map((s) => [s.id, s.name, s.machines.map((m) => m.id).sort()])).toEqual([
      ['site-a', 'Site site-a', ['a-cnc-1', 'a-printer-1']],
      ['site-b', 'Site site-b', ['b-printer-1']],
      ['site-c', 'Site site-c', ['c-press-1']],
    ]);
    const machines = (await get<{ rows: { site: string; machine: string; line: string }[] }>('/api/kpis?scope=machine&site=site-a')).rows;
    expect(machines.map((r) => [r.site, r.line, r.machine])).toEqual([['site-a', 'additive', 'a-printer-1'], ['site-a', 'finishing', 'a-cnc-1']]);
    const agents = await get<{ agent: string; online: boolean; backlog: number }[]>('/api/agents');
    expect(agents.map((x) => [x.agent, x.online, x.backlog])).toEqual([['edge-a', true, 0], ['edge-b', true, 20], ['edge-c', false, 0]]);
  });
});
