/**
 * Real agents and real fleet processes for the fleet end-to-end tests (issue "The fleet", "It
 * must show"): each agent is `shopfloor-agent run` in a child process reading an MQTT source the
 * test publishes into (telemetry dated in hours that closed long ago, so the agent publishes
 * their hourly components at once and every sum is checkable), forwarding upstream with
 * `confirm: fleet`; each fleet is `shopfloor-agent fleet` in a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { expect } from 'vitest';
import { ratiosFromComponents, sumComponents, type KpiComponents } from '../../agent/kpi/index.ts';
import { waitFor } from '../helpers/index.ts';
import { AgentChild, getJson } from './agent-child.ts';

export const H = 3_600_000;
const MIN = 60_000;
const CLI = fileURLToPath(new URL('../../agent/cli/shopfloor-agent.mjs', import.meta.url));

/** Whole hours that closed well before now (UTC, as the agents' site zone): [from, from + hours). */
export function closedHours(hours: number, now = Date.now()): { from: number; to: number } {
  const to = Math.floor(now / H) * H - H;
  return { from: to - hours * H, to };
}

export interface SiteSetup {
  site: string;
  agent: string;
  dir: string;
  /** the broker the agent forwards to */
  upstreamUrl: string;
  prefix: string;
  /** the broker the agent's MQTT source reads (the test publishes telemetry there) */
  sourceUrl: string;
  sourcePrefix: string;
  confirmTimeoutS?: number;
  retainDays?: number;
  batchSize?: number;
}

export function agentYaml(s: SiteSetup): string {
  return `
site: { id: ${s.site}, name: "Site ${s.site}", timezone: UTC }
agent: { id: ${s.agent}, dataDir: "${join(s.dir, 'data')}", logLevel: info }
http: { port: 0 }
buffer: { retainDays: ${s.retainDays ?? 3650} }
machines:
  - { id: m1, line: l1, product: p1, idealCycleTimeS: 40 }
  - { id: m2, line: l1, product: p1, idealCycleTimeS: 50 }
sources:
  - id: telemetry
    type: mqtt
    url: ${s.sourceUrl}
    clientId: sfa-src-${s.site}-${process.pid}-${Math.random().toString(36).slice(2, 8)}
    clean: true
    topics:
      - filter: "${s.sourcePrefix}/${s.site}/+/telemetry"
        machine: "{1}"
        timestamp: { field: ts, unit: ms }
        fields: { energy_kwh: energy, parts_total: total, parts_scrap: scrap, state: state }
upstream: { url: "${s.upstreamUrl}", topicPrefix: "${s.prefix}", batchSize: ${s.batchSize ?? 50}, inFlight: 4, kpiIntervalS: 0, confirm: fleet, confirmTimeoutS: ${s.confirmTimeoutS ?? 60} }
`;
}

/** `shopfloor-agent run` for a site; its HTTP port once it runs. */
export async function startAgent(s: SiteSetup): Promise<{ child: AgentChild; port: number }> {
  mkdirSync(s.dir, { recursive: true });
  const file = join(s.dir, 'agent.yaml');
  writeFileSync(file, agentYaml(s));
  const child = new AgentChild(['run', '-c', file], { SFA_FROM_SOURCE: '1' });
  return { child, port: await child.httpPort() };
}

/**
 * A machine's telemetry, one message a minute over [from, to): meters that grow with a per-site
 * rate, scrap now and then, and a state that changes every 20 minutes. Returns the messages.
 */
export function telemetry(site: number, machine: string, from: number, to: number): { ts: number; energy: number; total: number; scrap: number; state: string }[] {
  const out = [];
  const rate = 1 + site * 0.5 + (machine === 'm2' ? 0.25 : 0);
  for (let ts = from, i = 0; ts < to; ts += MIN, i++) {
    const phase = Math.floor(i / 20) % 3;
    out.push({ ts, energy: Math.round(i * rate * 100) / 1000, total: i * (site + 1), scrap: Math.floor(i / (7 + site)), state: phase === 2 ? (site % 2 ? 'down' : 'idle') : 'running' });
  }
  return out;
}

/** Publishes into a source broker: one message per reading, QoS 1. */
export async function publishTelemetry(c: MqttClient, sourcePrefix: string, site: string, machine: string, rows: readonly object[]): Promise<void> {
  for (const r of rows) await c.publishAsync(`${sourcePrefix}/${site}/${machine}/telemetry`, JSON.stringify(r), { qos: 1 });
}

export function mqttClient(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId: `sfa-fleet-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, clean: true, reconnectPeriod: 300 });
}

export interface FleetProcSetup {
  id: string;
  brokerUrl: string;
  prefix: string;
  group: string;
  dataDir: string;
  dbUrl: string;
  schema: string;
  port: number;
  batchMs?: number;
  /** the broker's Receive Maximum towards the fleet (a small one keeps a queue at the broker) */
  maxPending?: number;
  /** with a nats:// brokerUrl: the inside of the `broker.jetstream` block (`stream: W, replicas: 3, …`) */
  jetstream?: string;
}

/** `shopfloor-agent fleet` in a child process; stderr is kept for failure messages. */
export class FleetChild {
  readonly proc: ChildProcess;
  output = '';
  constructor(readonly s: FleetProcSetup) {
    mkdirSync(s.dataDir, { recursive: true });
    const file = join(s.dataDir, `${s.id}.yaml`);
    writeFileSync(
      file,
      `fleet: { id: ${s.id}, dataDir: "${s.dataDir}", logLevel: warn }\n` +
        `broker: { url: "${s.brokerUrl}", topicPrefix: "${s.prefix}", group: ${s.group}${s.brokerUrl.startsWith('nats://') ? '' : ', sessionExpiryS: 600'}${s.jetstream ? `, jetstream: { ${s.jetstream} }` : ''} }\n` +
        `database: { url: "${s.dbUrl}", schema: ${s.schema} }\n` +
        `http: { port: ${s.port} }\n` +
        `ingest: { batchMs: ${s.batchMs ?? 50}, confirmIntervalMs: 50${s.maxPending ? `, maxPending: ${s.maxPending}` : ''} }\n`,
    );
    this.proc = spawn(process.execPath, [CLI, 'fleet', '-c', file], { env: { ...process.env, SFA_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.proc.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  async healthy(): Promise<boolean> {
    try {
      const r = await fetch(`http://127.0.0.1:${this.s.port}/healthz`);
      return r.status === 200 && ((await r.json()) as { status: string }).status === 'ok';
    } catch {
      return false;
    }
  }

  kill(sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill(sig);
    return exited;
  }
}

/** An agent's buffer, read-only: its instance and what it holds (ids are never reused). */
export function agentBuffer(dir: string): { instance: string; count: number; minId: number; maxId: number; sumId: number; lastId: number } {
  const db = new Database(join(dir, 'data', 'buffer.db'), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const meta = db.prepare(`SELECT value FROM meta WHERE key = 'instance'`).get() as { value: string } | undefined;
    const r = db.prepare('SELECT count(*) AS count, coalesce(min(id), 0) AS minId, coalesce(max(id), 0) AS maxId, coalesce(sum(id), 0) AS sumId FROM samples').get() as { count: number; minId: number; maxId: number; sumId: number };
    // retention records the newest id before it deletes (the newest may be gone)
    const last = db.prepare(`SELECT value FROM meta WHERE key = 'last_id'`).get() as { value: string } | undefined;
    return { instance: meta?.value ?? '', ...r, lastId: Math.max(r.maxId, Number(last?.value ?? 0)) };
  } finally {
    db.close();
  }
}

/** What the fleet's PostgreSQL holds of an instance: rows, distinct ids, sum of ids. */
export async function storedSamples(db: pg.Client, schema: string, instance: string): Promise<{ count: number; distinct: number; sumId: number; minId: number; maxId: number }> {
  const r = await db.query<{ count: string; distinct: string; sumid: string | null; minid: string | null; maxid: string | null }>(
    `SELECT count(*) AS count, count(DISTINCT id) AS distinct, sum(id) AS sumid, min(id) AS minid, max(id) AS maxid FROM "${schema}".samples WHERE instance = $1`,
    [instance],
  );
  const row = r.rows[0];
  return { count: Number(row?.count ?? 0), distinct: Number(row?.distinct ?? 0), sumId: Number(row?.sumid ?? 0), minId: Number(row?.minid ?? 0), maxId: Number(row?.maxid ?? 0) };
}

export interface AgentUpstreamHealth {
  buffer: { samples: number; backlog: number };
  upstream: { state: string; ackedId?: number; confirmedId?: number | null };
}

export const agentHealth = (port: number): Promise<AgentUpstreamHealth> => getJson<AgentUpstreamHealth>(port, '/healthz');

/** Waits until the agent's buffer holds `n` samples and the fleet confirmed all of them. */
export async function waitConfirmedAll(port: number, n: number, timeoutMs: number, what: string): Promise<void> {
  await waitFor(
    async () => {
      const h = await agentHealth(port);
      return h.buffer.samples === n && h.upstream.confirmedId === n;
    },
    timeoutMs,
    what,
    200,
  );
}

interface KpiRowJson {
  machine?: string;
  site?: string | null;
  periodStart: string;
  components: KpiComponents;
  [k: string]: unknown;
}

/** The sum of an agent's own machine-hour components over [from, to). */
export async function agentComponents(port: number, from: number, to: number): Promise<KpiComponents> {
  const r = await getJson<{ rows: KpiRowJson[] }>(port, `/api/kpis?from=${from}&to=${to}&groupBy=hour&scope=machine`);
  return sumComponents(r.rows.map((x) => x.components));
}

export async function fleetRows(port: number, query: string): Promise<KpiRowJson[]> {
  const r = await fetch(`http://127.0.0.1:${port}/api/kpis?${query}`);
  if (r.status !== 200) throw new Error(`fleet /api/kpis?${query}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { rows: KpiRowJson[] }).rows;
}

const NUMERIC: readonly (keyof KpiComponents)[] = ['windowS', 'plannedS', 'runningS', 'idleS', 'downS', 'plannedStopS', 'unknownS', 'unscheduledS', 'energyKwh', 'unitsTotal', 'unitsGood', 'unitsScrap', 'idealS'];

/** True when the components agree field by field (floating sums to 1e-9 relative). */
export function sameComponents(a: KpiComponents | undefined, b: KpiComponents): boolean {
  if (!a) return false;
  return NUMERIC.every((k) => {
    const x = a[k] as number | null;
    const y = b[k] as number | null;
    if (x === null || y === null) return x === y;
    return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(y));
  });
}

/** A fleet row equals the summed components, and its ratios are those recomputed from the sums. */
export function expectRowMatches(row: KpiRowJson | undefined, want: KpiComponents, what: string): void {
  expect(row, what).toBeDefined();
  const r = row as KpiRowJson;
  for (const k of NUMERIC) {
    const y = want[k] as number | null;
    if (y === null) expect(r.components[k], `${what} ${k}`).toBeNull();
    else expect(r.components[k] as number, `${what} ${k}`).toBeCloseTo(y, 6);
  }
  const ratios = ratiosFromComponents(want);
  for (const k of ['energyPerUnitKwh', 'scrapRate', 'availability', 'performance', 'oee'] as const) {
    const y = ratios[k] as number | null;
    if (y === null) expect(r[k], `${what} ${k}`).toBeNull();
    else expect(r[k] as number, `${what} ${k}`).toBeCloseTo(y, 9);
  }
}

/**
 * Polls an agent's buffer read-only, in one read transaction each time: every id above the
 * confirmed id (meta `upstream_confirmed_id`, written as the confirmation moves, on the thread
 * retention runs on) must still be there, so ids above it are contiguous up to the newest.
 */
export class RetentionWatch {
  readonly violations: string[] = [];
  checks = 0;
  /** the lowest id seen stored after the first deletion (retention did run) */
  deletedUpTo = 0;
  private timer: NodeJS.Timeout | undefined;
  private db: Database.Database | undefined;

  constructor(private readonly dir: string) {}

  start(): void {
    this.timer = setInterval(() => this.check(), 25);
  }

  private check(): void {
    try {
      this.db ??= new Database(join(this.dir, 'data', 'buffer.db'), { readonly: true, fileMustExist: true });
      const db = this.db;
      db.transaction(() => {
        const meta = db.prepare(`SELECT value FROM meta WHERE key = 'upstream_confirmed_id'`).get() as { value: string } | undefined;
        const c = Number(meta?.value ?? 0);
        const r = db.prepare('SELECT count(*) AS n FROM samples WHERE id > ?').get(c) as { n: number };
        const min = db.prepare('SELECT min(id) AS min, max(id) AS max FROM samples').get() as { min: number | null; max: number | null };
        const last = db.prepare(`SELECT value FROM meta WHERE key = 'last_id'`).get() as { value: string } | undefined;
        const newest = Math.max(min.max ?? 0, Number(last?.value ?? 0));
        if (newest > c && r.n !== newest - c) this.violations.push(`confirmed ${c}, newest ${newest}: ${newest - c - r.n} unconfirmed samples deleted`);
        // retention may have deleted every sample (all confirmed and old): then up to the newest
        const deleted = min.min === null ? newest : min.min - 1;
        if (deleted > 0) this.deletedUpTo = Math.max(this.deletedUpTo, deleted);
        this.checks++;
      })();
    } catch (err) {
      // the agent holds a write lock for a moment: the next poll reads
      if (!/SQLITE_BUSY|database is locked|no such table/i.test(String(err))) this.violations.push(String(err));
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.db?.close();
    this.db = undefined;
  }
}

/** PostgreSQL holds ids 1..n of the instance, each once. */
export async function expectExactlyOnce(db: pg.Client, schema: string, instance: string, n: number, what: string): Promise<void> {
  const stored = await storedSamples(db, schema, instance);
  expect(stored, what).toEqual({ count: n, distinct: n, sumId: (n * (n + 1)) / 2, minId: 1, maxId: n });
}

/** Waits until the agent's confirmed id (from its /healthz) is `n`. */
export async function waitConfirmed(port: number, n: number, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const h = await agentHealth(port);
    if (h.upstream.confirmedId === n) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (upstream: ${JSON.stringify(h.upstream)}, buffer: ${JSON.stringify(h.buffer)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
