/**
 * A client that stops reading /api/stream is dropped once maxBufferedBytes wait for it, so the
 * server's memory for it stays bounded, while a client that reads keeps its stream. The feed
 * here sends big, ever-changing tiles every few milliseconds: a stuck reader fills the kernel's
 * socket buffers within a second, after which every byte would pile up in the server. (The
 * reading client shares this process's event loop with the server, so it is given a pace it
 * keeps even on a loaded machine.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DashboardModel, ShiftKpis } from './dashboard-model.ts';
import type { TileStatus } from './machine-status.ts';
import { LiveFeed, type FeedSource } from './live-feed.ts';
import type { Health } from './ports.ts';
import { registerStreamRoutes } from './stream-routes.ts';

const TILE_NAME_BYTES = 5000;
const TILES = 20;

/** Only what the feed asks of the model: tiles that change on every call, and KPIs. */
function churningModel(tileNameBytes = TILE_NAME_BYTES): DashboardModel {
  let n = 0;
  const tile = (id: string): TileStatus => ({
    id,
    name: `${id}:${n}:`.padEnd(tileNameBytes, 'x'),
    line: 'l',
    product: null,
    state: 'running',
    stateSince: null,
    lastKnownState: 'running',
    lastSampleAt: null,
    stale: false,
    staleReasons: [],
    sources: [],
  });
  const model = {
    tiles: (): TileStatus[] => {
      n++;
      return Array.from({ length: TILES }, (_, i) => tile(`m${i}`));
    },
    shiftKpis: (): ShiftKpis => ({ shift: { name: 'day', start: '', end: '' }, now: '', rows: [] }) as unknown as ShiftKpis,
  };
  return model as unknown as DashboardModel;
}

const health = (): Health => ({ status: 'ok', sources: [], buffer: { samples: 0, backlog: 0, bytes: 0, droppedSamples: 0 }, upstream: { state: 'disabled', lastAckAt: null } }) as unknown as Health;
const noCommits: FeedSource = { onCommit: () => undefined };

function openStream(port: number): Socket {
  const s = connect(port, '127.0.0.1');
  s.write('GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
  return s;
}

describe('GET /api/stream: a slow reader', () => {
  let app: FastifyInstance | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    await app?.close();
  });

  it('is dropped once maxBufferedBytes wait for it, and only it', async () => {
    app = Fastify();
    const feed = new LiveFeed(churningModel(), health, noCommits, { statusEveryMs: 10, kpiEveryMs: 60_000 });
    const maxBufferedBytes = 256 * 1024;
    const dropped: number[] = [];
    registerStreamRoutes(app, feed, { maxBufferedBytes, onDropped: (_remote, bytes) => dropped.push(bytes) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;

    const stuck = openStream(port);
    stuck.pause(); // reads its first 16 kB into the socket's buffer, then nothing
    let stuckClosed = false;
    stuck.on('close', () => (stuckClosed = true));
    sockets.push(stuck);
    const deadline = Date.now() + 20_000;
    while (feed.clients === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(feed.clients).toBe(1);

    while (dropped.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(dropped).toHaveLength(1);
    // what the server held for it: the limit plus at most one event (one tile)
    expect(dropped[0]).toBeGreaterThan(maxBufferedBytes);
    expect(dropped[0]).toBeLessThan(maxBufferedBytes + TILE_NAME_BYTES + 1000);
    // the feed lets the client go when its socket has closed, a turn after the drop is reported
    while (feed.clients !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(feed.clients).toBe(0);

    // the stuck client, reading again, finds its stream closed
    stuck.resume();
    const end = Date.now() + 10_000;
    while (!stuckClosed && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(stuckClosed).toBe(true);
  });

  it('a reader that keeps up is never dropped, also beside a stuck one', async () => {
    app = Fastify();
    // 20 kB every 10 ms: far beyond what the stuck client's socket buffers hold within the test
    const feed = new LiveFeed(churningModel(1000), health, noCommits, { statusEveryMs: 10, kpiEveryMs: 60_000 });
    const dropped: number[] = [];
    registerStreamRoutes(app, feed, { maxBufferedBytes: 256 * 1024, onDropped: (_r, b) => dropped.push(b) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const reader = openStream(port);
    const stuck = openStream(port);
    stuck.pause();
    sockets.push(reader, stuck);
    let readBytes = 0;
    reader.on('data', (c: Buffer) => (readBytes += c.length));
    const deadline = Date.now() + 30_000;
    while (dropped.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(dropped).toHaveLength(1);
    expect(feed.clients).toBe(1);
    const before = readBytes;
    await new Promise((r) => setTimeout(r, 500));
    expect(readBytes - before).toBeGreaterThan(100 * 1024);
    expect(dropped).toHaveLength(1);
  });
});

describe('the live feed, when the model throws (a bug, or data it cannot show)', () => {
  it('reports the fault, keeps its listeners, and sends the tiles again once they compute', async () => {
    let broken = true;
    const good = churningModel(10);
    const model = {
      tiles: (now: number): TileStatus[] => {
        if (broken) throw new RangeError('Invalid time value');
        return good.tiles(now);
      },
      shiftKpis: (now: number): ShiftKpis => good.shiftKpis(now),
    } as unknown as DashboardModel;
    const faults: unknown[] = [];
    const feed = new LiveFeed(model, health, noCommits, { statusEveryMs: 10, kpiEveryMs: 60_000, onFault: (err) => faults.push(err) });
    const events: string[] = [];
    const unsubscribe = feed.subscribe((ev) => events.push(ev.event));
    try {
      expect(faults).toHaveLength(1);
      expect(feed.clients).toBe(1);
      await new Promise((r) => setTimeout(r, 100));
      expect(faults.length).toBeGreaterThan(1); // every tick, each one caught
      expect(events.filter((e) => e === 'state')).toEqual([]);
      broken = false;
      await new Promise((r) => setTimeout(r, 100));
      expect(events.filter((e) => e === 'state').length).toBeGreaterThanOrEqual(TILES);
      expect(feed.clients).toBe(1);
    } finally {
      unsubscribe();
      feed.stop();
    }
  });
});
