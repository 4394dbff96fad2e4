/**
 * HTTP hardening (issue "hostile input", Build 4 and the HTTP half of Build 3), each item against
 * a real agent on port 0: a foreign Host (DNS rebinding) is refused, every answer carries the
 * security headers, `next` never leaves the site, a malformed cookie is a 401, failed sign-ins
 * are rate-limited, signing out revokes the session server-side, a 500 names only the request,
 * the live streams are capped, and the data files are private.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import Fastify from 'fastify';
import { registerAuth } from '../../agent/http/auth.ts';
import { makeTestPki } from '../../drivers/mqtt/test-broker.ts';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { inlineHashes } from '../../agent/http/security-headers.ts';
import { chromium } from '../helpers/index.ts';
import { launchChromium } from './dashboard-browser.ts';

const TOKEN = 'a-long-enough-test-token-0123456789';
const browserNeed = await chromium();

interface Started {
  agent: Agent;
  port: number;
  base: string;
  logs: { msg: string; [k: string]: unknown }[];
  dir: string;
}

async function startAgent(http: string): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-hardening-'));
  const res = loadConfigText(
    `site: { id: s1, timezone: Europe/Berlin }
agent: { id: a1, dataDir: ${join(dir, 'data')} }
http: ${http}
machines:
  - { id: press-1, name: Press 1, line: pressing }
`,
    { file: 'hardening.yaml' },
  );
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  const logs: Started['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Started['logs'][number]);
      done();
    },
  });
  const agent = new Agent(res.config, pino({ level: 'info' }, sink));
  const { httpPort } = await agent.start();
  return { agent, port: httpPort, base: `http://127.0.0.1:${httpPort}`, logs, dir };
}

async function stopAgent(s: Started | undefined): Promise<void> {
  if (!s) return;
  await s.agent.stop();
  rmSync(s.dir, { recursive: true, force: true });
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, so that Host and odd cookies go out exactly as written. */
function raw(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const form = (fields: Record<string, string>): [Record<string, string>, string] => {
  const body = new URLSearchParams(fields).toString();
  return [{ 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) }, body];
};

async function signIn(port: number, token = TOKEN): Promise<string> {
  const [headers, body] = form({ token, next: '/' });
  const r = await raw(port, '/login', headers, 'POST', body);
  expect(r.status).toBe(303);
  const set = String(r.headers['set-cookie'] ?? '');
  return set.split(';')[0] ?? '';
}

describe('HTTP hardening: the token-less loopback default', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startAgent('{ host: 127.0.0.1, port: 0, allowedHosts: [dash.plant.example] }');
  });
  afterAll(async () => stopAgent(s));

  it('a foreign Host (DNS rebinding) gets 421 with SFA_ERR_HTTP_HOST on every route, before any data', async () => {
    for (const host of ['evil.example', `evil.example:${s.port}`, 'evil.example.', '127.0.0.1.evil.example', 'localhost@evil.example', '[::2]:80', 'bad host']) {
      for (const path of ['/', '/api/machines', '/api/kpis', '/api/stream', '/healthz', '/metrics', '/nowhere']) {
        const r = await raw(s.port, path, { host });
        expect(r.status, `${host} ${path}`).toBe(421);
        expect(JSON.parse(r.body), `${host} ${path}`).toMatchObject({ code: 'SFA_ERR_HTTP_HOST' });
        expect(r.body).not.toContain('press-1');
      }
    }
  });

  it('the bind address, localhost and [::1] (any port, any case), and http.allowedHosts are answered', async () => {
    for (const host of ['127.0.0.1', `127.0.0.1:${s.port}`, `localhost:${s.port}`, 'LOCALHOST', 'localhost.', `[::1]:${s.port}`, 'dash.plant.example', `Dash.Plant.Example:443`]) {
      const r = await raw(s.port, '/api/machines', { host });
      expect(r.status, host).toBe(200);
      expect(r.body).toContain('press-1');
    }
  });

  it('every answer carries CSP, X-Frame-Options, nosniff and Referrer-Policy: pages, JSON, errors, the stream', async () => {
    const stream = await new Promise<Raw>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: s.port, path: '/api/stream' }, (res) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
        res.destroy();
      });
      req.on('error', reject);
      req.end();
    });
    const answers: [string, Raw][] = [
      ['/', await raw(s.port, '/')],
      ['/assets/app.js', await raw(s.port, '/assets/app.js')],
      ['/api/machines', await raw(s.port, '/api/machines')],
      ['/nowhere', await raw(s.port, '/nowhere')],
      ['/api/kpis?from=x', await raw(s.port, '/api/kpis?from=x')],
      // answered 200 by hand-written bytes (kpi-routes.ts), past fastify's onSend hooks
      ['/api/kpis', await raw(s.port, '/api/kpis')],
      ['foreign host', await raw(s.port, '/', { host: 'evil.example' })],
      ['/api/stream', stream],
    ];
    for (const [what, r] of answers) {
      const csp = String(r.headers['content-security-policy']);
      expect(csp, what).toContain("default-src 'self'");
      expect(csp, what).toContain("frame-ancestors 'none'");
      expect(csp, what).toContain("object-src 'none'");
      expect(csp, what).not.toContain('unsafe-inline');
      expect(csp, what).not.toContain('unsafe-eval');
      expect(csp, what).not.toMatch(/https?:/);
      expect(r.headers['x-frame-options'], what).toBe('DENY');
      expect(r.headers['x-content-type-options'], what).toBe('nosniff');
      expect(r.headers['referrer-policy'], what).toBe('no-referrer');
    }
  });

  it("the page's CSP allows exactly its own inline theme script (by hash), nothing else inline", async () => {
    const page = await raw(s.port, '/');
    const hashes = inlineHashes(page.body);
    expect(hashes.script).toHaveLength(1);
    const csp = String(page.headers['content-security-policy']);
    const scriptSrc = csp.split('; ').find((d) => d.startsWith('script-src')) ?? '';
    expect(scriptSrc).toBe(`script-src 'self' ${hashes.script[0]}`);
    expect(page.body).not.toMatch(/\sstyle="/); // attributes cannot be hashed without 'unsafe-hashes'
    // the bundle builds its elements through the CSSOM, never through a style attribute
    const js = await raw(s.port, '/assets/app.js');
    expect(js.body).not.toMatch(/setAttribute\(\s*["']style["']/);
  });
});

describe('HTTP hardening: the CSP in a browser', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startAgent(`{ host: 127.0.0.1, port: 0, token: ${TOKEN} }`);
  });
  afterAll(async () => stopAgent(s));

  it.skipIf(!browserNeed.available)('the login form, the dashboard and the plain page run under it with no violation', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
      });
      page.on('pageerror', (e) => violations.push(e.message));
      await page.goto(`${s.base}/`);
      // the login page's own style applies (its block is allowed by hash)
      expect(await page.locator('button[type="submit"]').evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(47, 129, 247)');
      await page.fill('#token', TOKEN);
      await Promise.all([page.waitForURL(`${s.base}/`), page.click('button[type="submit"]')]);
      await page.waitForSelector('[data-testid="tile"][data-machine="press-1"]', { timeout: 10_000 });
      // the inline theme script (allowed by its hash) runs: ?theme=light turns the static dark page light
      await page.goto(`${s.base}/?theme=light`);
      await page.waitForSelector('[data-testid="tile"][data-machine="press-1"]', { timeout: 10_000 });
      expect(await page.locator('html').getAttribute('data-theme')).toBe('light');
      await page.goto(`${s.base}/plain`);
      await page.waitForSelector('tr[data-machine="press-1"]', { timeout: 10_000 });
      expect(violations).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe('HTTP hardening: kiosk framing opt-in', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startAgent(`{ host: 127.0.0.1, port: 0, frameAncestors: ['https://portal.plant.example', "'self'"] }`);
  });
  afterAll(async () => stopAgent(s));

  it('frame-ancestors names the configured portals, and X-Frame-Options (which cannot) is left out', async () => {
    const r = await raw(s.port, '/');
    expect(String(r.headers['content-security-policy'])).toContain("frame-ancestors https://portal.plant.example 'self'");
    expect(r.headers['x-frame-options']).toBeUndefined();
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('HTTP hardening: with http.token', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startAgent(`{ host: 127.0.0.1, port: 0, token: ${TOKEN} }`);
  });
  afterAll(async () => stopAgent(s));

  it('`next` is accepted only as a path of this site, from the query and from the form', async () => {
    const offsite = ['%2F%09%2Fevil.example', '%2F%2Fevil.example', '%2F%5Cevil.example', 'https%3A%2F%2Fevil.example', '%2F%0A%2Fevil.example', '%2Fok%5C..%5Cevil', '%2F%00', 'evil.example', '%20%2F%2Fevil.example'];
    for (const next of offsite) {
      const page = await raw(s.port, `/login?next=${next}`);
      expect(page.status, next).toBe(200);
      expect(page.body, next).toContain('<input type="hidden" name="next" value="/">');
      const [headers, body] = form({ token: TOKEN, next: decodeURIComponent(next) });
      const r = await raw(s.port, '/login', headers, 'POST', body);
      expect(r.status, next).toBe(303);
      expect(r.headers.location, next).toBe('/');
    }
    const [headers, body] = form({ token: TOKEN, next: '/plain?x=1#/machine/press-1' });
    expect((await raw(s.port, '/login', headers, 'POST', body)).headers.location).toBe('/plain?x=1#/machine/press-1');
  });

  it('a malformed cookie is a 401, not a 500, and nothing is logged as failed', async () => {
    const before = s.logs.length;
    for (const cookie of ['sfa_session=%E0%A4%A', 'sfa_session=%', 'sfa_session=', '=;;;=', 'sfa_session="\u00ff\u00fe"', `sfa_session=${'A'.repeat(43)}`, 'sfa_session=../../etc/passwd; sfa_session=x']) {
      const r = await raw(s.port, '/api/machines', { cookie });
      expect(r.status, cookie).toBe(401);
      expect(JSON.parse(r.body), cookie).toMatchObject({ code: 'SFA_ERR_HTTP_UNAUTHORIZED' });
    }
    expect(s.logs.slice(before).filter((l) => l.msg === 'request failed')).toEqual([]);
  });

  it('signing out revokes the session on the server: the copied cookie stops working, other screens stay signed in', async () => {
    const screenA = await signIn(s.port);
    const screenB = await signIn(s.port);
    expect(screenA).not.toBe(screenB);
    expect(screenA).toMatch(/^sfa_session=[A-Za-z0-9_-]{43}$/);
    expect((await raw(s.port, '/api/machines', { cookie: screenA })).status).toBe(200);
    const out = await raw(s.port, '/logout', { cookie: screenA }, 'POST');
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/login');
    expect(String(out.headers['set-cookie'])).toMatch(/Max-Age=0/);
    // the old value, replayed as a stolen cookie would be
    expect((await raw(s.port, '/api/machines', { cookie: screenA })).status).toBe(401);
    expect((await raw(s.port, '/api/machines', { cookie: screenB })).status).toBe(200);
    // another site cannot sign a screen out (or try tokens) through the operator's browser
    const forged = await raw(s.port, '/logout', { cookie: screenB, origin: 'http://evil.example' }, 'POST');
    expect(forged.status).toBe(403);
    expect((await raw(s.port, '/logout', { cookie: screenB, 'sec-fetch-site': 'cross-site' }, 'POST')).status).toBe(403);
    expect((await raw(s.port, '/api/machines', { cookie: screenB })).status).toBe(200);
    const [h2, b2] = form({ token: TOKEN, next: '/' });
    expect((await raw(s.port, '/login', { ...h2, 'sec-fetch-site': 'cross-site' }, 'POST', b2)).status).toBe(403);
    expect((await raw(s.port, '/login', { ...h2, origin: `http://127.0.0.1:${s.port}`, 'sec-fetch-site': 'same-origin' }, 'POST', b2)).status).toBe(303);
    // served over plain HTTP: no Secure flag (a browser would then drop the cookie)
    const [headers, body] = form({ token: TOKEN, next: '/' });
    expect(String((await raw(s.port, '/login', headers, 'POST', body)).headers['set-cookie'])).not.toMatch(/Secure/);
  });
});

describe('HTTP hardening: the session cookie over TLS', () => {
  it('is Secure when the sign-in came over TLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfa-hardening-tls-'));
    const pki = makeTestPki(dir);
    const app = Fastify({ https: { key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert) } });
    try {
      registerAuth(app as unknown as Parameters<typeof registerAuth>[0], TOKEN);
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as { port: number }).port;
      const [headers, body] = form({ token: TOKEN, next: '/' });
      const setCookie = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/login', method: 'POST', headers, ca: readFileSync(pki.ca) }, (res) => {
          res.resume();
          resolve(String(res.headers['set-cookie'] ?? ''));
        });
        req.on('error', reject);
        req.end(body);
      });
      expect(setCookie).toMatch(/^sfa_session=[A-Za-z0-9_-]{43};/);
      expect(setCookie).toMatch(/; Secure$/);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HTTP hardening: sign-in rate limit', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startAgent(`{ host: 127.0.0.1, port: 0, token: ${TOKEN} }`);
  });
  afterAll(async () => stopAgent(s));

  it('5 wrong tokens from one address, then 429 with Retry-After, even for the right token, form and bearer alike', async () => {
    for (let i = 0; i < 5; i++) {
      const [headers, body] = form({ token: `wrong-token-number-${i}`, next: '/' });
      expect((await raw(s.port, '/login', headers, 'POST', body)).status).toBe(401);
    }
    const [headers, body] = form({ token: TOKEN, next: '/' });
    const limited = await raw(s.port, '/login', headers, 'POST', body);
    expect(limited.status).toBe(429);
    expect(limited.headers['set-cookie']).toBeUndefined();
    const wait = Number(limited.headers['retry-after']);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
    const bearer = await raw(s.port, '/api/machines', { authorization: `Bearer ${TOKEN}` });
    expect(bearer.status).toBe(429);
    expect(JSON.parse(bearer.body)).toMatchObject({ code: 'SFA_ERR_HTTP_RATE_LIMITED' });
    // probes are not sign-ins
    expect((await raw(s.port, '/healthz')).status).toBe(200);
  });
});

describe('HTTP hardening: a 500 and the live-stream cap', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startAgent('{ host: 127.0.0.1, port: 0, maxStreams: 2 }');
  });
  afterAll(async () => stopAgent(s));

  it('beyond http.maxStreams a stream gets 503 with SFA_ERR_HTTP_BUSY; a closed one frees its place', async () => {
    const ctrl = [new AbortController(), new AbortController()];
    const open = await Promise.all(ctrl.map((c) => fetch(`${s.base}/api/stream`, { signal: c.signal })));
    expect(open.map((r) => r.status)).toEqual([200, 200]);
    const third = await fetch(`${s.base}/api/stream`);
    expect(third.status).toBe(503);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await third.json()).toMatchObject({ code: 'SFA_ERR_HTTP_BUSY' });
    ctrl[0]?.abort();
    let again = 0;
    for (let i = 0; i < 50 && again !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const c = new AbortController();
      const r = await fetch(`${s.base}/api/stream`, { signal: c.signal });
      again = r.status;
      c.abort();
    }
    expect(again).toBe(200);
    ctrl[1]?.abort();
  });

  it('a 500 carries a code and the request id, never the error text; the log keeps the cause', async () => {
    // a real fault: the database closes under a running agent
    s.agent.buffer.close();
    const r = await raw(s.port, '/api/overview');
    expect(r.status).toBe(500);
    const body = JSON.parse(r.body) as { code: string; message: string };
    expect(body.code).toBe('SFA_ERR_HTTP_INTERNAL');
    expect(body.message).toMatch(/request req-\w+/);
    expect(r.body).not.toMatch(/database|sqlite|connection|\/tmp|at /i);
    const line = s.logs.find((l) => l.msg === 'request failed');
    expect(JSON.stringify(line)).toMatch(/database connection is not open/i);
  });
});

describe('data files are private', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startAgent('{ host: 127.0.0.1, port: 0 }');
  });
  afterAll(async () => stopAgent(s));

  it('dataDir is 0700, buffer.db and its WAL and shared-memory files 0600', () => {
    const mode = (f: string): string => (statSync(f).mode & 0o777).toString(8);
    expect(mode(join(s.dir, 'data'))).toBe('700');
    for (const f of ['buffer.db', 'buffer.db-wal', 'buffer.db-shm']) expect(mode(join(s.dir, 'data', f)), f).toBe('600');
  });
});
