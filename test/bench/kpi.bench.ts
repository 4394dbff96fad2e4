/**
 * KPI query latency: 30 days × 50 machines at report-by-exception rates (energy
 * every 10 s, a part every 30 s, a state change every few minutes, an order change every
 * ~2 h: ≈ 18 M samples, generated into a real buffer), then `GET /api/kpis?groupBy=day` for all
 * machines and the 30 days through the agent's HTTP server.
 *
 * Figures: the p95 of the warm query's latency (request to last byte of ~2 MB) as a client in a
 * process of its own sees it (test/helpers/http-latency-client.mjs, as a dashboard or a central
 * tool would be; the KPI service keeps each whole past day's row as JSON bytes and the route
 * writes them), next to the same query computed from raw rows (a KpiService without the cache,
 * on the same buffer, in the same run); the same p95 for a client inside the agent's own
 * process that also parses the JSON before its timer stops (its parse and garbage compete
 * with the server: a pessimistic bound); and the first (cold) query
 * after the agent starts, which fills the cache from the buffer's hour rollup tables (the agent
 * reads its order book while it starts, before HTTP listens).
 * The warm figures leave out the 5 requests that follow the cold one (its garbage collected).
 * Env: KPI_BENCH_DAYS, KPI_BENCH_MACHINES (defaults 30, 50), KPI_BENCH_WARM_RUNS (default 40),
 * KPI_BENCH_RAW_RUNS (default 3; 0 skips the raw baseline, for iterating only),
 * KPI_BENCH_KEEP_DIR (a folder that keeps the generated buffer across runs, as generation takes
 * minutes; regenerated when the days, machines or last midnight differ).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { SqliteBuffer } from '../../agent/buffer/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { KpiService } from '../../agent/kpi-query/index.ts';
import type { Sample } from '../../agent/model/index.ts';
import { median, type BenchFigure } from './harness.ts';
import { Plant } from '../../agent/plant/index.ts';

const DAYS = Number(process.env.KPI_BENCH_DAYS ?? 30);
const MACHINES = Number(process.env.KPI_BENCH_MACHINES ?? 50);
const RAW_RUNS = Number(process.env.KPI_BENCH_RAW_RUNS ?? 3);
const WARM_RUNS = Number(process.env.KPI_BENCH_WARM_RUNS ?? 40);
const WARM_UP = 5;
const DAY = 86_400_000;
const CLIENT = fileURLToPath(new URL('../helpers/http-latency-client.mjs', import.meta.url));

/** Latencies (ms) of `runs` GETs by a client process of its own. */
function externalClient(url: string, runs: number, rows: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLIENT, url, String(runs), String(rows)], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`latency client: ${String(err)} ${stderr}`));
      else resolve(JSON.parse(stdout) as number[]);
    });
  });
}
// the data ends at the last midnight in Berlin, so every hour is in the past and within retention
const T1 = DateTime.now().setZone('Europe/Berlin').startOf('day');
const T0 = T1.minus({ days: DAYS }).toMillis();
const T_END = T1.toMillis();

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// about 80 % running, as a busy cell
const STATES = ['running', 'running', 'running', 'running', 'running', 'running', 'running', 'running', 'running', 'running', 'running', 'running', 'idle', 'down', 'planned_stop'] as const;

interface MachineSim {
  id: string;
  rand: () => number;
  energy: number;
  parts: number;
  scrap: number;
  state: (typeof STATES)[number];
  nextStateAt: number;
  nextOrderAt: number;
  order: number;
}

/** One day of one machine's samples, by exception. */
function machineDay(m: MachineSim, dayStart: number, end: number, out: Sample[]): void {
  for (let t = dayStart; t < end; t += 10_000) {
    if (t >= m.nextStateAt) {
      m.state = STATES[Math.floor(m.rand() * STATES.length)] ?? 'running';
      m.nextStateAt = t + (120 + Math.floor(m.rand() * 360)) * 1000;
      out.push({ machine: m.id, signal: 'state', ts: t, value: m.state, quality: 'good' });
    }
    if (t >= m.nextOrderAt) {
      m.order++;
      m.nextOrderAt = t + (5400 + Math.floor(m.rand() * 3600)) * 1000;
      out.push({ machine: m.id, signal: 'order_id', ts: t, value: `${m.id}-${m.order}`, quality: 'good' });
    }
    const kw = m.state === 'running' ? 6 : m.state === 'idle' ? 1.5 : 0.3;
    m.energy += (kw * 10) / 3600;
    out.push({ machine: m.id, signal: 'energy_kwh', ts: t, value: Math.round(m.energy * 1000) / 1000, quality: 'good' });
    if (m.state === 'running' && t % 30_000 === 0) {
      m.parts++;
      out.push({ machine: m.id, signal: 'parts_total', ts: t, value: m.parts, quality: 'good' });
      if (m.rand() < 0.03) {
        m.scrap++;
        out.push({ machine: m.id, signal: 'parts_scrap', ts: t, value: m.scrap, quality: 'good' });
      }
    }
  }
}

function configText(dir: string): string {
  const machines = Array.from({ length: MACHINES }, (_, i) => `  - { id: m${i}, line: line-${i % 5}, product: p${i % 3}, idealCycleTimeS: 28 }`).join('\n');
  return `
site: { id: bench, timezone: Europe/Berlin }
agent: { id: bench, dataDir: ${dir} }
http: { host: 127.0.0.1, port: 0 }
machines:
${machines}
shifts:
  - { name: early, start: "06:00", end: "14:00" }
  - { name: late, start: "14:00", end: "22:00" }
  - { name: night, start: "22:00", end: "06:00" }
buffer: { retainDays: ${DAYS + 30}, maxBytes: 20GiB }   # no retention work during the measurement
energy:
  tariff: { type: time-of-use, pricePerKwh: 0.18, periods: [{ name: peak, start: "08:00", end: "20:00", days: [1, 2, 3, 4, 5], pricePerKwh: 0.29 }] }
  gridEmissionFactorKgPerKwh: 0.38
`;
}

function p95(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)] as number;
}

export async function run(): Promise<BenchFigure[]> {
  const keep = process.env.KPI_BENCH_KEEP_DIR;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'sfa-kpi-bench-'));
  const marker = join(dir, 'kpi-bench.json');
  const shape = JSON.stringify({ DAYS, MACHINES, T0, T_END });
  try {
    const res = loadConfigText(configText(dir), { file: 'bench.yaml' });
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    const config = res.config;

    // generate into the buffer, day by day (memory stays bounded)
    let total = 0;
    const tGen = performance.now();
    const kept = keep !== undefined && existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as { shape: string; total: number }) : undefined;
    if (kept?.shape === shape) {
      total = kept.total;
    } else {
      if (keep !== undefined) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
      }
      const buffer = new SqliteBuffer({ dataDir: dir });
      const sims: MachineSim[] = Array.from({ length: MACHINES }, (_, i) => {
        const rand = prng(1000 + i);
        return { id: `m${i}`, rand, energy: rand() * 1000, parts: 0, scrap: 0, state: 'running', nextStateAt: T0, nextOrderAt: T0, order: 0 };
      });
      for (let d = 0; T0 + d * DAY < T_END; d++) {
        for (const m of sims) {
          const out: Sample[] = [];
          machineDay(m, T0 + d * DAY, Math.min(T0 + (d + 1) * DAY, T_END), out);
          for (let i = 0; i < out.length; i += 20_000) buffer.commit(out.slice(i, i + 20_000));
          total += out.length;
        }
        if (d % 5 === 4) process.stderr.write(`  kpi bench: generated ${d + 1} days, ${(total / 1e6).toFixed(1)} M samples\n`);
      }
      buffer.close();
      if (keep !== undefined) writeFileSync(marker, JSON.stringify({ shape, total }));
    }
    const genS = (performance.now() - tGen) / 1000;
    process.stderr.write(`  kpi bench: ${total} samples in ${genS.toFixed(0)} s\n`);

    const agent = new Agent(config, pino({ level: 'silent' }));
    const { httpPort } = await agent.start();
    try {
      const from = new Date(T0).toISOString();
      const to = new Date(T_END).toISOString();
      const url = `http://127.0.0.1:${httpPort}/api/kpis?from=${from}&to=${to}&groupBy=day`;
      const get = async (): Promise<number> => {
        const t = performance.now();
        const r = await fetch(url);
        const body = (await r.json()) as { rows: unknown[] };
        if (body.rows.length !== MACHINES * DAYS) throw new Error(`expected ${MACHINES * DAYS} rows, got ${body.rows.length}`);
        return performance.now() - t;
      };
      const cold = await get();
      process.stderr.write(`  kpi bench: first query (fills the cache) ${(cold / 1000).toFixed(1)} s\n`);
      // the first requests after the cold fill meet its garbage being collected and code not yet
      // optimised (start-up, reported above as the cold figure): WARM_UP of them are not counted
      const warm = (await externalClient(url, WARM_UP + WARM_RUNS, MACHINES * DAYS)).slice(WARM_UP);
      // in order: a slow one among them (a GC, another process) shows where it fell
      process.stderr.write(`  kpi bench: warm queries, client process, ms: ${warm.map((x) => x.toFixed(0)).join(' ')}\n`);
      const inProcess: number[] = [];
      for (let i = 0; i < WARM_RUNS; i++) inProcess.push(await get());
      process.stderr.write(`  kpi bench: warm queries, in-process client with JSON.parse, ms: ${inProcess.map((x) => x.toFixed(0)).join(' ')}\n`);

      // the same query from raw rows: a service without the cache, on the same buffer
      const rawService = new KpiService(new Plant(config), agent.buffer, { cache: false });
      const raw: number[] = [];
      for (let i = 0; i < RAW_RUNS; i++) {
        const t = performance.now();
        const rows = rawService.query({ from: T0, to: T_END, groupBy: 'day' });
        JSON.stringify({ rows });
        raw.push(performance.now() - t);
        process.stderr.write(`  kpi bench: raw query ${i + 1}/${RAW_RUNS} ${(raw[i] as number / 1000).toFixed(1)} s\n`);
      }
      const rawBaseline = (name: string, value: number): { baseline?: { name: string; value: number } } => (raw.length > 0 ? { baseline: { name, value } } : {});
      return [
        { figure: `GET /api/kpis groupBy=day, ${MACHINES} machines × ${DAYS} days (${(total / 1e6).toFixed(1)} M samples), p95, client process`, value: p95(warm), unit: 'ms', target: '<= 50', ...rawBaseline('raw rows p95', raw.length > 0 ? p95(raw) : 0) },
        { figure: 'same, median', value: median(warm), unit: 'ms', ...rawBaseline('raw rows median', raw.length > 0 ? median(raw) : 0) },
        { figure: 'same, p95, client in the agent\'s process, JSON.parse inside the timer', value: p95(inProcess), unit: 'ms' },
        { figure: 'first query after start (hour cache filled from the rollup tables, raw rows where needed)', value: cold, unit: 'ms' },
      ];
    } finally {
      await agent.stop();
    }
  } finally {
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
