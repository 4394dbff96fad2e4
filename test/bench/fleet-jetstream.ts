/**
 * The fleet's JetStream path for `npm run bench -- fleet` (fleet.bench.ts): samples/s stored into
 * PostgreSQL by 1 or 2 fleet worker processes sharing the group's durable consumer on nats-server
 * nodes of the bench's own (1 node with replicas 1, or a 3-node cluster with replicas 3; file
 * storage, the MQTT listener on), started on free loopback ports.
 *
 * The workers are real `shopfloor-agent fleet` processes (children), as a central team runs them,
 * started and pulling before the clock starts; the figure runs, as the MQTT path's does, from the
 * first batch published to the agent's confirmed id covering every sample, read from PostgreSQL
 * (a primary-key lookup every 20 ms). The bench process publishes through JetStream directly
 * (with `Nats-Msg-Id: {instance}:{firstId}`), all batches at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type ConsumerInfo } from '@nats-io/jetstream';
import { PG_TEST_URL } from '../helpers/fleet-messages.ts';
import { startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.ts';
import { freePort } from '../e2e/fleet-agents-ports.ts';

const CLI = fileURLToPath(new URL('../../agent/cli/shopfloor-agent.mjs', import.meta.url));

export interface JetStreamRun {
  /** samples/s from the first publish to the last sample confirmed */
  stored: number;
  /** how long publishing the whole batch took, s (inside the span of `stored`) */
  publishS: number;
}

interface Worker {
  proc: ChildProcess;
  port: number;
  output: string;
}

function startWorker(o: { id: string; dir: string; natsUrl: string; replicas: number; prefix: string; group: string; schema: string; port: number; maxPending: number; nodeArgs: readonly string[] }): Worker {
  mkdirSync(o.dir, { recursive: true });
  const file = join(o.dir, `${o.id}.yaml`);
  writeFileSync(
    file,
    `fleet: { id: ${o.id}, dataDir: "${o.dir}", logLevel: warn }\n` +
      `broker: { url: "${o.natsUrl}", topicPrefix: "${o.prefix}", group: ${o.group}, jetstream: { replicas: ${o.replicas}, ackWaitS: 60, maxAckPending: ${o.maxPending * 2} } }\n` +
      `database: { url: "${PG_TEST_URL}", schema: ${o.schema} }\n` +
      `http: { port: ${o.port} }\n` +
      `ingest: { batchMs: 50, maxPending: ${o.maxPending}, confirmIntervalMs: 200 }\n`,
  );
  const w: Worker = { proc: spawn(process.execPath, [...o.nodeArgs, CLI, 'fleet', '-c', file], { env: { ...process.env, SFA_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }), port: o.port, output: '' };
  w.proc.stdout?.on('data', (d: Buffer) => (w.output += d.toString()));
  w.proc.stderr?.on('data', (d: Buffer) => (w.output += d.toString()));
  return w;
}

/** SIGTERM, then up to 10 s for the process to exit (a CPU profile is written at exit). */
async function stopGently(w: Worker): Promise<void> {
  if (w.proc.exitCode !== null || w.proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => w.proc.once('exit', () => r()));
  w.proc.kill('SIGTERM');
  await Promise.race([exited, new Promise<void>((r) => setTimeout(r, 10_000))]);
}

async function healthy(w: Worker): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${w.port}/healthz`);
    return r.status === 200 && ((await r.json()) as { status: string }).status === 'ok';
  } catch {
    return false;
  }
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number, workers: readonly Worker[]): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`fleet jetstream bench: ${what} not within ${timeoutMs} ms\n${workers.map((w) => w.output.slice(-2000)).join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * One measurement: `payloads` (agent-shaped samples messages of instance `instance`, `total`
 * samples, ids 1…total) stored by `workers` worker processes into a schema of its own.
 */
export async function jetstreamIngest(o: {
  workers: 1 | 2;
  nodes: 1 | 3;
  dir: string;
  schema: string;
  instance: string;
  payloads: readonly { firstId: number; body: Buffer }[];
  total: number;
  /** ingest.maxPending of each worker (100 by default, as the MQTT path's bench) */
  maxPending?: number;
  /** extra node flags of the worker processes (e.g. `--cpu-prof`: the workers are then stopped with SIGTERM, so the profile is written) */
  nodeArgs?: readonly string[];
  /** called every 100 ms while ingesting with the consumer's info (ms since the clock started) */
  trace?: (t: number, ci: ConsumerInfo) => void;
}): Promise<JetStreamRun> {
  const prefix = `benchjs${process.pid}${Date.now().toString(36)}`;
  const group = 'bench';
  let cluster: NatsCluster | undefined;
  const workers: Worker[] = [];
  const db = new pg.Client({ connectionString: PG_TEST_URL });
  await db.connect();
  try {
    cluster = await startNatsCluster({ size: o.nodes, name: `bench-${o.nodes}-${o.workers}`, ...(o.nodes === 3 ? { mqtt: { streamReplicas: 3 } } : {}) });
    const replicas = o.nodes;
    const natsUrl = cluster.natsUrls.join(',');
    for (let i = 1; i <= o.workers; i++) {
      workers.push(startWorker({ id: `${prefix}-w${i}`, dir: join(o.dir, `w${i}`), natsUrl, replicas, prefix, group, schema: o.schema, port: await freePort(), maxPending: o.maxPending ?? 100, nodeArgs: o.nodeArgs ?? [] }));
    }
    // process start, module loading and the streams' creation are not ingest: every worker pulls before the clock starts
    await until('every worker healthy', async () => (await Promise.all(workers.map((w) => healthy(w)))).every(Boolean), 60_000, workers);
    const confirmed = async (): Promise<boolean> => {
      const r = await db.query<{ c: number }>(`SELECT confirmed_id::float8 AS c FROM "${o.schema}".agents WHERE instance = $1`, [o.instance]);
      return r.rows[0]?.c === o.total;
    };
    const nc = await connect({ servers: natsUrl });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    let done = false;
    const t0 = performance.now();
    const trace = o.trace;
    const tracing = trace
      ? (async () => {
          while (!done) {
            const ci = await jsm.consumers.info('SHOPFLOOR_UPSTREAM', group).catch(() => undefined);
            if (ci) trace(performance.now() - t0, ci);
            await new Promise((r) => setTimeout(r, 100));
          }
        })()
      : undefined;
    let published = t0;
    let end = t0;
    try {
      await Promise.all(o.payloads.map((p) => js.publish(`${prefix}.site-a.edge-1.samples`, p.body, { msgID: `${o.instance}:${p.firstId}` })));
      published = performance.now();
      await until('every sample confirmed', confirmed, 300_000, workers);
      end = performance.now();
    } finally {
      done = true;
      await tracing;
      await nc.close();
    }
    const stored = o.total / ((end - t0) / 1000);
    const n = await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${o.schema}".samples WHERE instance = $1`, [o.instance]);
    if (Number(n.rows[0]?.n) !== o.total) throw new Error(`the JetStream fleet stored ${n.rows[0]?.n} rows of ${o.total}`);
    return { stored, publishS: (published - t0) / 1000 };
  } finally {
    if (o.nodeArgs?.length) await Promise.all(workers.map((w) => stopGently(w)));
    for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
    await db.end();
    await cluster?.stop();
  }
}
