/**
 * The small guards in front of the routes, each on its own: Host parsing and the allow-list per
 * kind of bind, the sign-in limiter's window and its bounded table, the session store's expiry,
 * revocation and bound, and `safeNext`.
 */
import { describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { cookie, safeNext } from './auth.ts';
import { HostAllowList, hostName } from './host-check.ts';
import { SessionStore } from './sessions.ts';
import { SignInLimiter } from './sign-in-limiter.ts';

describe('Host', () => {
  it('parses names, IPv4 and bracketed IPv6 with or without a port; refuses what is not a host', () => {
    expect(hostName('LocalHost:8080')).toBe('localhost');
    expect(hostName('example.com.')).toBe('example.com');
    expect(hostName('10.0.0.5')).toBe('10.0.0.5');
    expect(hostName('[::1]:8080')).toBe('[::1]');
    expect(hostName('[::1]')).toBe('[::1]');
    for (const bad of ['[::1', '[::1]x', 'a b', 'user@evil.example', 'evil.example/x', 'evil:port', 'a:99999999']) expect(hostName(bad), bad).toBeUndefined();
  });

  it('a loopback bind answers to loopback names and allowedHosts only', () => {
    const list = new HostAllowList('127.0.0.1', ['dash.example']);
    for (const ok of ['127.0.0.1', '127.0.0.1:1', 'localhost', '[::1]:80', '127.1.2.3', 'dash.example:443', hostname()]) expect(list.allows(ok), ok).toBe(true);
    for (const no of ['evil.example', '10.0.0.5', '0.0.0.0', '[::2]', '127.0.0.1.evil.example', '']) expect(list.allows(no), no).toBe(false);
    // no Host at all (HTTP/1.0): no browser, so no rebinding
    expect(list.allows(undefined)).toBe(true);
  });

  it('an address bind answers to that address; a wildcard bind to this machine\'s addresses; "*" to anything', () => {
    const one = new HostAllowList('10.1.2.3', []);
    expect(one.allows('10.1.2.3:8080')).toBe(true);
    expect(one.allows('10.1.2.4')).toBe(false);
    expect(one.allows('127.0.0.1')).toBe(false);
    const any = new HostAllowList('0.0.0.0', []);
    expect(any.allows('127.0.0.1:8080')).toBe(true); // lo is one of this machine's interfaces
    expect(any.allows('evil.example')).toBe(false);
    expect(new HostAllowList('0.0.0.0', ['*']).allows('evil.example')).toBe(true);
    expect(new HostAllowList('::1', []).allows('[::1]:8080')).toBe(true);
  });
});

describe('sign-in limiter', () => {
  it('allows maxFailures in the window, then asks to wait until the oldest leaves it; success clears', () => {
    const l = new SignInLimiter({ maxFailures: 3, windowMs: 60_000 });
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfterS('a', t + i)).toBe(0);
      l.failed('a', t + i);
    }
    expect(l.retryAfterS('a', t + 10)).toBe(60);
    expect(l.retryAfterS('b', t + 10)).toBe(0);
    expect(l.retryAfterS('a', t + 60_001)).toBe(0);
    l.failed('a', t + 60_002);
    l.succeeded('a');
    expect(l.retryAfterS('a', t + 60_003)).toBe(0);
  });

  it('keeps a bounded table, whatever the number of addresses', () => {
    const l = new SignInLimiter({ maxAddresses: 1000 });
    for (let i = 0; i < 50_000; i++) l.failed(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 1000 + i);
    expect(l.addresses).toBe(1000);
  });
});

describe('sessions', () => {
  it('a created id is valid until it expires or is revoked; anything else never is', () => {
    const s = new SessionStore({ maxAgeS: 60 });
    const id = s.create(0);
    expect(s.valid(id, 59_999)).toBe(true);
    expect(s.valid(id, 60_000)).toBe(false);
    const other = s.create(0);
    s.revoke(other);
    expect(s.valid(other, 1)).toBe(false);
    for (const junk of [undefined, '', 'x', '%E0%A4%A', 'A'.repeat(43), `${s.create(0)}x`]) expect(s.valid(junk, 1)).toBe(false);
  });

  it('keeps at most maxSessions: the oldest goes first', () => {
    const s = new SessionStore({ maxSessions: 10, maxAgeS: 3600 });
    const first = s.create(0);
    for (let i = 0; i < 100; i++) s.create(i);
    expect(s.size).toBe(10);
    expect(s.valid(first, 200)).toBe(false);
  });
});

describe('cookie and next', () => {
  it('reads a cookie without decoding it, so no header can throw', () => {
    expect(cookie('a=1; sfa_session=%E0%A4%A; b=2', 'sfa_session')).toBe('%E0%A4%A');
    expect(cookie('=;;;=', 'sfa_session')).toBeUndefined();
    expect(cookie(undefined, 'sfa_session')).toBeUndefined();
  });

  it('next: only a path of this site', () => {
    for (const ok of ['/', '/plain', '/#/machine/m1', '/api/kpis?from=1&to=2']) expect(safeNext(ok), ok).toBe(ok);
    for (const no of ['//evil.example', '/\\evil.example', '/\t/evil.example', '/\n/evil.example', '/ok\\..\\evil', 'https://evil.example', 'evil', '', '/\u00e9', ' /x', `/${'a'.repeat(3000)}`, 42, undefined]) {
      expect(safeNext(no), String(no)).toBe('/');
    }
  });
});
