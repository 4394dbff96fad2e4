/**
 * Security headers on every response. The dashboard is our own bundle (one script, one style
 * sheet, uPlot drawing on canvas), served from this origin: nothing external is allowed. The few
 * inline blocks our pages carry (the theme switch before first paint, the login and plain pages'
 * styles) are allowed by their SHA-256, computed from the page being sent, so an injected block
 * never runs and no page needs 'unsafe-inline'.
 *
 * Framing is refused (`frame-ancestors 'none'`, `X-Frame-Options: DENY`) unless
 * `http.frameAncestors` names the kiosk portals allowed to embed the dashboard.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export interface SecurityHeaderOptions {
  /** origins allowed to frame the pages (http.frameAncestors); empty: none */
  frameAncestors: readonly string[];
}

const INLINE_BLOCK = /<(script|style)(\s[^>]*)?>([\s\S]*?)<\/\1\s*>/gi;

/** 'sha256-…' sources of the inline `<script>` and `<style>` blocks of a page (not of `<script src>`). */
export function inlineHashes(html: string): { script: string[]; style: string[] } {
  const script: string[] = [];
  const style: string[] = [];
  for (const m of html.matchAll(INLINE_BLOCK)) {
    const [, tag = '', attrs = '', body = ''] = m;
    if (tag.toLowerCase() === 'script' && /\ssrc\s*=/i.test(attrs)) continue;
    const hash = `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`;
    (tag.toLowerCase() === 'script' ? script : style).push(hash);
  }
  return { script, style };
}

/** The Content-Security-Policy of a response; `html` adds the hashes of its inline blocks. */
export function contentSecurityPolicy(frameAncestors: readonly string[], html?: string): string {
  const inline = html === undefined ? { script: [], style: [] } : inlineHashes(html);
  return [
    "default-src 'self'",
    ["script-src 'self'", ...inline.script].join(' '),
    ["style-src 'self'", ...inline.style].join(' '),
    // the favicon is an inline SVG
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors.length > 0 ? frameAncestors.join(' ') : "'none'"}`,
  ].join('; ');
}

export function registerSecurityHeaders(app: FastifyInstance, options: SecurityHeaderOptions): void {
  const frame = options.frameAncestors;
  const plain = contentSecurityPolicy(frame);
  app.addHook('onSend', async (_req, reply, payload) => {
    const type = String(reply.getHeader('content-type') ?? '');
    const html = typeof payload === 'string' && type.startsWith('text/html') ? payload : undefined;
    reply.header('content-security-policy', html === undefined ? plain : contentSecurityPolicy(frame, html));
    // X-Frame-Options cannot name origins: with kiosk framing allowed, frame-ancestors alone decides
    if (frame.length === 0) reply.header('x-frame-options', 'DENY');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    return payload;
  });
}

/** The same headers for a hijacked response (the SSE stream writes its own head). */
export function securityHeaderPairs(options: SecurityHeaderOptions): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(options.frameAncestors),
    ...(options.frameAncestors.length === 0 ? { 'x-frame-options': 'DENY' } : {}),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
}
