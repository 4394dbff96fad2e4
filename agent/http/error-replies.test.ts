/**
 * Error bodies carry a catalogue code: through a real agent on port 0 (bad queries 400, an
 * unknown route or machine 404), and through fastify's inject for what a healthy agent does
 * not do on demand (a route that throws: 500 with the code and no trace of the cause; a token
 * that is missing: 401).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../runtime/agent.ts';
import { AgentError, ERRORS } from '../errors.ts';
import { registerAuth } from './auth.ts';
import { registerErrorReplies } from './error-replies.ts';

interface Body {
  error: string;
  message: string;
  code: string;
  issues?: { path: string; message: string }[];
}

describe('HTTP error bodies of a running agent', () => {
  let dir: string;
  let agent: Agent;
  let base: string;
  const get = async (path: string): Promise<{ status: number; body: Body }> => {
    const r = await fetch(`${base}${path}`);
    return { status: r.status, body: (await r.json()) as Body };
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-http-errors-'));
    const res = loadConfigText(
      `site: { id: s, timezone: Europe/Berlin }
agent: { id: a, dataDir: ${dir} }
http: { host: 127.0.0.1, port: 0 }
machines:
  - { id: m1, line: l1, product: p, idealCycleTimeS: 30 }
`,
      { file: 'errors.yaml' },
    );
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    agent = new Agent(res.config, pino({ level: 'silent' }));
    base = `http://127.0.0.1:${(await agent.start()).httpPort}`;
  });
  afterAll(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a parameter that does not parse: 400 with SFA_ERR_HTTP_BAD_REQUEST, the message naming it, the issues kept', async () => {
    for (const path of ['/api/kpis?from=yesterday', '/api/benchmarks?to=soon', '/api/kpis?groupBy=week', '/api/machines/m1/trend?range=year']) {
      const { status, body } = await get(path);
      expect(status, path).toBe(400);
      expect(body.error, path).toBe('bad_request');
      expect(body.code, path).toBe('SFA_ERR_HTTP_BAD_REQUEST');
      expect(body.issues?.length, path).toBeGreaterThan(0);
      expect(body.message, path).toContain(body.issues?.[0]?.path ?? '?');
    }
    expect((await get('/api/kpis?from=yesterday')).body.message).toBe('from: "yesterday" is not an ISO 8601 time or epoch milliseconds');
  });

  it('a query the KPI engine cannot answer: 400 with SFA_ERR_KPI_QUERY and the reason, without the code in the text', async () => {
    const cases: [string, string][] = [
      ['/api/kpis?from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z', '"to" must be after "from"'],
      ['/api/benchmarks?from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z', '"to" must be after "from"'],
      ['/api/kpis?groupBy=shift', 'groupBy=shift needs shifts[] in the config'],
    ];
    for (const [path, message] of cases) {
      const { status, body } = await get(path);
      expect(status, path).toBe(400);
      expect(body, path).toEqual({ error: 'bad_request', message, code: 'SFA_ERR_KPI_QUERY' });
    }
    // a range past the request budget is refused before the engine cuts a window, the limit named
    const { status, body } = await get('/api/kpis?groupBy=hour&from=0&to=2024-05-01T00:00:00Z');
    expect(status).toBe(400);
    expect(body).toEqual({ error: 'bad_request', message: expect.stringContaining('http.query.maxRangeDays = 400') as string, code: 'SFA_ERR_HTTP_QUERY_RANGE' });
  });

  it('an unknown route or machine: 404 with SFA_ERR_HTTP_NOT_FOUND beside the fields fastify and the machine routes give', async () => {
    const route = await get('/api/nothing-here?x=1');
    expect(route.status).toBe(404);
    expect(route.body).toEqual({ message: 'Route GET:/api/nothing-here?x=1 not found', error: 'Not Found', statusCode: 404, code: 'SFA_ERR_HTTP_NOT_FOUND' });
    for (const path of ['/api/machines/nope/trend', '/api/machines/nope/orders']) {
      const machine = await get(path);
      expect(machine.status, path).toBe(404);
      expect(machine.body, path).toEqual({ error: 'not_found', message: 'no machine "nope": see /api/machines', code: 'SFA_ERR_HTTP_NOT_FOUND' });
    }
  });

  it('every code it answers with is in the catalogue', async () => {
    for (const path of ['/api/kpis?from=x', '/api/kpis?groupBy=shift', '/nothing', '/api/machines/nope/trend']) {
      expect(Object.keys(ERRORS), path).toContain((await get(path)).body.code);
    }
  });
});

describe('HTTP error bodies of failures (fastify inject)', () => {
  const logged: { obj: object; msg: string }[] = [];
  const app = Fastify();
  registerErrorReplies(app, { error: (obj, msg) => logged.push({ obj, msg }) });
  app.get('/boom', async () => {
    throw new Error('SQLITE_CORRUPT: database disk image is malformed (/var/lib/secret/buffer.db)');
  });
  app.get('/agent-error', async () => {
    throw new AgentError('SFA_ERR_BUFFER_OPEN', 'cannot open /var/lib/secret/buffer.db');
  });
  afterAll(() => app.close());

  it('a thrown error: 500 with SFA_ERR_HTTP_INTERNAL and the request id, no message or stack of the cause; the cause in the log', async () => {
    const r = await app.inject({ method: 'GET', url: '/boom' });
    expect(r.statusCode).toBe(500);
    const body = r.json<Body>();
    const reqId = /\(request (\S+)\)$/.exec(body.message)?.[1];
    expect(body).toEqual({ error: 'internal', message: `the request failed: the agent's log has the cause (request ${reqId})`, code: 'SFA_ERR_HTTP_INTERNAL' });
    expect(r.body).not.toMatch(/SQLITE|secret|malformed|at .*\.ts/);
    // the log line the answer points to holds the cause
    const line = logged.find((l) => (l.obj as { reqId?: string }).reqId === reqId);
    expect(line?.msg).toBe('request failed');
    expect((line?.obj as { err?: Error }).err?.message).toMatch(/SQLITE_CORRUPT/);
    expect((line?.obj as { url?: string }).url).toBe('/boom');
  });

  it('a thrown catalogue error: 500 with its own code, still without its message', async () => {
    const r = await app.inject({ method: 'GET', url: '/agent-error' });
    expect(r.statusCode).toBe(500);
    expect(r.json<Body>().code).toBe('SFA_ERR_BUFFER_OPEN');
    expect(r.body).not.toMatch(/secret|cannot open/);
  });

  it('a request without the token: 401 with SFA_ERR_HTTP_UNAUTHORIZED', async () => {
    const guarded = Fastify();
    registerErrorReplies(guarded, { error: () => undefined });
    registerAuth(guarded, 'a-token-of-16-chars-or-more');
    guarded.get('/api/machines', async () => []);
    const r = await guarded.inject({ method: 'GET', url: '/api/machines' });
    expect(r.statusCode).toBe(401);
    expect(r.json<Body>()).toEqual({ error: 'unauthorized', message: 'send Authorization: Bearer <http.token>, or sign in at /login', code: 'SFA_ERR_HTTP_UNAUTHORIZED' });
    const ok = await guarded.inject({ method: 'GET', url: '/api/machines', headers: { authorization: 'Bearer a-token-of-16-chars-or-more' } });
    expect(ok.statusCode).toBe(200);
    await guarded.close();
  });
});
