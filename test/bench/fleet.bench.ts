/**
 * The fleet's ingest into PostgreSQL (issue "The fleet"): samples/s stored by one fleet process
 * from Mosquitto (agent-shaped batches of 1000, QoS 1, PUBACK after commit) next to raw `COPY`
 * of the same rows into the same table in the same run (psql `\copy … FROM` a CSV file, one
 * transaction per `ingest.batchRows` rows as the fleet commits them), the rate of a fully
 * duplicated replay of the same batches, and the p95 time from publishing one batch to its rows
 * being queryable (read from the confirmed id). Median of 5 runs (the machines are shared and noisy: raw COPY alone has varied 1.6× between runs). Needs Mosquitto and PostgreSQL on 127.0.0.1.
 *
 * The agent publishing the batches is a child process (fleet-publisher.ts), as an agent is another
 * process in reality: in this process it took ~0.7 µs CPU per sample (mqtt.js writes, PUBACKs)
 * from the fleet it measures. Its payloads are encoded before the clock starts. Completion is
 * read from the fleet's in-memory count of rows stored (raised after each COMMIT) rather than by
 * querying every 10 ms, which cost the fleet and the database CPU during the ingest it measures;
 * the confirmed id and the row count are checked once afterwards. Each run prints its figures,
 * the ratio to raw COPY of that run (quoted as the median of the per-run ratios: the machine is
 * shared and noisy), and where the CPU went (µs per sample: fleet, publisher, the fleet's
 * PostgreSQL backends).
 *
 * With nats-server installed, each run also measures the JetStream path (fleet-jetstream.ts) on
 * the same batches: 1 node with replicas 1 and 1 or 2 worker processes, and a 3-node cluster with
 * replicas 3 and 2 workers; the workers are child processes (the MQTT path's fleet runs in this
 * process, its publisher in a child). `SFA_BENCH_FLEET_JS=0` leaves the JetStream path out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Fleet } from '../../agent/fleet/index.ts';
import { INGEST_DEFAULTS } from '../../agent/fleet/ingest-batcher.ts';
import { dropSchema, PG_TEST_URL, samplesMessage, testSchema } from '../helpers/fleet-messages.ts';
import { agentClient, endSession, startFleet } from '../helpers/fleet-peers.ts';
import { MOSQUITTO_URL, tcpReachable, uniqueTopicPrefix } from '../helpers/peers.ts';
import { natsServer } from '../helpers/nats-cluster.ts';
import { jetstreamIngest } from './fleet-jetstream.ts';
import type { PublisherReply, PublisherRequest, PublisherSetup } from './fleet-publisher.ts';
import { median, type BenchFigure } from './harness.ts';

const BATCHES = 200;
const PER_BATCH = 1000;
const RUNS = 5;
const LATENCY_SAMPLES = 20;

async function until(fn: () => Promise<boolean>): Promise<void> {
  while (!(await fn())) await new Promise((r) => setTimeout(r, 10));
}

/**
 * The same rows as CSV, COPYed by psql into the fleet's samples table under another instance,
 * in transactions of the fleet's batch size (one `\copy` each, autocommit).
 */
async function rawCopy(schema: string, dir: string, messages: readonly ReturnType<typeof samplesMessage>[]): Promise<number> {
  const perTx = Math.max(1, Math.floor(INGEST_DEFAULTS.batchRows / PER_BATCH));
  const args = [PG_TEST_URL, '-q', '-v', 'ON_ERROR_STOP=1'];
  for (let i = 0; i < messages.length; i += perTx) {
    let csv = '';
    for (const m of messages.slice(i, i + perTx)) {
      for (const x of m.samples) {
        const text = typeof x.value === 'string' ? x.value : '';
        const value = typeof x.value === 'number' ? String(x.value) : '';
        csv += `raw-copy,${x.id},${m.site},${m.agent},${x.machine},${x.signal},${new Date(x.ts).toISOString()},${value},${text},${x.quality}\n`;
      }
    }
    const file = join(dir, `copy-${i}.csv`);
    writeFileSync(file, csv);
    args.push('-c', `\\copy "${schema}".samples (instance, id, site, agent, machine, signal, ts, value, text_value, quality) FROM '${file}' (FORMAT csv)`);
  }
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn('psql', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited ${code}`))));
  });
  return (BATCHES * PER_BATCH) / ((performance.now() - t0) / 1000);
}

const RUN_TS = fileURLToPath(new URL('../../agent/cli/run-ts.mjs', import.meta.url));
const PUBLISHER = fileURLToPath(new URL('./fleet-publisher.ts', import.meta.url));

/** The agent's side in a child process: `publishAll()` resolves when the broker has acknowledged every batch. */
async function startPublisher(setup: PublisherSetup): Promise<{ publishAll: () => Promise<number>; end: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [RUN_TS, PUBLISHER, JSON.stringify(setup)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (): Promise<PublisherReply> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`the bench publisher exited ${code}`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as PublisherReply);
      });
    });
  await next();
  const send = (m: PublisherRequest): void => {
    child.send(m);
  };
  return {
    /** resolves to the publisher's CPU µs */
    publishAll: async () => {
      const done = next();
      send({ publish: true });
      const r = await done;
      return 'cpuUs' in r ? r.cpuUs : NaN;
    },
    end: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      send({ end: true });
      await exited;
    },
  };
}

/** CPU seconds a process has used (Linux /proc; 0 when it cannot be read). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Where a phase's CPU went, in µs per sample: this process (the fleet), the publisher process,
 * and the fleet's PostgreSQL backends (found by their application_name): which side is the ceiling.
 */
async function cpuPerSample(db: pg.Client, appName: string, rows: number, phase: () => Promise<number>): Promise<string> {
  const backends = async (): Promise<number[]> => (await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [appName])).rows.map((r) => r.pid);
  const before = new Map((await backends()).map((p) => [p, cpuSeconds(p)]));
  const self = process.cpuUsage();
  const publisherUs = await phase();
  const used = process.cpuUsage(self);
  let pgS = 0;
  for (const p of await backends()) pgS += cpuSeconds(p) - (before.get(p) ?? 0);
  const per = (us: number): string => (us / rows).toFixed(2);
  return `fleet process ${per(used.user + used.system)}, publisher ${per(publisherUs)}, fleet's PostgreSQL backends ${per(pgS * 1e6)} µs CPU/sample`;
}

interface JetStreamFigures {
  /** samples/s: 1 node (replicas 1) with 1 and 2 workers, 3 nodes (replicas 3) with 2 workers */
  n1w1: number;
  n1w2: number;
  n3w2: number;
}

/** The JetStream path (fleet-jetstream.ts) on the same batches, each variant into a schema of its own. */
async function jetstreamFigures(dir: string, messages: readonly ReturnType<typeof samplesMessage>[]): Promise<JetStreamFigures> {
  const payloads = messages.map((m) => ({ firstId: m.firstId, body: Buffer.from(JSON.stringify(m)) }));
  const one = async (workers: 1 | 2, nodes: 1 | 3): Promise<number> => {
    const schema = testSchema('benchjs');
    try {
      return (await jetstreamIngest({ workers, nodes, dir: mkdtempSync(join(dir, 'js-')), schema, instance: 'bench', payloads, total: BATCHES * PER_BATCH })).stored;
    } finally {
      await dropSchema(schema);
    }
  };
  return { n1w1: await one(1, 1), n1w2: await one(2, 1), n3w2: await one(2, 3) };
}

async function once(withJetStream: boolean): Promise<{ stored: number; copy: number; replay: number; p95: number; ingestCpu: string; replayCpu: string; js: JetStreamFigures | undefined }> {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-bench-fleet-'));
  const s = { id: `bench-${process.pid}-${Date.now().toString(36)}`, prefix: uniqueTopicPrefix('bench-fleet'), group: 'bench', dataDir: dir, schema: testSchema('bench'), ingest: 'batchMs: 50, maxPending: 100, confirmIntervalMs: 200' };
  let fleet: Fleet | undefined;
  let publisher: Awaited<ReturnType<typeof startPublisher>> | undefined;
  const agent = await agentClient();
  const db = new pg.Client({ connectionString: PG_TEST_URL });
  await db.connect();
  try {
    fleet = await startFleet(s);
    const f = fleet;
    const store = f.fleetStore;
    if (!store) throw new Error('no store');
    await until(async () => f.health().status === 'ok');
    const messages = Array.from({ length: BATCHES }, (_, i) => samplesMessage({ instance: 'bench', prevLastId: i * PER_BATCH, firstId: i * PER_BATCH + 1, lastId: (i + 1) * PER_BATCH }));
    const confirmed = async (n: number): Promise<boolean> => (await store.confirmedId('bench')) === n;
    const rowsStored = async (): Promise<number> => (await f.metrics.rowsStored.get()).values[0]?.value ?? 0;
    const topic = `${s.prefix}/site-a/edge-1/samples`;
    const total = BATCHES * PER_BATCH;
    publisher = await startPublisher({ topic, instance: 'bench', batches: BATCHES, perBatch: PER_BATCH });
    const publishAll = publisher.publishAll;

    let stored = 0;
    const ingestCpu = await cpuPerSample(db, `shopfloor-fleet-${s.id}`, total, async () => {
      const t0 = performance.now();
      const cpu = await publishAll();
      await until(async () => (await rowsStored()) === total);
      stored = total / ((performance.now() - t0) / 1000);
      return cpu;
    });
    if (!(await confirmed(total)) || (await store.sampleCount('bench')) !== total) throw new Error('the fleet counted rows it did not store and confirm');

    const dupBefore = (await f.metrics.duplicates.get()).values[0]?.value ?? 0;
    let replay = 0;
    const replayCpu = await cpuPerSample(db, `shopfloor-fleet-${s.id}`, total, async () => {
      const t0 = performance.now();
      const cpu = await publishAll();
      await until(async () => ((await f.metrics.duplicates.get()).values[0]?.value ?? 0) - dupBefore === total);
      replay = total / ((performance.now() - t0) / 1000);
      return cpu;
    });

    const copy = await rawCopy(s.schema, dir, messages);
    if ((await store.sampleCount('raw-copy')) !== total) throw new Error('raw COPY stored a different number of rows');

    const lat: number[] = [];
    for (let i = BATCHES; i < BATCHES + LATENCY_SAMPLES; i++) {
      const m = Buffer.from(JSON.stringify(samplesMessage({ instance: 'bench', prevLastId: i * PER_BATCH, firstId: i * PER_BATCH + 1, lastId: (i + 1) * PER_BATCH })));
      const t = performance.now();
      await agent.publishAsync(topic, m, { qos: 1 });
      await until(async () => confirmed((i + 1) * PER_BATCH));
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    const js = withJetStream ? await jetstreamFigures(dir, messages) : undefined;
    return { stored, copy, replay, p95: (lat[Math.ceil(0.95 * lat.length) - 1] as number) / 1000, ingestCpu, replayCpu, js };
  } finally {
    await publisher?.end();
    await agent.endAsync();
    await db.end();
    await fleet?.stop();
    await endSession(s.id);
    await dropSchema(s.schema);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchFigure[]> {
  const u = new URL(MOSQUITTO_URL);
  if (!(await tcpReachable(u.hostname, Number(u.port || 1883))) || !(await tcpReachable('127.0.0.1', 5432))) {
    console.warn('fleet bench skipped: needs Mosquitto on 1883 and PostgreSQL on 5432 (database test)');
    return [];
  }
  // SFA_BENCH_FLEET_JS=0 measures the MQTT path alone (quicker, when working on it)
  const withJetStream = process.env.SFA_BENCH_FLEET_JS !== '0' && (await natsServer()).available;
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await once(withJetStream);
    runs.push(r);
    // every run's figures: the machine is shared and noisy, the per-run ratio is what compares
    const js = r.js ? `\n  JetStream: 1 node 1 worker ${Math.round(r.js.n1w1)}/s, 1 node 2 workers ${Math.round(r.js.n1w2)}/s, 3 nodes R3 2 workers ${Math.round(r.js.n3w2)}/s` : '';
    console.error(`fleet run ${i + 1}: fleet ${Math.round(r.stored)}/s, raw COPY ${Math.round(r.copy)}/s, ratio ${(r.stored / r.copy).toFixed(2)}, replay ${Math.round(r.replay)}/s, p95 ${r.p95.toFixed(3)} s\n  ingest: ${r.ingestCpu}\n  replay: ${r.replayCpu}${js}`);
  }
  const copy = median(runs.map((r) => r.copy));
  const jsRuns = runs.flatMap((r) => (r.js ? [{ ...r.js, copy: r.copy }] : []));
  const jsFigures: BenchFigure[] = jsRuns.length === 0 ? [] : [
    { figure: 'fleet JetStream, 1 node, 1 worker process', value: median(jsRuns.map((r) => r.n1w1)), unit: 'samples/s', baseline: { name: 'raw COPY', value: copy } },
    { figure: 'fleet JetStream, 1 node, 2 worker processes', value: median(jsRuns.map((r) => r.n1w2)), unit: 'samples/s', baseline: { name: 'raw COPY', value: copy } },
    { figure: 'fleet JetStream, 3 nodes R3, 2 worker processes', value: median(jsRuns.map((r) => r.n3w2)), unit: 'samples/s', baseline: { name: 'raw COPY', value: copy } },
  ];
  return [
    { figure: 'fleet ingest / raw COPY, median of the per-run ratios', value: median(runs.map((r) => r.stored / r.copy)), unit: '×', target: '>= 0.7' },
    { figure: 'fleet ingest broker → PostgreSQL (one process)', value: median(runs.map((r) => r.stored)), unit: 'samples/s', target: '>= 0.7× raw COPY', baseline: { name: 'raw COPY', value: copy } },
    { figure: 'fleet fully duplicated replay', value: median(runs.map((r) => r.replay)), unit: 'samples/s', baseline: { name: 'raw COPY', value: copy } },
    { figure: 'fleet publish → queryable p95 (1000-sample batch)', value: median(runs.map((r) => r.p95)), unit: 's', target: '<= 2' },
    ...jsFigures,
  ];
}
