/**
 * A stale value must never look live. In real Chromium against the demo plant:
 * a tag silent longer than its staleAfterS marks its tile stale while equal silence on a tag
 * without it does not (report by exception); a source that disconnects marks the tiles it
 * feeds stale; and a browser that loses the agent says its values are not live.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { PlantSimulator } from '../../drivers/simulator/index.ts';
import { chromium, waitFor } from '../helpers/index.ts';
import { launchChromium } from './dashboard-browser.ts';

const DEMO = readFileSync(new URL('../../config/demo.yaml', import.meta.url), 'utf8');
const ARTIFACTS = fileURLToPath(new URL('../../test-results/', import.meta.url));
const need = await chromium();

describe.skipIf(!need.available)('stale data on the dashboard (Chromium)', () => {
  let dir: string;
  let sim: PlantSimulator;
  let agent: Agent;
  let base: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-stale-'));
    sim = new PlantSimulator({ seed: 5, speed: 10, opcuaPort: 0, mqttPort: 0, autoStart: false, pkiDir: join(dir, 'sim-pki') });
    const ep = await sim.start();
    const text = DEMO.replaceAll('48401', String(ep.opcuaPort))
      .replaceAll('18831', String(ep.mqttPort))
      .replace('enabled: true', 'enabled: false')
      .replace('dataDir: ./data/demo', `dataDir: ${join(dir, 'data')}`)
      .replace('port: 8080', 'port: 0')
      // printer-2's order changes every few minutes: 3 s of silence is enough to call it stale
      .replace('machine: printer-2, signal: order_id }', 'machine: printer-2, signal: order_id, staleAfterS: 3 }');
    expect(text).toContain('staleAfterS: 3');
    const res = loadConfigText(text, { file: 'demo.yaml' });
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    agent = new Agent(res.config, pino({ level: 'silent' }));
    const { httpPort } = await agent.start();
    base = `http://127.0.0.1:${httpPort}`;
    await waitFor(() => agent.health().sources.every((s) => s.state === 'connected'), 15_000, 'sources connected');
    sim.resume();
    await waitFor(() => agent.kpis.machines().every((m) => m.state !== null), 15_000, 'every machine to report a state');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a tag silent beyond its staleAfterS marks the tile stale; the same silence without it does not', async () => {
    await page.goto(base);
    const p2 = page.locator('[data-testid="tile"][data-machine="printer-2"]');
    await page.waitForSelector('[data-testid="tile"][data-machine="printer-2"][data-stale="true"]', { timeout: 15_000 });
    expect(await p2.locator('[data-testid="stale-note"]').textContent()).toMatch(/order_id silent for \d+ s \(staleAfterS 3\)/);
    expect(await p2.locator('[data-testid="state"]').textContent()).toBe('Stale');
    // printer-1's order_id has been silent just as long, but it has no staleAfterS
    const orderAge = (id: string): number => Date.now() - (agent.buffer.latest(id).find((l) => l.signal === 'order_id')?.ts ?? Date.now());
    expect(orderAge('printer-1')).toBeGreaterThan(3000);
    expect(await page.locator('[data-machine="printer-1"]').getAttribute('data-stale')).toBe('false');
    expect(await page.locator('[data-machine="printer-1"]').getAttribute('data-state')).toMatch(/^(running|idle|down|planned_stop)$/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-stale-tag-1920x1080.png') });
  });

  it('when the plant goes away its sources disconnect and every tile they feed turns stale', async () => {
    await sim.stop();
    for (const id of ['printer-1', 'cnc-1', 'assembly-1']) {
      await page.waitForSelector(`[data-testid="tile"][data-machine="${id}"][data-stale="true"]`, { timeout: 30_000 });
    }
    expect(await page.locator('[data-machine="cnc-1"] [data-testid="stale-note"]').textContent()).toMatch(/source cells-opcua (disconnected|connecting|error)/);
    expect(await page.locator('[data-machine="assembly-1"] [data-testid="stale-note"]').textContent()).toMatch(/source cells-mqtt (disconnected|connecting|error)/);
    // the OPC UA machines say what they last knew, dimmed, not as a live state colour
    expect(await page.locator('[data-machine="cnc-1"] [data-testid="stale-note"]').textContent()).toMatch(/^Last: (Running|Idle|Down|Planned stop) — /);
    // the source state is set at once; its tags' bad-quality samples follow through the buffer's next commit (≤ 100 ms) and the stream
    await expect.poll(() => page.locator('[data-machine="cnc-1"] [data-testid="stale-note"]').textContent(), { timeout: 5000 }).toMatch(/bad quality: .*state/);
    expect(await page.locator('[data-machine="cnc-1"]').evaluate((e) => e.classList.contains('is-stale'))).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-stale-sources-1920x1080.png') });
  });

  it('a browser that loses the agent says its values are not live', async () => {
    await agent.stop();
    await page.waitForSelector('[data-testid="link"]:has-text("OFFLINE")', { timeout: 10_000 });
    expect(await page.locator('.offline-banner').isVisible()).toBe(true);
    expect(await page.locator('.offline-banner').textContent()).toContain('NOT live');
  });
});
