/**
 * GET /api/stream: Server-Sent Events `sample`, `state`, `kpi`, `health` (DESIGN.md §6).
 * A new connection first gets a full snapshot (every tile, the shift KPIs, health), then
 * changes. A browser that reads too slowly misses `sample` events (counted in the next one
 * as `superseded`) but never a `state`, `kpi` or `health` event.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { FeedEvent, LiveFeed } from './live-feed.ts';

export interface StreamOptions {
  /** a comment line this often keeps proxies and idle-timeouts from closing the stream */
  heartbeatMs: number;
  /** the browser's reconnect delay after a lost connection */
  retryMs: number;
}

export const STREAM_DEFAULTS: StreamOptions = { heartbeatMs: 15_000, retryMs: 2000 };

export function registerStreamRoutes(app: FastifyInstance, feed: LiveFeed, options: Partial<StreamOptions> = {}): void {
  const opts = { ...STREAM_DEFAULTS, ...options };
  const open = new Set<ServerResponse>();

  app.get('/api/stream', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${opts.retryMs}\n\n`);
    open.add(res);
    let skipping = 0;
    const write = (ev: FeedEvent): void => {
      if (res.writableEnded || res.destroyed) return;
      if (ev.event === 'sample' && res.writableNeedDrain) {
        skipping += ev.data.samples.length;
        return;
      }
      const data = ev.event === 'sample' && skipping > 0 ? { ...ev.data, superseded: ev.data.superseded + skipping } : ev.data;
      if (ev.event === 'sample') skipping = 0;
      res.write(`event: ${ev.event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    let unsubscribe: () => void;
    try {
      unsubscribe = feed.subscribe(write);
    } catch {
      res.end(); // the server is closing
      return;
    }
    const heartbeat = setInterval(() => {
      if (!res.writableEnded) res.write(': keep-alive\n\n');
    }, opts.heartbeatMs);
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
