/**
 * Access to the dashboard (DESIGN.md §6): bound to 127.0.0.1 by default; any other bind needs
 * http.token, or the agent refuses to start and says why (exit 2). With a token, requests
 * without it get 401 and with it (bearer header, or the login form's cookie) 200.
 * /healthz stays open for probes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import type { Config } from '../../config/schema.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { chromium } from '../helpers/index.ts';
import { launchChromium } from './dashboard-browser.ts';

const BIN = fileURLToPath(new URL('../../agent/cli/shopfloor-agent.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOKEN = 'a-long-enough-test-token-0123456789';
const browserNeed = await chromium();

function config(dir: string, http: string): Config {
  const res = loadConfigText(
    `site: { id: s1, name: Access test, timezone: Europe/Berlin }
agent: { id: a1, dataDir: ${join(dir, 'data')} }
http: ${http}
machines:
  - { id: press-1, name: Press 1, line: pressing }
  - { id: press-2, name: Press 2, line: pressing }
`,
    { file: 'access.yaml' },
  );
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

describe('dashboard access', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-access-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('`run` with http.host 0.0.0.0 and no token refuses to start, says why, exits 2', () => {
    const file = join(dir, 'open.yaml');
    writeFileSync(file, `site: { id: s1 }\nagent: { id: a1, dataDir: ${join(dir, 'cli-data')} }\nhttp: { host: 0.0.0.0, port: 0 }\n`);
    const r = spawnSync(process.execPath, [BIN, 'run', '-c', file], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('http.token');
    expect(r.stderr).toMatch(/binding to 0\.0\.0\.0 requires http\.token/);
  });

  it('an Agent given such a config directly (no config check) refuses too, before listening', async () => {
    const open = config(dir, `{ host: 0.0.0.0, port: 0, token: ${TOKEN} }`);
    const agent = new Agent({ ...open, http: { ...open.http, token: undefined } }, pino({ level: 'silent' }));
    await expect(agent.start()).rejects.toMatchObject({ code: 'SFA_ERR_HTTP_TOKEN_REQUIRED', message: expect.stringContaining('http.token') });
    await agent.stop();
  });

  describe('with http.token on 0.0.0.0', () => {
    let agent: Agent;
    let base: string;
    beforeAll(async () => {
      agent = new Agent(config(join(dir, 'tok'), `{ host: 0.0.0.0, port: 0, token: ${TOKEN} }`), pino({ level: 'silent' }));
      const { httpPort } = await agent.start();
      base = `http://127.0.0.1:${httpPort}`;
    });
    afterAll(async () => agent?.stop());

    it('answers 401 without the token and 200 with the bearer header, on every route', async () => {
      for (const path of ['/', '/api/machines', '/api/kpis', '/api/overview', '/api/site', '/api/diagnostics', '/assets/app.js', '/metrics']) {
        const no = await fetch(`${base}${path}`);
        expect(no.status, `${path} without token`).toBe(401);
        const wrong = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}x` } });
        expect(wrong.status, `${path} with a wrong token`).toBe(401);
        const ok = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(ok.status, `${path} with the token`).toBe(200);
      }
      const stream = await fetch(`${base}/api/stream`);
      expect(stream.status).toBe(401);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    });

    it('a browser without the token gets the login form (401); the form sets a cookie that works', async () => {
      const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(401);
      expect(await page.text()).toContain('<form method="post" action="/login">');

      const wrong = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: 'nope', next: '/' }), redirect: 'manual' });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('set-cookie')).toBeNull();

      const login = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: '//evil.example/' }), redirect: 'manual' });
      expect(login.status).toBe(303);
      expect(login.headers.get('location')).toBe('/'); // never off-site
      const setCookie = login.headers.get('set-cookie') ?? '';
      expect(setCookie).toMatch(/HttpOnly/);
      expect(setCookie).toMatch(/SameSite=Strict/);
      expect(setCookie).not.toContain(TOKEN); // an HMAC of it, not the token
      const cookie = setCookie.split(';')[0] ?? '';
      expect((await fetch(`${base}/api/machines`, { headers: { cookie } })).status).toBe(200);
      expect((await fetch(`${base}/api/machines`, { headers: { cookie: `${cookie}x` } })).status).toBe(401);
    });

    it.skipIf(!browserNeed.available)('in Chromium: sign in through the form, then the live dashboard', async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        const first = await page.goto(`${base}/#/health`);
        expect(first?.status()).toBe(401);
        await page.fill('#token', TOKEN);
        await Promise.all([page.waitForURL(`${base}/`), page.click('button[type="submit"]')]);
        await page.waitForSelector('[data-testid="tile"][data-machine="press-2"]', { timeout: 10_000 });
        // machines configured but never heard from: no data, not stale
        expect(await page.locator('[data-machine="press-1"]').getAttribute('data-state')).toBe('nodata');
        expect(await page.locator('[data-machine="press-1"]').getAttribute('data-stale')).toBe('false');
        await page.waitForSelector('[data-testid="link"]:has-text("LIVE")', { timeout: 5000 });
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    });
  });
});
