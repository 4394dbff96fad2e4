/**
 * A fleet process killed with SIGKILL mid-stream loses nothing: two `shopfloor-agent fleet`
 * child processes share the subscription (PostgreSQL, Mosquitto); one is killed while batches
 * flow — messages delivered to it and not yet committed are unacknowledged, so they stay in its
 * persistent session — and restarted with the same id. At the end every sample is stored
 * exactly once and the agent's confirmed id is its last id.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgStore } from '../../agent/fleet/index.ts';
import { mosquitto, postgres, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { dropSchema, PG_TEST_URL, samplesMessage, testSchema } from '../helpers/fleet-messages.ts';
import { agentClient, clearRetained, endSession, spawnFleet, type FleetTestSetup } from '../helpers/fleet-peers.ts';

const BATCHES = 150;
const PER_BATCH = 100;
const KILL_AT = 50;
const RESTART_AT = 100;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function healthy(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    return r.status === 200 && ((await r.json()) as { status: string }).status === 'ok';
  } catch {
    return false;
  }
}

let ready = false;
beforeAll(async () => {
  ready = (await mosquitto()).available && (await postgres()).available;
});

describe('fleet process killed with SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-fleet-kill-'));
  const s: FleetTestSetup = { id: `kill-${process.pid}`, prefix: uniqueTopicPrefix('fleet-kill'), group: `k${Math.random().toString(36).slice(2, 10)}`, dataDir: dir, schema: testSchema('kill') };
  const children: ChildProcess[] = [];
  let stderr = '';

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    if (!ready) return;
    await endSession(`${s.id}-a`);
    await endSession(`${s.id}-b`);
    const c = await agentClient();
    await clearRetained(c, [`${s.prefix}/site-a/edge-1/confirm`]);
    await c.endAsync();
    await dropSchema(s.schema as string);
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends with every sample stored exactly once after a member is killed and restarted', { timeout: 120_000 }, async ({ skip }) => {
    if (!ready) skip();
    const ports = { a: await freePort(), b: await freePort() };
    const start = (which: 'a' | 'b'): ChildProcess => {
      // a long batch time: at the kill, the messages a process has received are not yet committed
      const child = spawnFleet({ ...s, id: `${s.id}-${which}`, port: ports[which], ingest: 'batchMs: 1000, confirmIntervalMs: 50' });
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      children.push(child);
      return child;
    };
    const a = start('a');
    start('b');
    await waitFor(async () => (await healthy(ports.a)) && (await healthy(ports.b)), 60_000, `both fleet processes healthy (${stderr})`, 200);
    const reader = await PgStore.open({ url: PG_TEST_URL, schema: s.schema as string });
    const agent = await agentClient();
    try {
      const publish = async (i: number): Promise<void> => {
        const m = samplesMessage({ instance: 'k1', prevLastId: i * PER_BATCH, firstId: i * PER_BATCH + 1, lastId: (i + 1) * PER_BATCH });
        await agent.publishAsync(`${s.prefix}/site-a/edge-1/samples`, JSON.stringify(m), { qos: 1 });
      };
      for (let i = 0; i < KILL_AT; i++) await publish(i);
      // killed while its share of the first batches is being received and committed
      a.kill('SIGKILL');
      for (let i = KILL_AT; i < RESTART_AT; i++) await publish(i);
      // the other process has committed its share; the killed one's share waits in its session
      await new Promise((r) => setTimeout(r, 2500));
      const whileDown = await reader.sampleCount('k1');
      expect(whileDown).toBeGreaterThan(0);
      expect(whileDown).toBeLessThan(RESTART_AT * PER_BATCH);
      start('a');
      await waitFor(() => healthy(ports.a), 60_000, 'the killed process back', 200);
      for (let i = RESTART_AT; i < BATCHES; i++) await publish(i);
      const total = BATCHES * PER_BATCH;
      await waitFor(async () => (await reader.sampleCount('k1')) === total, 60_000, `all ${total} samples stored`, 200);
      await waitFor(async () => (await reader.agents())[0]?.confirmedId === total, 10_000, 'confirmed to the last id', 200);
      expect(await reader.sampleCount()).toBe(total);
    } finally {
      await agent.endAsync();
      await reader.close();
    }
  });
});
