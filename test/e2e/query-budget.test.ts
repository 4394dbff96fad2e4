/**
 * Issue 14 "Hostile input", build 2: queries never block ingest. A real agent over a buffer of
 * 47 machines × 400 days; the heaviest `/api/kpis` query the default budget allows (every
 * machine by day over 400 days, cold: seconds of work) runs in the query worker while
 * `/healthz` keeps answering within 100 ms and samples keep being committed on the agent's
 * thread. Ranges from 1970 or past the year 9999 are refused at once; a range or a row count
 * over the budget is a 400 naming its limit; a query past its deadline is a 503 and the next
 * query is answered by a fresh worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { SqliteBuffer } from '../../agent/buffer/index.ts';
import type { Sample } from '../../agent/model/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { configIn } from '../helpers/kpi-fixtures.ts';

const execFileP = promisify(execFile);
const CLIENT = fileURLToPath(new URL('../helpers/http-latency-client.mjs', import.meta.url));
const H = 3_600_000;
const DAY = 24 * H;
// 47 machines by day over 400 days: 18,847 rows, and the budget's upper bound (419 windows, DST
// and partial days counted generously) × 47 = 19,693 just inside maxRows (20,000), so the heaviest
// query the default budget allows; slow enough on a quiet machine too
const MACHINES = 47;
const NOW = Date.now();
const FROM = NOW - 400 * DAY;

function config(dir: string, query = ''): ReturnType<typeof configIn> {
  const machines = Array.from({ length: MACHINES }, (_, i) => `  - { id: m${i}, line: l${i % 3}, product: p, idealCycleTimeS: 30 }`).join('\n');
  return configIn(
    `site: { id: s, timezone: Europe/Berlin }
agent: { id: a }
http: { host: 127.0.0.1, port: 0${query} }
buffer: { retainDays: 800 }
machines:
${machines}
shifts:
  - { name: early, start: "06:00", end: "14:00" }
`,
    'query-budget.yaml',
    dir,
  );
}

/** A daily counter reading per machine and a state change every 5 days: the cost of a cold query is its hours, not its rows. */
function fill(dir: string): void {
  const buffer = new SqliteBuffer({ dataDir: dir });
  const start = Math.floor(FROM / H) * H - DAY;
  for (let d = start; d < NOW; d += 50 * DAY) {
    const out: Sample[] = [];
    for (let t = d; t < Math.min(NOW, d + 50 * DAY); t += DAY) {
      const k = (t - start) / DAY;
      for (let i = 0; i < MACHINES; i++) {
        out.push({ machine: `m${i}`, signal: 'energy_kwh', ts: t, value: k * 40, quality: 'good' });
        out.push({ machine: `m${i}`, signal: 'parts_total', ts: t, value: k * 900, quality: 'good' });
        if (k % 5 === 0) out.push({ machine: `m${i}`, signal: 'state', ts: t, value: k % 10 === 0 ? 'running' : 'idle', quality: 'good' });
      }
    }
    buffer.commit(out);
  }
  buffer.close();
}

interface Health {
  buffer: { samples: number };
}

describe('queries never block ingest (issue 14)', () => {
  let dir: string;
  let agent: Agent | undefined;
  let base = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-query-budget-'));
    fill(dir);
    agent = new Agent(config(dir), pino({ level: 'silent' }));
    base = `http://127.0.0.1:${(await agent.start()).httpPort}`;
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('/healthz answers within 100 ms and samples keep being committed while the heaviest allowed /api/kpis query runs', async () => {
    const a = agent as Agent;
    let committed = 0;
    let ingestTs = NOW + 1000;
    const ingest = setInterval(() => {
      a.buffer.commit([{ machine: 'm0', signal: 'temperature_c', ts: ingestTs++, value: 20 + (committed % 7), quality: 'good' }]);
      committed++;
    }, 10);
    const url = `${base}/api/kpis?from=${FROM + H}&to=${NOW}&groupBy=day`;
    // the rows the worker must send: the site's days the range touches, for every machine
    let days = 0;
    for (let d = DateTime.fromMillis(FROM + H, { zone: 'Europe/Berlin' }).startOf('day'); d.toMillis() < NOW; d = d.plus({ days: 1 })) days++;
    const rowsExpected = days * MACHINES;
    const t0 = performance.now();
    let done = false;
    // the client in a process of its own (as a browser would be): reading 8 MB is its work, not the agent's
    const query = execFileP(process.execPath, [CLIENT, url, '1', String(rowsExpected)]).then((r) => {
      done = true;
      return { ms: (JSON.parse(r.stdout) as number[])[0] as number, wall: performance.now() - t0 };
    });
    const latencies: number[] = [];
    const samples: number[] = [];
    try {
      while (!done) {
        const t = performance.now();
        const h = await fetch(`${base}/healthz`);
        const body = (await h.json()) as Health;
        if (done) break; // the answer may have waited behind the query's body being read here
        latencies.push(performance.now() - t);
        samples.push(body.buffer.samples);
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      clearInterval(ingest);
    }
    // the client checked the status and the row count (18,847 rows)
    const answer = await query;
    // the fixture must make the query heavy, or the latencies below would prove nothing
    expect(answer.ms, 'the heaviest allowed query should take half a second or more here').toBeGreaterThan(500);
    expect(latencies.length).toBeGreaterThanOrEqual(10);
    // every answer within 100 ms is the aim; on a shared 2-core runner the scheduler alone gives
    // a few answers of 100-500 ms with no query running, so: 95 % within 100 ms, and none near
    // the query's own duration (before the worker, each waited for all of it)
    const sorted = [...latencies].sort((x, y) => x - y);
    const p95 = sorted[Math.ceil(0.95 * sorted.length) - 1] as number;
    const shown = `healthz latencies (ms) during a ${answer.ms.toFixed(0)} ms query: ${latencies.map((x) => x.toFixed(0)).join(' ')}`;
    expect(p95, shown).toBeLessThan(100);
    expect(Math.max(...latencies), shown).toBeLessThan(Math.min(1000, answer.ms / 2));
    // ingest went on: samples committed during the query, and /healthz counted them
    expect(committed).toBeGreaterThan(answer.wall / 10 / 4);
    expect(samples[samples.length - 1] as number).toBeGreaterThan(samples[0] as number);
  }, 60_000);

  it('from=0 and to=9e15 (and other ranges no request may ask for) answer 400 at once', async () => {
    const cases: [string, string][] = [
      ['/api/kpis?from=0', 'SFA_ERR_HTTP_QUERY_RANGE'],
      ['/api/kpis?from=0&to=9000000000000000', 'SFA_ERR_HTTP_BAD_REQUEST'],
      ['/api/kpis?from=0&to=9e15', 'SFA_ERR_HTTP_BAD_REQUEST'],
      ['/api/kpis?to=9000000000000000', 'SFA_ERR_HTTP_BAD_REQUEST'],
      ['/api/kpis?from=abc', 'SFA_ERR_HTTP_BAD_REQUEST'],
      [`/api/kpis?from=${NOW}&to=${NOW - H}`, 'SFA_ERR_KPI_QUERY'],
      ['/api/benchmarks?from=0', 'SFA_ERR_HTTP_QUERY_RANGE'],
      ['/api/series?machine=m0&signal=energy_kwh&from=0', 'SFA_ERR_HTTP_QUERY_RANGE'],
      ['/api/series?machine=m0&signal=energy_kwh&to=9000000000000000', 'SFA_ERR_HTTP_BAD_REQUEST'],
    ];
    for (const [path, code] of cases) {
      const t = performance.now();
      const r = await fetch(`${base}${path}`);
      const ms = performance.now() - t;
      expect(r.status, path).toBe(400);
      expect(((await r.json()) as { code: string }).code, path).toBe(code);
      expect(ms, path).toBeLessThan(500);
    }
  });

  it('a range or a row count over the budget is a 400 naming the limit; a long series is thinned to fit', async () => {
    const range = await fetch(`${base}/api/kpis?from=${NOW - 401 * DAY}&to=${NOW}`);
    expect(range.status).toBe(400);
    const rb = (await range.json()) as { code: string; message: string };
    expect(rb.code).toBe('SFA_ERR_HTTP_QUERY_RANGE');
    expect(rb.message).toContain('http.query.maxRangeDays = 400');
    // 47 machines by hour over 50 days: 56,447 rows
    const rows = await fetch(`${base}/api/kpis?from=${NOW - 50 * DAY}&to=${NOW}&groupBy=hour`);
    expect(rows.status).toBe(400);
    const wb = (await rows.json()) as { code: string; message: string };
    expect(wb.code).toBe('SFA_ERR_HTTP_QUERY_ROWS');
    expect(wb.message).toContain('http.query.maxRows = 20000');
    // one line (16 machines) over 20 days (481 hours): 7,696 rows fit
    const line = await fetch(`${base}/api/kpis?from=${NOW - 20 * DAY}&to=${NOW}&groupBy=hour&line=l0`);
    expect(line.status).toBe(200);
    // one point a second over 400 days asked: the step widens to 10,000 points at most
    const series = await fetch(`${base}/api/series?machine=m0&signal=energy_kwh&from=${FROM}&to=${NOW}&step=1000`);
    expect(series.status).toBe(200);
    const sb = (await series.json()) as { step: number; points: unknown[] };
    expect(sb.step).toBe(Math.ceil((NOW - FROM) / 10_000));
    expect(sb.points.length).toBeGreaterThan(0);
    expect(sb.points.length).toBeLessThanOrEqual(10_000);
  });

  it('a query past its deadline is a 503 with a code, and the next query is answered', async () => {
    await agent?.stop();
    // the same buffer, a deadline (0.2 s) that the cold 400-day query cannot meet
    agent = new Agent(config(dir, ', query: { deadlineS: 0.2 }'), pino({ level: 'silent' }));
    base = `http://127.0.0.1:${(await agent.start()).httpPort}`;
    const slow = await fetch(`${base}/api/kpis?from=${FROM + H}&to=${NOW}&groupBy=day`);
    expect(slow.status).toBe(503);
    expect(slow.headers.get('retry-after')).toBe('5');
    const sb = (await slow.json()) as { code: string; message: string };
    expect(sb.code).toBe('SFA_ERR_HTTP_QUERY_TIMEOUT');
    expect(sb.message).toContain('http.query.deadlineS');
    expect(agent.queries.restarts).toBe(1);
    const next = await fetch(`${base}/api/kpis?from=${NOW - DAY}&to=${NOW}&machine=m1`);
    expect(next.status).toBe(200);
    const nb = (await next.json()) as { rows: { machine: string }[] };
    expect(nb.rows.map((r) => r.machine)).toEqual(['m1']);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 60_000);
});
