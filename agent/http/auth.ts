/**
 * Access to the dashboard and API (DESIGN.md §6). Bound to 127.0.0.1 by default;
 * any other bind requires `http.token`, sent either as `Authorization: Bearer <token>`
 * (scripts, Prometheus) or once through the login form, which sets an HttpOnly cookie
 * (kiosk browsers cannot set headers). The cookie holds a random session id kept server-side
 * with its expiry (agent/http/sessions.ts): signing out revokes it, a restart or a new token signs
 * every screen out. Failed attempts (form or bearer) are rate-limited per remote address.
 *
 * Left open: GET /healthz (load balancers and monitoring probe it; it shows states and
 * counts, no data and no secrets), the login page itself and POST /logout.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AgentError } from '../errors.ts';
import type { ErrorBody } from './error-replies.ts';
import { SessionStore, type SessionOptions } from './sessions.ts';
import { SignInLimiter, type SignInLimitOptions } from './sign-in-limiter.ts';

export interface AuthOptions {
  cookieName: string;
  /** how long a login lasts on a screen, seconds */
  cookieMaxAgeS: number;
  /** paths reachable without the token */
  openPaths: readonly string[];
  sessions: Partial<SessionOptions>;
  signInLimit: Partial<SignInLimitOptions>;
}

export const AUTH_DEFAULTS: AuthOptions = {
  cookieName: 'sfa_session',
  cookieMaxAgeS: 30 * 86_400,
  openPaths: ['/healthz', '/login', '/logout'],
  sessions: {},
  signInLimit: {},
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Refuses a bind beyond localhost without a token (the config check says the same, earlier). */
export function assertBindAllowed(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new AgentError(
      'SFA_ERR_HTTP_TOKEN_REQUIRED',
      `http.host is ${host} but http.token is not set: the dashboard would be open to the network. Set http.token (at least 16 characters, e.g. \${SFA_HTTP_TOKEN}) or bind to 127.0.0.1`,
    );
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The raw value of one cookie; never decoded, so no header can make the parser throw. */
export function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Only a path of this site: one leading `/` (not `//` or `/\`, which browsers read as another
 * host), printable ASCII only (browsers drop a tab or newline, so `/\t/evil.example` would become
 * `//evil.example`), no backslash anywhere. Anything else goes to `/`.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2048) return '/';
  return /^\/(?![/\\])[\x21-\x7e]*$/.test(next) && !next.includes('\\') ? next : '/';
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function loginPage(next: string, message: string | undefined): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · shopfloor-agent</title>
<style>
  :root { color-scheme: dark light; font-family: "Inter", "Segoe UI", system-ui, sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #0f1419; color: #e6e9ee; }
  form { width: min(92vw, 28rem); padding: 2rem; border: 1px solid #2b3440; border-radius: .5rem; background: #161d25; }
  h1 { margin: 0 0 .25rem; font-size: 1.5rem; } p { color: #9aa5b1; margin: 0 0 1.5rem; }
  label { display: block; font-size: .9rem; margin-bottom: .4rem; color: #9aa5b1; }
  input { box-sizing: border-box; width: 100%; min-height: 3.25rem; font-size: 1.2rem; padding: .5rem .75rem; border-radius: .35rem; border: 1px solid #3a4654; background: #0f1419; color: inherit; }
  button { margin-top: 1.25rem; width: 100%; min-height: 3.25rem; font-size: 1.15rem; font-weight: 600; border: 0; border-radius: .35rem; background: #2f81f7; color: #fff; cursor: pointer; }
  .err { color: #ff7b72; margin: 1rem 0 0; }
</style></head>
<body><form method="post" action="/login">
  <h1>shopfloor-agent</h1><p>This dashboard needs the agent's access token (<code>http.token</code>).</p>
  <label for="token">Access token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
  <input type="hidden" name="next" value="${esc(next)}">
  <button type="submit">Sign in</button>
  ${message ? `<p class="err" role="alert">${esc(message)}</p>` : ''}
</form></body></html>`;
}

function wantsHtml(req: FastifyRequest): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
}

/**
 * A form posted from another site (an operator's browser on a hostile page): the browser says so
 * in Sec-Fetch-Site, or in an Origin that is not this Host. Scripts send neither and pass.
 */
export function crossSite(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== (req.headers.host ?? '').toLowerCase();
  } catch {
    return true; // "null" (a sandboxed frame) or garbage
  }
}

function refuseCrossSite(reply: FastifyReply): FastifyReply {
  const message = 'sign-in and sign-out are accepted from the pages of this agent only';
  return reply.code(403).send({ error: 'forbidden', message, code: 'SFA_ERR_HTTP_UNAUTHORIZED' } satisfies ErrorBody);
}

function rateLimited(reply: FastifyReply, retryAfterS: number, html: string | undefined): FastifyReply {
  reply.code(429).header('retry-after', String(retryAfterS));
  if (html !== undefined) return reply.type('text/html; charset=utf-8').send(html);
  const message = `too many failed sign-ins from this address: try again in ${retryAfterS} s`;
  return reply.send({ error: 'too_many_requests', message, code: 'SFA_ERR_HTTP_RATE_LIMITED', retryAfterS } satisfies ErrorBody);
}

/** Registers the token check, POST /login and POST /logout. Without a token: nothing to check. */
export function registerAuth(app: FastifyInstance, token: string | undefined, options: Partial<AuthOptions> = {}): void {
  const opts = { ...AUTH_DEFAULTS, ...options };
  if (!token) return;
  const bearer = `Bearer ${token}`;
  const sessions = new SessionStore({ maxAgeS: opts.cookieMaxAgeS, ...opts.sessions });
  const limiter = new SignInLimiter(opts.signInLimit);
  const open = new Set(opts.openPaths);
  // Secure whenever the request came over TLS, so the cookie never travels in clear afterwards
  const setCookie = (req: FastifyRequest, value: string, maxAge: number): string =>
    `${opts.cookieName}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${req.protocol === 'https' ? '; Secure' : ''}`;

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? '/';
    if (open.has(path)) return;
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const wait = limiter.retryAfterS(req.ip);
      if (wait > 0) return rateLimited(reply, wait, undefined);
      if (same(auth, bearer)) {
        limiter.succeeded(req.ip);
        return;
      }
      limiter.failed(req.ip);
    }
    if (sessions.valid(cookie(req.headers.cookie, opts.cookieName))) return;
    reply.code(401).header('www-authenticate', 'Bearer realm="shopfloor-agent"');
    if (wantsHtml(req)) {
      await reply.type('text/html; charset=utf-8').send(loginPage(safeNext(req.url), undefined));
      return reply;
    }
    await reply.send({ error: 'unauthorized', message: 'send Authorization: Bearer <http.token>, or sign in at /login', code: 'SFA_ERR_HTTP_UNAUTHORIZED' } satisfies ErrorBody);
    return reply;
  });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  app.get('/login', async (req, reply) => {
    const q = req.query as { next?: unknown };
    return reply.type('text/html; charset=utf-8').send(loginPage(safeNext(q.next), undefined));
  });

  app.post('/login', async (req, reply) => {
    if (crossSite(req)) return refuseCrossSite(reply);
    const body = (req.body ?? {}) as { token?: unknown; next?: unknown };
    const next = safeNext(body.next);
    const wait = limiter.retryAfterS(req.ip);
    if (wait > 0) return rateLimited(reply, wait, loginPage(next, `Too many wrong tokens from this screen. Try again in ${wait} s.`));
    if (typeof body.token !== 'string' || !same(body.token, token)) {
      limiter.failed(req.ip);
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage(next, 'That token is not right. Ask the plant engineer for http.token.'));
    }
    limiter.succeeded(req.ip);
    return reply.code(303).header('set-cookie', setCookie(req, sessions.create(), opts.cookieMaxAgeS)).header('location', next).send();
  });

  // open, so that a screen whose session already expired can still clear its cookie; never from another site
  app.post('/logout', async (req, reply) => {
    if (crossSite(req)) return refuseCrossSite(reply);
    sessions.revoke(cookie(req.headers.cookie, opts.cookieName));
    return reply.code(303).header('set-cookie', setCookie(req, '', 0)).header('location', '/login').send();
  });
}
