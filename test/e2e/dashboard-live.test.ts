/**
 * The operator dashboard in real Chromium against the agent reading the demo plant:
 * a tile for every machine grouped by line; a state forced in the simulator reaches its
 * tile within 3 s without a reload; the machine page draws its trends and orders; the
 * benchmark page shows the bands; the health page shows sources, tags and the buffer; both
 * themes; no console errors. Screenshots at 1920×1080 and 1024×768 go to test-results/; the
 * README's dashboards/screenshot.png is rewritten when SFA_UPDATE_SCREENSHOT=1 (or missing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { connectAsync } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { PlantSimulator, type SimulatorEndpoints } from '../../drivers/simulator/index.ts';
import { chromium, waitFor } from '../helpers/index.ts';
import { launchChromium } from './dashboard-browser.ts';

const DEMO = readFileSync(new URL('../../config/demo.yaml', import.meta.url), 'utf8');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = join(ROOT, 'test-results');
const README_SHOT = join(ROOT, 'dashboards', 'screenshot.png');
const MACHINES = ['printer-1', 'printer-2', 'cnc-1', 'assembly-1'];

const need = await chromium();

describe.skipIf(!need.available)('operator dashboard on the demo plant (Chromium)', () => {
  let dir: string;
  let sim: PlantSimulator;
  let ep: SimulatorEndpoints;
  let agent: Agent;
  let base: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  const shot = async (p: Page, name: string): Promise<string> => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, `dashboard-${name}.png`);
    await p.screenshot({ path: file });
    return file;
  };

  const watchConsole = (p: Page): void => {
    p.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${p.url()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => consoleErrors.push(`${p.url()}: ${e.message}`));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-dash-'));
    sim = new PlantSimulator({ seed: 11, speed: 10, opcuaPort: 0, mqttPort: 0, autoStart: false, pkiDir: join(dir, 'sim-pki') });
    ep = await sim.start();
    const text = DEMO.replaceAll('48401', String(ep.opcuaPort))
      .replaceAll('18831', String(ep.mqttPort))
      .replace('enabled: true', 'enabled: false')
      .replace('dataDir: ./data/demo', `dataDir: ${join(dir, 'data')}`)
      .replace('port: 8080', 'port: 0');
    const res = loadConfigText(text, { file: 'demo.yaml' });
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    agent = new Agent(res.config, pino({ level: 'silent' }));
    const { httpPort } = await agent.start();
    base = `http://127.0.0.1:${httpPort}`;
    await waitFor(() => agent.health().sources.every((s) => s.state === 'connected'), 15_000, 'sources connected');
    sim.resume();
    await waitFor(() => agent.kpis.machines().every((m) => m.state !== null), 15_000, 'every machine to report a state');
    // some output, so the tiles and charts have numbers
    await new Promise((r) => setTimeout(r, 4000));
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    page = await ctx.newPage();
    watchConsole(page);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows a tile for every machine, grouped by line, with units on every number', async () => {
    await page.goto(base);
    await page.waitForSelector('[data-testid="tile"][data-machine="assembly-1"]', { timeout: 15_000 });
    const ids = await page.$$eval('[data-testid="tile"]', (els) => els.map((e) => (e as HTMLElement).dataset.machine));
    expect(ids.sort()).toEqual([...MACHINES].sort());
    const lines = await page.$$eval('section.line', (els) =>
      els.map((e) => [(e as HTMLElement).dataset.line, [...e.querySelectorAll('[data-testid="tile"]')].map((t) => (t as HTMLElement).dataset.machine)]),
    );
    expect(lines).toEqual([
      ['additive', ['printer-1', 'printer-2']],
      ['machining', ['cnc-1']],
      ['assembly', ['assembly-1']],
    ]);
    // every tile: a state colour, time in state, and four numbers each with its unit
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="tile"] [data-testid="good"] .num')].every((n) => n.textContent !== '–'), null, { timeout: 15_000 });
    for (const id of MACHINES) {
      const tile = page.locator(`[data-testid="tile"][data-machine="${id}"]`);
      expect(await tile.getAttribute('data-state')).toMatch(/^(running|idle|down|planned_stop)$/);
      expect(await tile.getAttribute('data-stale')).toBe('false');
      expect(await tile.locator('[data-testid="in-state"]').textContent()).toMatch(/^for \d+ (s|min)/);
      expect(await tile.locator('[data-testid="good"] .unit').textContent()).toBe('units');
      expect(await tile.locator('[data-testid="scrap"] .unit').textContent()).toBe('units');
      expect(await tile.locator('[data-testid="epu"] .unit').textContent()).toBe('kWh/unit');
      expect(await tile.locator('[data-testid="oee"] .unit').textContent()).toBe('%');
    }
    // the numbers are the agent's own for the current shift
    const kpi = (await (await fetch(`${base}/api/overview`)).json()) as { kpi: { rows: { machine: string; unitsGood: number }[] } };
    const apiGood = kpi.kpi.rows.find((r) => r.machine === 'printer-1')?.unitsGood ?? -1;
    const shown = Number((await page.locator('[data-machine="printer-1"] [data-testid="good"] .num').textContent())?.replace(/[^\d]/g, ''));
    expect(Math.abs(shown - apiGood)).toBeLessThanOrEqual(3); // the plant keeps producing between the two reads
    expect(await page.locator('[data-testid="link"]').textContent()).toBe('LIVE');
    await shot(page, 'overview-1920x1080');
  });

  it('says beside OEE and availability how much of the shift was measured (the agent started mid-shift)', async () => {
    // the demo's shifts cover the day, so this one began before the agent: its earlier hours were
    // measured by nobody, and availability and OEE cover only the time since (DESIGN.md §4)
    const api = (await (await fetch(`${base}/api/overview`)).json()) as { kpi: { rows: { machine: string; coverage: number | null }[] } };
    const coverage = new Map(api.kpi.rows.map((r) => [r.machine, r.coverage]));
    expect([...coverage.keys()].sort()).toEqual([...MACHINES].sort());
    const NOTE = /^measured (< )?(\d+) % of planned time$/;
    /** the note's whole percent next to the API's (the shift goes on between the two reads) */
    const expectNote = async (notes: ReturnType<Page['locator']>, cov: number | null | undefined): Promise<void> => {
      if (cov === null || cov === undefined || cov >= 1) {
        expect(await notes.count()).toBe(0);
        return;
      }
      const m = NOTE.exec((await notes.textContent()) ?? '');
      expect(m, 'a coverage note').not.toBeNull();
      const shown = m?.[1] === undefined ? Number(m?.[2]) : 0; // "< 1 %"
      expect(Math.abs(shown - cov * 100)).toBeLessThanOrEqual(2);
    };
    await page.goto(`${base}/#/`);
    await page.waitForSelector('[data-testid="tile"][data-machine="assembly-1"] [data-testid="oee"]', { timeout: 15_000 });
    for (const id of MACHINES) await expectNote(page.locator(`[data-testid="tile"][data-machine="${id}"] [data-testid="oee"] [data-testid="coverage"]`), coverage.get(id));
    await page.goto(`${base}/#/machine/printer-1`);
    const cell = (label: string): ReturnType<Page['locator']> => page.locator('.kpi', { has: page.locator('.label', { hasText: new RegExp(`^${label}$`) }) });
    await cell('OEE').waitFor({ timeout: 10_000 });
    for (const label of ['Availability', 'OEE']) await expectNote(cell(label).locator('[data-testid="coverage"]'), coverage.get('printer-1'));
    expect(await cell('Performance').locator('[data-testid="coverage"]').count()).toBe(0);
    await page.goto(`${base}/#/`);
  });

  it('GET /api/stream is Server-Sent Events: a snapshot of state, kpi and health, then samples', async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/api/stream`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const seen = new Map<string, unknown[]>();
    let text = '';
    const dec = new TextDecoder();
    const end = Date.now() + 10_000;
    while (Date.now() < end && !['state', 'kpi', 'health', 'sample'].every((e) => seen.has(e))) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
      let i: number;
      while ((i = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, i);
        text = text.slice(i + 2);
        const ev = /^event: (\w+)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) seen.set(ev, [...(seen.get(ev) ?? []), JSON.parse(data)]);
      }
    }
    ac.abort();
    expect([...seen.keys()].sort()).toEqual(['health', 'kpi', 'sample', 'state']);
    expect((seen.get('state') as { id: string }[]).map((s) => s.id).slice(0, 4).sort()).toEqual([...MACHINES].sort());
    const kpi = seen.get('kpi')?.[0] as { shift: { name: string }; rows: { machine: string }[] };
    expect(['early', 'late', 'night']).toContain(kpi.shift.name);
    expect(kpi.rows.map((r) => r.machine).sort()).toEqual([...MACHINES].sort());
    const sample = seen.get('sample')?.[0] as { samples: { machine: string; signal: string; ts: number; quality: string }[] };
    expect(sample.samples[0]).toMatchObject({ machine: expect.any(String), signal: expect.any(String), ts: expect.any(Number), quality: 'good' });
    expect((seen.get('health')?.[0] as { sources: unknown[] }).sources).toHaveLength(2);
  });

  it('a state forced in the simulator reaches its tile within 3 s, without a reload', async () => {
    await page.evaluate(() => ((window as unknown as { noReload: number }).noReload = 42));
    for (const id of ['cnc-1', 'assembly-1'] as const) {
      const tile = page.locator(`[data-testid="tile"][data-machine="${id}"]`);
      const before = await tile.getAttribute('data-state');
      const target = before === 'down' ? 'planned_stop' : 'down';
      const t0 = Date.now();
      sim.setState(id, target);
      await page.waitForSelector(`[data-testid="tile"][data-machine="${id}"][data-state="${target}"]`, { timeout: 3000 });
      const took = Date.now() - t0;
      expect(took, `${id} tile updated after ${took} ms`).toBeLessThan(3000);
      expect(await tile.locator('[data-testid="state"]').textContent()).toBe(target === 'down' ? 'Down' : 'Planned stop');
      expect(await tile.locator('[data-testid="in-state"]').textContent()).toMatch(/^for \d+ s$/);
    }
    expect(await page.evaluate(() => (window as unknown as { noReload?: number }).noReload)).toBe(42);
    // the plant strip counts them too, and turns red
    expect(Number(await page.locator('[data-testid="plant-strip"] [data-testid="down"] .num').textContent())).toBeGreaterThanOrEqual(2);
    expect(await page.locator('[data-testid="plant-strip"] [data-testid="down"]').getAttribute('class')).toContain('alarm');
    await shot(page, 'overview-forced-down-1920x1080');
    sim.setState('cnc-1', 'running');
    sim.setState('assembly-1', 'running');
    await page.waitForSelector('[data-machine="cnc-1"][data-state="running"]', { timeout: 3000 });
    await page.waitForSelector('[data-machine="assembly-1"][data-state="running"]', { timeout: 3000 });
  });

  it('the machine page draws energy, output and state trends and the orders with lead times', async () => {
    // an MES reports an order for the CNC cell: released an hour before it completed
    const client = await connectAsync(ep.mqttUrl, { clientId: `dash-test-${process.pid}` });
    const now = Date.now();
    for (const [event, ts] of [['released', now - 3_601_000], ['started', now - 1_800_000], ['completed', now - 1000]] as const) {
      await client.publishAsync('mes/orders', JSON.stringify({ orderId: 'ORD-TEST-1', event, ts: new Date(ts).toISOString(), product: 'housing-b', quantity: 40, machine: 'cnc-1' }), { qos: 1 });
    }
    await client.endAsync();
    await waitFor(() => agent.buffer.latest('cnc-1').some((l) => l.signal === 'order_event' && String(l.value).includes('ORD-TEST-1') && String(l.value).includes('completed')), 5000, 'the order events stored');

    await page.click('[data-testid="tile"][data-machine="cnc-1"] a');
    await page.waitForSelector('[data-testid="chart-energy"] canvas', { timeout: 10_000 });
    await page.waitForSelector('[data-testid="chart-output"] canvas');
    await page.waitForSelector('[data-testid="state-strip"] .seg');
    expect(page.url()).toContain('#/machine/cnc-1');
    expect(await page.locator('[data-testid="machine-state"]').textContent()).toBe('Running');
    const legend = await page.locator('[data-testid="chart-output"] .u-legend').textContent();
    expect(legend).toContain('Good (units)');
    expect(legend).toContain('Scrap (units)');
    expect(await page.locator('[data-testid="chart-energy"] .u-legend').textContent()).toContain('Energy (kWh)');
    const row = page.locator('[data-testid="orders"] tr', { hasText: 'ORD-TEST-1' });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toMatch(/1 h 00 min from released/);
    await page.click('button[data-range="week"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="chart-energy"]')?.closest('.panel')?.querySelector('h3')?.textContent === 'Energy per 6 h', null, { timeout: 10_000 });
    await shot(page, 'machine-1920x1080');
  });

  it('the benchmark page shows each KPI against the brief\'s band, with baseline, verdict and source', async () => {
    await page.goto(`${base}/#/benchmarks`);
    const api = await fetch(`${base}/api/benchmarks`);
    expect(api.status).toBe(200);
    const body = (await api.json()) as { rows: { kpi: string; scope: string; band: [number, number]; source: string; verdict: string }[] };
    expect(body.rows.length).toBeGreaterThan(0);
    await page.waitForSelector('[data-testid="benchmark"]', { timeout: 10_000 });
    const cards = await page.$$eval('[data-testid="benchmark"]', (els) =>
      els.map((e) => ({
        kpi: (e as HTMLElement).dataset.kpi,
        band: e.querySelector('[data-testid="band"] .band') !== null,
        bandText: e.querySelector('[data-testid="band-text"]')?.textContent ?? '',
        source: e.querySelector('[data-testid="source"]')?.textContent ?? '',
        verdict: (e as HTMLElement).dataset.verdict,
      })),
    );
    expect(cards).toHaveLength(body.rows.length);
    for (const [i, r] of body.rows.entries()) {
      const c = cards[i];
      expect(c?.kpi).toBe(r.kpi);
      expect(c?.band, `${r.kpi} draws its band`).toBe(true);
      expect(c?.bandText).not.toBe('');
      expect(c?.source).toBe(r.source);
      expect(c?.verdict).toBe(r.verdict);
    }
    expect(cards.find((c) => c.kpi === 'energyPerUnit')?.bandText).toBe('+20 % to +40 % extra energy');
    await shot(page, 'benchmarks-1920x1080');
  });

  it('the health page shows sources, the last sample per tag, dead letters and the buffer', async () => {
    await page.goto(`${base}/#/health`);
    await page.waitForSelector('[data-testid="sources"] tr[data-source="cells-opcua"]', { timeout: 10_000 });
    expect(await page.locator('tr[data-source="cells-opcua"] .chip').textContent()).toBe('connected');
    expect(await page.locator('tr[data-source="cells-mqtt"] .chip').textContent()).toBe('connected');
    expect(await page.locator('tr[data-source="cells-mqtt"]').textContent()).toContain('assembly-1');
    const tags = await page.locator('[data-testid="tags"] tbody tr').count();
    expect(tags).toBeGreaterThanOrEqual(20);
    expect(await page.locator('[data-testid="buffer-samples"] .unit').textContent()).toBe('samples');
    expect(await page.locator('[data-testid="dead-letters"]').count()).toBe(1);
    expect(await page.locator('[data-testid="upstream"]').textContent()).toBe(agent.health().upstream.state);
    await shot(page, 'health-1920x1080');
  });

  it('switches to the light theme and keeps the choice', async () => {
    await page.goto(`${base}/#/`);
    await page.waitForSelector('[data-testid="tile"]');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    const darkBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.click('[data-testid="theme"]');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe(darkBg);
    await page.reload();
    await page.waitForSelector('[data-testid="tile"]');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await shot(page, 'overview-light-1920x1080');
    await page.click('[data-testid="theme"]');
  });

  it('is usable by touch at 1024×768: big targets, a tap opens a machine', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1024, height: 768 }, hasTouch: true, isMobile: false });
    const tablet = await ctx.newPage();
    watchConsole(tablet);
    await tablet.goto(base);
    await tablet.waitForSelector('[data-testid="tile"][data-machine="assembly-1"]', { timeout: 15_000 });
    await tablet.waitForFunction(() => [...document.querySelectorAll('[data-testid="tile"] [data-testid="good"] .num')].every((n) => n.textContent !== '–'), null, { timeout: 15_000 });
    // nothing wider than the screen
    expect(await tablet.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);
    const small = await tablet.$$eval('a.tab, button, .tile-link', (els) =>
      els.map((e) => ({ what: e.textContent?.trim().slice(0, 20), h: e.getBoundingClientRect().height, w: e.getBoundingClientRect().width })).filter((b) => b.h < 44 || b.w < 44),
    );
    expect(small).toEqual([]);
    // looked up and measured in one step, and again while no number is there to measure: the
    // live feed re-renders tiles, and a number replaced between a handle's look-up and its
    // measurement is detached (no computed style: NaN)
    const fontPx = (): Promise<number> =>
      tablet.evaluate(() => {
        const e = document.querySelector('[data-testid="tile"] [data-testid="good"] .num');
        return e?.isConnected ? parseFloat(getComputedStyle(e).fontSize) : Number.NaN;
      });
    await expect.poll(fontPx, { timeout: 5000 }).toBeGreaterThanOrEqual(24);
    await shot(tablet, 'overview-1024x768');
    await tablet.tap('[data-testid="tile"][data-machine="printer-2"] .tile-link');
    await tablet.waitForSelector('[data-testid="chart-energy"] canvas', { timeout: 10_000 });
    expect(tablet.url()).toContain('#/machine/printer-2');
    await shot(tablet, 'machine-1024x768');
    await tablet.tap('a.tab[data-page="health"]');
    await tablet.waitForSelector('[data-testid="sources"]', { timeout: 10_000 });
    await shot(tablet, 'health-1024x768');
    await ctx.close();
  });

  it('reads from 3 m on 1920×1080: large state and numbers', async () => {
    await page.goto(`${base}/#/`);
    await page.waitForSelector('[data-testid="tile"]');
    const sizes = await page.$eval('[data-testid="tile"]', (t) => ({
      state: parseFloat(getComputedStyle(t.querySelector('.state-label') as Element).fontSize),
      num: parseFloat(getComputedStyle(t.querySelector('.metric .num') as Element).fontSize),
    }));
    // ≈ 1 cm cap height per 3 m of distance on a 24–27" full-HD screen
    expect(sizes.state).toBeGreaterThanOrEqual(32);
    expect(sizes.num).toBeGreaterThanOrEqual(38);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const file = await shot(page, 'readme-1920x1080');
    if (process.env.SFA_UPDATE_SCREENSHOT === '1' || !existsSync(README_SHOT)) copyFileSync(file, README_SHOT);
  });

  it('logged no console errors on any page', () => {
    expect(consoleErrors).toEqual([]);
  });
});
