/**
 * GET /api/stream: Server-Sent Events `sample`, `state`, `kpi`, `health` (DESIGN.md §6).
 * A new connection first gets a full snapshot (every tile, the shift KPIs, health), then
 * changes. A browser that reads too slowly misses `sample` events (counted in the next one
 * as `superseded`) but never a `state`, `kpi` or `health` event; one that stops reading is
 * dropped once `maxBufferedBytes` wait for it (its EventSource reconnects and gets a fresh
 * snapshot), so a stuck client costs a bounded amount of memory. At most `maxStreams`
 * streams are served at once; one more gets 503 with Retry-After.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { ErrorBody } from './error-replies.ts';
import type { FeedEvent, LiveFeed } from './live-feed.ts';

export interface StreamOptions {
  /** a comment line this often keeps proxies and idle-timeouts from closing the stream */
  heartbeatMs: number;
  /** the browser's reconnect delay after a lost connection */
  retryMs: number;
  /** streams served at once (http.maxStreams) */
  maxStreams: number;
  /** bytes written but not yet taken by the client past which it is dropped */
  maxBufferedBytes: number;
  /** headers every response carries (agent/http/security-headers.ts); a hijacked reply writes its own */
  headers: Record<string, string>;
  /** told when a client is dropped for not reading */
  onDropped: (remote: string | undefined, bufferedBytes: number) => void;
}

export const STREAM_DEFAULTS: StreamOptions = {
  heartbeatMs: 15_000,
  retryMs: 2000,
  maxStreams: 32,
  maxBufferedBytes: 1024 * 1024,
  headers: {},
  onDropped: () => undefined,
};

export function registerStreamRoutes(app: FastifyInstance, feed: LiveFeed, options: Partial<StreamOptions> = {}): void {
  const opts = { ...STREAM_DEFAULTS, ...options };
  const open = new Set<ServerResponse>();

  app.get('/api/stream', (req, reply) => {
    if (open.size >= opts.maxStreams) {
      const message = `this agent already serves ${opts.maxStreams} live streams (http.maxStreams); close a dashboard or raise the limit`;
      return reply.code(503).header('retry-after', String(Math.ceil(opts.retryMs / 1000) * 5)).send({ error: 'busy', message, code: 'SFA_ERR_HTTP_BUSY' } satisfies ErrorBody);
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...opts.headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${opts.retryMs}\n\n`);
    open.add(res);
    let skipping = 0;
    const put = (text: string): void => {
      if (res.writableEnded || res.destroyed) return;
      // a client that does not read: drop it rather than buffer for it without end
      if (res.writableLength > opts.maxBufferedBytes) {
        opts.onDropped(req.ip, res.writableLength);
        res.destroy();
        return;
      }
      res.write(text);
    };
    const write = (ev: FeedEvent): void => {
      if (ev.event === 'sample' && res.writableNeedDrain) {
        skipping += ev.data.samples.length;
        return;
      }
      const data = ev.event === 'sample' && skipping > 0 ? { ...ev.data, superseded: ev.data.superseded + skipping } : ev.data;
      if (ev.event === 'sample') skipping = 0;
      put(`event: ${ev.event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    let unsubscribe: () => void;
    try {
      unsubscribe = feed.subscribe(write);
    } catch {
      open.delete(res);
      res.end(); // the server is closing
      return;
    }
    const heartbeat = setInterval(() => put(': keep-alive\n\n'), opts.heartbeatMs);
    const done = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(res);
    };
    req.raw.once('close', done);
    res.once('close', done);
  });

  // open streams would keep close() waiting forever
  app.addHook('preClose', async () => {
    feed.stop();
    for (const res of open) res.end();
    open.clear();
  });
}
