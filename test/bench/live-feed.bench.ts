/**
 * What the dashboard's live feed costs the ingest path: samples/s through the real write path
 * (BatchWriter → SqliteBuffer) with a LiveFeed and one connected browser gathering every
 * commit (the onCommit listener keeps the latest value per tag), next to the same path with
 * no feed, measured in the same run. Median of 5 runs each. Target: ≥ 0.9 of the baseline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { BatchWriter } from '../../agent/buffer/index.ts';
import type { Sample } from '../../agent/model/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { DashboardModel } from '../../agent/http/dashboard-model.ts';
import { LiveFeed } from '../../agent/http/live-feed.ts';
import { loadConfigText } from '../../config/index.ts';
import { median, type BenchFigure } from './harness.ts';

const N = 200_000;
const MACHINES = 50;
const SIGNALS = ['energy_kwh', 'parts_total', 'parts_scrap', 'state', 'temp_c'];

function samples(n: number): Sample[] {
  return Array.from({ length: n }, (_, i) => ({
    machine: `m-${i % MACHINES}`,
    signal: SIGNALS[i % SIGNALS.length] as string,
    ts: 1_700_000_000_000 + i * 10,
    value: i * 0.5,
    quality: 'good',
  }));
}

function ingest(data: Sample[], withFeed: boolean): number {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-bench-feed-'));
  const res = loadConfigText(`site: { id: b }\nagent: { id: b, dataDir: ${dir} }\n`, { file: 'bench.yaml' });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  const agent = new Agent(res.config, pino({ level: 'silent' }));
  let events = 0;
  const feed = withFeed ? new LiveFeed(new DashboardModel(agent, agent.plant), () => agent.health(), agent.buffer) : undefined;
  const unsubscribe = feed?.subscribe(() => events++);
  try {
    const writer = new BatchWriter(agent.buffer, { maxRows: 1000, maxDelayMs: 100 });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < data.length; i += 10) writer.enqueue(data.slice(i, i + 10));
    writer.flush();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (withFeed && events === 0) throw new Error('the feed sent nothing');
    return data.length / s;
  } finally {
    unsubscribe?.();
    feed?.stop();
    agent.buffer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchFigure[]> {
  const data = samples(N);
  const without: number[] = [];
  const withFeed: number[] = [];
  for (let i = 0; i < 5; i++) {
    // interleaved, so a noisy neighbour hurts both alike
    without.push(ingest(data, false));
    withFeed.push(ingest(data, true));
  }
  return [
    {
      figure: 'ingest with the dashboard live feed and one browser',
      value: Math.round(median(withFeed)),
      unit: 'samples/s',
      target: '>= 0.9 × without a feed',
      baseline: { name: 'the same path without a feed', value: Math.round(median(without)) },
    },
  ];
}
