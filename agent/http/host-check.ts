/**
 * The `Host` allow-list, against DNS rebinding: a web page on evil.example whose name the
 * attacker re-points at 127.0.0.1 is same-origin with itself, so a browser on the edge box would
 * let it read the token-less loopback dashboard. Its requests still carry `Host: evil.example`,
 * and that is what is refused here (421, before authentication and before any route).
 *
 * Allowed: the bind address, `localhost`, the loopback literals when bound to loopback, this
 * machine's host name and, for a wildcard bind (0.0.0.0, ::), the addresses of its interfaces;
 * plus `http.allowedHosts` (a proxy's or a DNS name; "*" turns the check off). Ports are not
 * compared: a proxy may forward from another port.
 */
import { hostname, networkInterfaces } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLoopback } from './auth.ts';
import type { ErrorBody } from './error-replies.ts';

export interface HostCheckOptions {
  /** a wildcard bind re-reads the interface addresses after a miss at most this often (DHCP) */
  interfacesRefreshMs: number;
}

export const HOST_CHECK_DEFAULTS: HostCheckOptions = { interfacesRefreshMs: 30_000 };

const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '[::]', '']);

/** `Host` without its port, lower case, brackets kept for IPv6, a trailing dot dropped; undefined when it does not parse. */
export function hostName(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    const rest = h.slice(end + 1);
    return rest === '' || /^:\d{1,5}$/.test(rest) ? h.slice(0, end + 1) : undefined;
  }
  const m = /^([^:\s/@]+?)\.?(?::\d{1,5})?$/.exec(h);
  return m?.[1];
}

/** The canonical form of a configured name or address: IPv6 literals in brackets. */
function canonical(name: string): string {
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  return n.includes(':') && !n.startsWith('[') ? `[${n}]` : n;
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .flatMap((a) => (a ? [canonical(a.address.replace(/%.*$/, ''))] : []));
}

export class HostAllowList {
  private readonly fixed = new Set<string>();
  private readonly any: boolean;
  private readonly wildcard: boolean;
  private interfaces = new Set<string>();
  private interfacesAt = 0;

  constructor(
    bindHost: string,
    allowedHosts: readonly string[],
    private readonly opts: HostCheckOptions = HOST_CHECK_DEFAULTS,
  ) {
    this.any = allowedHosts.includes('*');
    this.wildcard = WILDCARD_BINDS.has(bindHost.trim());
    for (const n of ['localhost', hostname(), hostname().split('.')[0] ?? '', ...allowedHosts]) if (n) this.fixed.add(canonical(n));
    if (!this.wildcard) this.fixed.add(canonical(bindHost));
    if (this.wildcard || isLoopback(bindHost)) for (const n of ['127.0.0.1', '[::1]']) this.fixed.add(n);
  }

  allows(header: string | undefined): boolean {
    // HTTP/1.0 without Host: no browser sends that, and rebinding needs a browser
    if (header === undefined) return true;
    if (this.any) return true;
    const name = hostName(header);
    if (name === undefined) return false;
    if (this.fixed.has(name)) return true;
    if (!this.wildcard) return /^127\.\d+\.\d+\.\d+$/.test(name) && this.fixed.has('127.0.0.1');
    const now = Date.now();
    if (!this.interfaces.has(name) && now - this.interfacesAt >= this.opts.interfacesRefreshMs) {
      this.interfaces = new Set(interfaceAddresses());
      this.interfacesAt = now;
    }
    return this.interfaces.has(name);
  }
}

/** Registers the check as the first onRequest hook: a refused Host learns nothing else. */
export function registerHostCheck(app: FastifyInstance, bindHost: string, allowedHosts: readonly string[]): void {
  const list = new HostAllowList(bindHost, allowedHosts);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (list.allows(req.headers.host)) return;
    const body: ErrorBody = {
      error: 'misdirected',
      message: 'this agent does not answer to that Host: open it by its bind address or localhost, or add the name to http.allowedHosts',
      code: 'SFA_ERR_HTTP_HOST',
    };
    await reply.code(421).send(body);
    return reply;
  });
}
