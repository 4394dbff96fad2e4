/**
 * `GET /api/kpis` through a real agent on port 0: the body is written as pieces (the kept JSON
 * of whole past rows), and it is byte for byte what JSON.stringify gives for `{ from, to, rows }`
 * (a line name outside ASCII included: the length is counted in bytes), served as JSON, for
 * every scope and grouping; bad queries are 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../runtime/agent.ts';
import type { Sample } from '../model/index.ts';

const D0 = Date.UTC(2024, 4, 5, 22); // midnight in Berlin
const H = 3_600_000;

describe('GET /api/kpis', () => {
  let dir: string;
  let agent: Agent;
  let base: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-kpi-route-'));
    const res = loadConfigText(
      `site: { id: s, timezone: Europe/Berlin }
agent: { id: a, dataDir: ${dir} }
http: { host: 127.0.0.1, port: 0 }
# the samples are from 2024: kept, so that both the agent's service and its query worker read them
buffer: { retainDays: 3650 }
machines:
  - { id: m1, line: l1, product: p, idealCycleTimeS: 30 }
  - { id: m2, line: Süd-2, product: p, idealCycleTimeS: 30 }
shifts:
  - { name: early, start: "06:00", end: "14:00" }
`,
      { file: 'route.yaml' },
    );
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    agent = new Agent(res.config, pino({ level: process.env.DBG_LOG ?? 'silent' }));
    base = `http://127.0.0.1:${(await agent.start()).httpPort}/api/kpis`;
    const samples: Sample[] = [];
    for (const machine of ['m1', 'm2']) {
      for (let t = D0; t < D0 + 48 * H; t += 600_000) {
        samples.push({ machine, signal: 'energy_kwh', ts: t, value: (t - D0) / 1e6, quality: 'good' });
        samples.push({ machine, signal: 'parts_total', ts: t, value: (t - D0) / 600_000, quality: 'good' });
        if ((t - D0) % (3 * H) === 0) {
          samples.push({ machine, signal: 'state', ts: t, value: (t - D0) % (9 * H) === 0 ? 'down' : 'running', quality: 'good' });
          samples.push({ machine, signal: 'order_id', ts: t, value: `${machine}-${(t - D0) / (3 * H)}`, quality: 'good' });
        }
      }
    }
    agent.buffer.commit(samples);
  });
  afterAll(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the JSON text of { from, to, rows }, the same when its rows are kept', async () => {
    const from = new Date(D0).toISOString();
    const to = new Date(D0 + 48 * H).toISOString();
    for (const extra of ['groupBy=day', 'groupBy=hour', 'groupBy=shift&machine=m2', 'groupBy=order', 'groupBy=day&scope=line', 'scope=site']) {
      const url = `${base}?from=${from}&to=${to}&${extra}`;
      const first = await fetch(url);
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const body = await first.text();
      if (extra.includes('scope=line')) expect(body).toContain('"line":"Süd-2"');
      const params = new URLSearchParams(extra);
      const rows = agent.kpis.query({
        from: D0,
        to: D0 + 48 * H,
        groupBy: (params.get('groupBy') ?? 'none') as 'none',
        machine: params.get('machine') ?? undefined,
        scope: (params.get('scope') ?? 'machine') as 'machine',
      });
      expect(body, extra).toBe(JSON.stringify({ from, to, rows }));
      const again = await fetch(url);
      expect(Number(again.headers.get('content-length')), extra).toBe(Buffer.byteLength(body));
      expect(await again.text(), extra).toBe(body);
    }
  });

  it('answers HEAD with the headers and no body', async () => {
    const r = await fetch(`${base}?groupBy=day`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await r.text()).toBe('');
  });

  it('answers a bad query with 400', async () => {
    expect((await fetch(`${base}?from=yesterday`)).status).toBe(400);
    expect((await fetch(`${base}?groupBy=week`)).status).toBe(400);
    expect((await fetch(`${base}?from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z`)).status).toBe(400);
  });
});
