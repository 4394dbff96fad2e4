/**
 * The forwarder against an embedded broker (aedes): TLS with a client certificate plus
 * username/password; the cursor moves only over acknowledged batches, in order, even when
 * PUBACKs come out of order within the window; it is persisted and read back after a restart.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { SqliteBuffer } from '../buffer/index.ts';
import type { Sample } from '../model/index.ts';
import { makeTestPki, TestBroker } from '../../drivers/mqtt/test-broker.ts';
import { waitFor } from '../../test/helpers/index.ts';
import { CURSOR_KEY, Forwarder } from './forwarder.ts';

const silent = { info: () => {}, warn: () => {} };

function samples(n: number, first = 0): Sample[] {
  return Array.from({ length: n }, (_, i) => ({ machine: 'm1', signal: 'temp_c', ts: 1_700_000_000_000 + (first + i) * 1000, value: first + i, quality: 'good' }));
}

let dir: string;
let broker: TestBroker;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sfa-fwd-unit-'));
  broker = new TestBroker();
});
afterEach(async () => {
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Forwarder', () => {
  it('connects over TLS with a client certificate and username/password, and forwards with status and Will', async () => {
    const pki = makeTestPki(join(dir, 'pki'));
    const urls = await broker.start({ tls: pki, users: { edge: 's3cret' } });
    const buffer = new SqliteBuffer({ dataDir: join(dir, 'data') });
    buffer.commit(samples(2500));
    const sub = await mqtt.connectAsync(urls.mqtt, { clientId: 'sub', username: 'edge', password: 's3cret' });
    const got: { topic: string; payload: string; retain: boolean }[] = [];
    sub.on('message', (topic, p, packet) => got.push({ topic, payload: p.toString(), retain: packet.retain }));
    await sub.subscribeAsync('up/#', { qos: 1 });
    const fwd = new Forwarder(
      buffer,
      { url: urls.mqtts as string, topicPrefix: 'up', site: 's1', agent: 'a1', clientId: 'agent-a1', username: 'edge', password: 's3cret', ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, batchSize: 1000, kpiIntervalMs: 0 },
      silent,
      { kpiSnapshots: () => [{ machine: 'm1', payload: { machine: 'm1', day: null } }] },
    );
    fwd.start();
    await waitFor(() => fwd.cursor === 2500, 15_000, 'the backlog acknowledged');
    expect(fwd.state).toBe('connected');
    expect(broker.connects.find((c) => c.clientId === 'agent-a1')).toMatchObject({ username: 'edge', certCn: 'edge-agent' });
    await waitFor(() => got.filter((g) => g.topic === 'up/s1/a1/samples').length === 3, 5000, 'three batches');
    const batches = got.filter((g) => g.topic === 'up/s1/a1/samples').map((g) => JSON.parse(g.payload) as { firstId: number; lastId: number; samples: unknown[] });
    expect(batches.map((b) => [b.firstId, b.lastId, b.samples.length])).toEqual([
      [1, 1000, 1000],
      [1001, 2000, 1000],
      [2001, 2500, 500],
    ]);
    expect(got.map((g) => g.topic).slice(0, 2)).toEqual(['up/s1/a1/status', 'up/s1/a1/kpi/m1']);
    await fwd.stop();
    // a clean stop says offline itself (retained); the cursor is on disk
    await waitFor(() => got.find((g) => g.topic === 'up/s1/a1/status' && g.payload === 'offline'), 5000, 'offline');
    expect(buffer.getMeta(CURSOR_KEY)).toBe('2500');
    await sub.endAsync();
    buffer.close();
  }, 30_000);

  it('refuses to start with an unreadable TLS file, naming the code', async () => {
    const buffer = new SqliteBuffer({ dataDir: join(dir, 'data') });
    const fwd = new Forwarder(buffer, { url: 'mqtts://127.0.0.1:1', site: 's', agent: 'a', clientId: 'x', ca: join(dir, 'missing.pem') }, silent);
    expect(() => fwd.start()).toThrow(/SFA_ERR_UPSTREAM_TLS/);
    buffer.close();
  });

  it('moves the cursor only over contiguous acknowledged batches when PUBACKs come out of order', async () => {
    const urls = await broker.start();
    const b = broker.broker;
    if (!b) throw new Error('no broker');
    // hold the PUBACK of the first batch until released; later batches are acknowledged at once
    let release: (() => void) | undefined;
    const ackOrder: number[] = [];
    b.authorizePublish = (_client, packet, done) => {
      if (!packet.topic.endsWith('/samples')) return done(null);
      const m = JSON.parse(packet.payload.toString()) as { firstId: number };
      if (m.firstId === 1 && release === undefined) {
        release = () => {
          ackOrder.push(m.firstId);
          done(null);
        };
        return;
      }
      ackOrder.push(m.firstId);
      done(null);
    };
    const buffer = new SqliteBuffer({ dataDir: join(dir, 'data') });
    buffer.commit(samples(500));
    const cursors: number[] = [];
    const fwd = new Forwarder(buffer, { url: urls.mqtt, site: 's', agent: 'a', clientId: 'agent-ooo', batchSize: 100, inFlight: 3, kpiIntervalMs: 0, cursorPersistMs: 10 }, silent, {
      onForwarded: () => cursors.push(fwd.cursor),
    });
    fwd.start();
    // batches 2 and 3 are acknowledged, batch 1 is not: the window is full and the cursor stays put
    await waitFor(() => ackOrder.length >= 2, 10_000, 'later batches acknowledged');
    await new Promise((r) => setTimeout(r, 300));
    expect(ackOrder.slice(0, 2)).toEqual([101, 201]);
    expect(fwd.cursor).toBe(0);
    expect(ackOrder).toHaveLength(2); // bounded window: batch 4 waits for room
    expect(cursors).toEqual([]); // nothing counted as forwarded yet
    release?.();
    await waitFor(() => fwd.cursor === 500, 10_000, 'everything acknowledged');
    // on batch 1's PUBACK the cursor passes batches 1–3 in one go, then moves in order
    expect(cursors).toEqual([100, 200, 300, 400, 500]);
    await fwd.stop();
    buffer.close();
    // a new forwarder starts from the persisted cursor
    const again = new SqliteBuffer({ dataDir: join(dir, 'data') });
    const next = new Forwarder(again, { url: urls.mqtt, site: 's', agent: 'a', clientId: 'agent-ooo-2' }, silent);
    expect(next.cursor).toBe(500);
    expect(next.backlog()).toBe(0);
    again.close();
  }, 30_000);
});
