/**
 * The fleet dashboard in real Chromium: a fleet on its embedded SQLite store, fed through
 * Mosquitto with three hand-built sites (test/helpers/fleet-dashboard-fixture.ts). The page
 * ranks the sites best first on energy per unit, scrap-rate reduction and OEE, shows the brief's
 * band and each site's verdict, lists the agents online and offline with backlog and lag, and
 * drills down from a site to its lines and machines; no console errors, a strict CSP honoured.
 * Screenshots go to test-results/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../../agent/fleet/index.ts';
import { chromium, mosquitto, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { agentClient, clearRetained, endSession, startFleet, type FleetTestSetup } from '../helpers/fleet-peers.ts';
import { DASHBOARD_BENCHMARKS, dashboardFixture, dashboardMessages } from '../helpers/fleet-dashboard-fixture.ts';
import { launchChromium } from './dashboard-browser.ts';

const ARTIFACTS = join(fileURLToPath(new URL('../../', import.meta.url)), 'test-results');
const needBrowser = await chromium();
const needBroker = await mosquitto();

describe.skipIf(!needBrowser.available || !needBroker.available)('fleet dashboard (Chromium, Mosquitto, SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-fleet-ui-'));
  const s: FleetTestSetup = { id: `ui-${process.pid}`, prefix: uniqueTopicPrefix('fleet-ui'), group: `ui${Math.random().toString(36).slice(2, 10)}`, dataDir: dir, extra: DASHBOARD_BENCHMARKS };
  const messages = dashboardMessages(s.prefix, dashboardFixture());
  let fleet: Fleet | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let base: string;
  const consoleErrors: string[] = [];

  const ranking = (kpi: string): Promise<string[]> =>
    page.$$eval(`[data-testid="ranking"][data-kpi="${kpi}"] [data-testid="rank-row"]`, (els) => els.map((e) => (e as HTMLElement).dataset.site ?? ''));
  const verdicts = (kpi: string): Promise<string[]> =>
    page.$$eval(`[data-testid="ranking"][data-kpi="${kpi}"] [data-testid="rank-row"]`, (els) => els.map((e) => (e as HTMLElement).dataset.verdict ?? ''));

  beforeAll(async () => {
    fleet = await startFleet(s);
    const f = fleet;
    await waitFor(() => f.health().status === 'ok', 10_000, 'the fleet connected to the broker');
    const c = await agentClient();
    for (const m of messages) await c.publishAsync(m.topic, m.payload, { qos: 1, retain: m.retain });
    await c.endAsync();
    base = `http://127.0.0.1:${f.port}`;
    await waitFor(
      async () => {
        const agents = (await (await fetch(`${base}/api/agents`)).json()) as { online: boolean; lastId: number }[];
        const kpis = (await (await fetch(`${base}/api/kpis?scope=site`)).json()) as { rows: unknown[] };
        return agents.length === 3 && agents.filter((a) => a.online).length === 2 && agents.every((a) => a.lastId > 0) && kpis.rows.length === 3;
      },
      15_000,
      'every message stored',
    );
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1920, height: 1080 } })).newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fleet?.stop();
    const c = await agentClient();
    await clearRetained(c, messages.filter((m) => m.retain).map((m) => m.topic));
    await c.endAsync();
    await endSession(s.id);
    rmSync(dir, { recursive: true, force: true });
  });

  it('ranks the sites best first against the brief\'s bands', async () => {
    await page.goto(base);
    await page.waitForSelector('[data-testid="ranking"][data-kpi="energyPerUnit"] [data-testid="rank-row"]', { timeout: 15_000 });
    expect(await ranking('energyPerUnit')).toEqual(['site-a', 'site-b', 'site-c']);
    expect(await verdicts('energyPerUnit')).toEqual(['within', 'worse', 'no-baseline']);
    expect(await ranking('scrapRate')).toEqual(['site-a', 'site-b', 'site-c']);
    expect(await verdicts('scrapRate')).toEqual(['better', 'worse', 'no-baseline']);
    expect(await ranking('oee')).toEqual(['site-c', 'site-a', 'site-b']);
    // site-a has orders with lead times; the others none
    expect((await ranking('leadTime'))[0]).toBe('site-a');
    const energy = page.locator('[data-testid="ranking"][data-kpi="energyPerUnit"]');
    expect(await energy.locator('[data-testid="band-text"]').textContent()).toMatch(/\+20 %.*\+40 %/);
    expect(await energy.locator('[data-site="site-a"] [data-testid="change"]').textContent()).toBe('+30 %');
    expect(await energy.locator('[data-site="site-a"] [data-testid="verdict"]').textContent()).toBe('Within the band');
    expect(await energy.locator('.source').textContent()).toContain('IEA');
    expect(await page.locator('[data-testid="ranking"][data-kpi="scrapRate"] [data-testid="band-text"]').textContent()).toMatch(/up to 25 %/);
    expect(await page.locator('[data-testid="ranking"][data-kpi="leadTime"] [data-testid="band-text"]').textContent()).toMatch(/50 %.*90 %/);
    expect(await page.locator('[data-testid="ranking"][data-kpi="oee"] [data-testid="change"]').first().textContent()).toBe('100.0 %');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'fleet-dashboard-1920x1080.png'), fullPage: true });
  });

  it('shows the agents online and offline with their backlog and lag', async () => {
    await page.waitForSelector('[data-testid="agent-row"]', { timeout: 15_000 });
    const rows = await page.$$eval('[data-testid="agent-row"]', (els) =>
      els.map((e) => {
        const d = (e as HTMLElement).dataset;
        const text = (id: string): string => e.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
        return [d.agent, d.online, text('agent-status'), text('backlog'), text('lag') !== '–'];
      }),
    );
    // offline first
    expect(rows).toEqual([
      ['edge-c', 'false', 'Offline', '0', true],
      ['edge-a', 'true', 'Online', '0', true],
      ['edge-b', 'true', 'Online', '20', true],
    ]);
    expect(await page.locator('[data-testid="agents-summary"]').textContent()).toBe('2 of 3 agents online');
  });

  it('drills down from a site to its lines and machines', async () => {
    await page.locator('[data-testid="ranking"][data-kpi="energyPerUnit"] [data-site="site-a"] [data-testid="site-link"]').click();
    await page.waitForSelector('[data-testid="machines-row"]', { timeout: 15_000 });
    expect(page.url()).toMatch(/#\/site\/site-a$/);
    expect(await page.locator('[data-testid="site-title"]').textContent()).toBe('Site site-a');
    const lines = await page.$$eval('[data-testid="lines-row"]', (els) => els.map((e) => (e as HTMLElement).dataset.line));
    expect(lines).toEqual(['additive', 'finishing']);
    const machines = await page.$$eval('[data-testid="machines-row"]', (els) => els.map((e) => [(e as HTMLElement).dataset.machine, e.querySelector('td')?.textContent]));
    expect(machines).toEqual([['a-printer-1', 'Printer A1'], ['a-cnc-1', 'CNC A1']]);
    expect(await page.locator('[data-testid="site-benchmarks"] tr[data-kpi="energyPerUnit"] [data-testid="verdict"]').textContent()).toBe('Within the band');
    // the site's own agent only
    expect(await page.$$eval('.site-agents [data-testid="agent-row"]', (els) => els.map((e) => (e as HTMLElement).dataset.agent))).toEqual(['edge-a']);
    // the line's figures are its machines' components summed (2.9 + 1.0 kWh over 14 + 6 good)
    expect(await page.locator('[data-testid="lines-row"][data-line="finishing"] [data-testid="oee"]').textContent()).toBe('66.7 %');
    await page.screenshot({ path: join(ARTIFACTS, 'fleet-dashboard-site.png'), fullPage: true });
    await page.locator('[data-testid="back"]').click();
    await page.waitForSelector('[data-testid="ranking"]', { timeout: 15_000 });
  });

  it('keeps the ranking on a shorter period and fits a 1024×768 screen', async () => {
    const before = await page.locator('[data-testid="period"]').textContent();
    await page.locator('button.seg-btn[data-hours="24"]').click();
    // the page is drawn anew for the new period: its stamp changes
    await page.waitForFunction((old) => { const t = document.querySelector('[data-testid="period"]')?.textContent ?? ''; return t !== '' && t !== old; }, before, { timeout: 15_000 });
    // the fixture's hours are the last three: still there, in the same order
    await page.waitForSelector('[data-testid="ranking"][data-kpi="energyPerUnit"] [data-testid="rank-row"]', { timeout: 15_000 });
    expect(await ranking('energyPerUnit')).toEqual(['site-a', 'site-b', 'site-c']);
    await page.setViewportSize({ width: 1024, height: 768 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(ARTIFACTS, 'fleet-dashboard-1024x768.png'), fullPage: true });
  });

  it('ran without console errors (the CSP blocked nothing of ours)', () => {
    expect(consoleErrors).toEqual([]);
  });
});
