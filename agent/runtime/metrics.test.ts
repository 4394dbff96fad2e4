/**
 * /metrics names every figure the service is watched by (config/deploy/README.md): a real agent
 * on port 0, an MQTT source on the in-process test broker, upstream pointing at a closed port so
 * that samples wait to be forwarded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { TestBroker } from '../../drivers/mqtt/test-broker.ts';
import { waitFor } from '../../test/helpers/index.ts';
import { Agent } from './agent.ts';

const NAMES = [
  'shopfloor_agent_samples_stored_total',
  'shopfloor_agent_dead_letters_total',
  'shopfloor_agent_buffer_commit_seconds',
  'shopfloor_agent_buffer_backlog_samples',
  'shopfloor_agent_forwarded_samples_total',
  'shopfloor_agent_upstream_confirmed_id',
  'shopfloor_agent_forward_lag_seconds',
  'shopfloor_agent_buffer_dropped_samples',
  'shopfloor_agent_kpi_query_seconds',
  'shopfloor_agent_event_loop_lag_seconds',
  'shopfloor_agent_process_nodejs_heap_size_used_bytes',
  'shopfloor_agent_process_process_resident_memory_bytes',
  'shopfloor_agent_build_info',
];

describe('/metrics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-metrics-'));
  const broker = new TestBroker();
  let agent: Agent;
  let base = '';
  let url = '';

  beforeAll(async () => {
    url = (await broker.start()).mqtt;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const nothing = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const res = loadConfigText(`site: { id: s, timezone: Europe/Berlin }
agent: { id: a, dataDir: ${dir} }
http: { host: 127.0.0.1, port: 0 }
machines: [{ id: m1 }]
sources:
  - { id: src, type: mqtt, url: "${url}", topics: [{ filter: "t/v", format: plain, machine: m1, signal: v }] }
upstream: { url: "mqtt://127.0.0.1:${nothing}" }
`);
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    agent = new Agent(res.config, pino({ level: 'silent' }), { version: '9.8.7' });
    base = `http://127.0.0.1:${(await agent.start()).httpPort}`;
  });
  afterAll(async () => {
    await agent.stop();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has samples, dead letters, commits, backlog, forwarding, lag, drops, KPI time, loop lag, memory and build info', async () => {
    await waitFor(() => agent.health().sources[0]?.state === 'connected', 10_000, 'source connected');
    const pub = await mqtt.connectAsync(url);
    for (let i = 1; i <= 5; i++) await pub.publishAsync('t/v', String(i), { qos: 1 });
    await pub.endAsync();
    await waitFor(() => agent.health().buffer.samples >= 5, 10_000, 'five samples stored');
    agent.metrics.observeKpiQuery('kpis', 0.012);
    const text = await (await fetch(`${base}/metrics`)).text();
    // declared (a labelled counter has no sample line before its first increment)
    for (const name of NAMES) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    /** the value of `name` on the line carrying every one of `labels` (default labels come first) */
    const value = (name: string, labels: Record<string, string> = {}): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      return Number(line?.split(' ').pop());
    };
    expect(value('shopfloor_agent_samples_stored_total', { source: 'src' })).toBe(5);
    expect(value('shopfloor_agent_buffer_commit_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value('shopfloor_agent_forward_lag_seconds')).toBeGreaterThan(0);
    expect(value('shopfloor_agent_kpi_query_seconds_count', { query: 'kpis' })).toBe(1);
    expect(value('shopfloor_agent_build_info', { version: '9.8.7', node: process.versions.node })).toBe(1);
  });
});
