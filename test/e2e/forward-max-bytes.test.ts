/**
 * A small buffer.maxBytes over a long run with the central broker out of reach: the database
 * (file + WAL, as on disk) stays within 10 % of the cap throughout, droppedSamples counts
 * exactly what was dropped (health, metrics, one warning naming the time range), and ingest
 * never stops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import type { Sample } from '../../agent/model/index.ts';
import { waitFor } from '../helpers/index.ts';
import { startUplink, type Uplink } from './forward-helpers.ts';

const MAX_BYTES = 4 * 1024 * 1024;
const TOTAL = 600_000;

function onDisk(path: string): number {
  const size = (p: string): number => {
    try {
      return statSync(p).size;
    } catch {
      return 0;
    }
  };
  return size(path) + size(`${path}-wal`);
}

describe('buffer.maxBytes over a long run', () => {
  let dir: string;
  let agent: Agent;
  let uplink: Uplink;
  const logs: { level: number; msg: string; from?: string; to?: string }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-cap-'));
    // the uplink stays down: nothing is ever forwarded, so every deleted sample is a drop
    uplink = await startUplink({ host: '127.0.0.1', port: 1 }, false);
    const res = loadConfigText(
      `
site: { id: plant-c }
agent: { id: edge-c, dataDir: ${join(dir, 'data')} }
http: { port: 0 }
machines: [{ id: m1 }, { id: m2 }]
buffer: { maxBytes: 4MiB, retainDays: 14 }
upstream: { url: "mqtt://127.0.0.1:${uplink.port}", topicPrefix: sfa-test-cap, kpiIntervalS: 0 }
`,
      { file: 'cap.yaml' },
    );
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as (typeof logs)[number]);
        cb();
      },
    });
    agent = new Agent(res.config, pino({ level: 'info' }, sink));
    await agent.start();
  }, 30_000);

  afterAll(async () => {
    await agent?.stop();
    await uplink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stays within 10 % of maxBytes, counts drops exactly, and keeps ingesting', async () => {
    const t0 = Date.now() - 7 * 86_400_000;
    const signals = ['energy_kwh', 'parts_total', 'state', 'temp_c'];
    let largest = 0;
    for (let i = 0; i < TOTAL; i += 1000) {
      const batch: Sample[] = Array.from({ length: 1000 }, (_, k) => {
        const n = i + k;
        return { machine: n % 2 ? 'm1' : 'm2', signal: signals[n % 4] as string, ts: t0 + n * 100, value: signals[n % 4] === 'state' ? 'running' : n * 0.5, quality: 'good' };
      });
      const stored = agent.buffer.commit(batch); // throws if ingest stalls on a full buffer
      expect(stored).toHaveLength(1000);
      const now = onDisk(agent.buffer.path);
      if (now > largest) {
        largest = now;
        if (process.env.SFA_DEBUG_CAP) console.log('largest', now, JSON.stringify(agent.buffer.pageStats()));
      }
      await new Promise((r) => setImmediate(r));
    }
    // let the last pass finish
    await waitFor(() => agent.health().buffer.bytes <= MAX_BYTES, 10_000, 'the last retention pass');
    largest = Math.max(largest, onDisk(agent.buffer.path));
    expect(largest, `largest on-disk size ${largest}`).toBeLessThanOrEqual(MAX_BYTES * 1.1);
    // (and the cap is used, not wasted)
    expect(largest).toBeGreaterThan(MAX_BYTES * 0.5);

    const stats = agent.buffer.stats();
    expect(stats.lastId).toBe(TOTAL);
    const h = agent.health();
    expect(h.buffer.droppedSamples).toBeGreaterThan(TOTAL / 2);
    // exact: every sample not in the buffer was dropped, and counted once
    expect(h.buffer.droppedSamples).toBe(TOTAL - stats.samples);
    expect(h.buffer.backlog).toBe(stats.samples);
    // what is left is the newest, contiguous
    expect(agent.buffer.oldestId()).toBe(TOTAL - stats.samples + 1);
    expect(agent.buffer.latest('m1').length).toBeGreaterThan(0);
    const metrics = await agent.metrics.registry.metrics();
    expect(metrics).toContain(`shopfloor_agent_buffer_dropped_samples{site="plant-c",agent="edge-c"} ${h.buffer.droppedSamples}`);
    // one warning naming where the dropped range starts (a summary follows when the episode ends)
    const warns = logs.filter((l) => l.level === 40 && l.msg.includes('dropping unforwarded samples'));
    expect(warns).toHaveLength(1);
    expect(warns[0]?.from).toBe(new Date(t0).toISOString());
  }, 120_000);
});
