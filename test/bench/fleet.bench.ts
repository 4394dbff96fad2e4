/**
 * The fleet's ingest into PostgreSQL (issue "The fleet"): samples/s stored by one fleet process
 * from Mosquitto (agent-shaped batches of 1000, QoS 1, PUBACK after commit) next to raw `COPY`
 * of the same rows into the same table in the same run (psql `\copy … FROM` a CSV file, one
 * transaction per `ingest.batchRows` rows as the fleet commits them), the rate of a fully
 * duplicated replay of the same batches, and the p95 time from publishing one batch to its rows
 * being queryable. Median of 3 runs. Needs Mosquitto and PostgreSQL on 127.0.0.1.
 *
 * The publisher shares this process with the fleet, so its payloads are encoded before the clock
 * starts; completion is read from the agent's confirmed id (a primary-key lookup, set in the
 * transaction that stores the rows) rather than by counting rows every 10 ms, which would cost
 * the database more than the ingest it measures; the count is checked once afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fleet } from '../../agent/fleet/index.ts';
import { INGEST_DEFAULTS } from '../../agent/fleet/ingest-batcher.ts';
import { dropSchema, PG_TEST_URL, samplesMessage, testSchema } from '../helpers/fleet-messages.ts';
import { agentClient, endSession, startFleet } from '../helpers/fleet-peers.ts';
import { MOSQUITTO_URL, tcpReachable, uniqueTopicPrefix } from '../helpers/peers.ts';
import { median, type BenchFigure } from './harness.ts';

const BATCHES = 200;
const PER_BATCH = 1000;
const RUNS = 3;
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

async function once(): Promise<{ stored: number; copy: number; replay: number; p95: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-bench-fleet-'));
  const s = { id: `bench-${process.pid}-${Date.now().toString(36)}`, prefix: uniqueTopicPrefix('bench-fleet'), group: 'bench', dataDir: dir, schema: testSchema('bench'), ingest: 'batchMs: 50, maxPending: 100, confirmIntervalMs: 200' };
  let fleet: Fleet | undefined;
  const agent = await agentClient();
  try {
    fleet = await startFleet(s);
    const f = fleet;
    const store = f.fleetStore;
    if (!store) throw new Error('no store');
    await until(async () => f.health().status === 'ok');
    const messages = Array.from({ length: BATCHES }, (_, i) => samplesMessage({ instance: 'bench', prevLastId: i * PER_BATCH, firstId: i * PER_BATCH + 1, lastId: (i + 1) * PER_BATCH }));
    const payloads = messages.map((m) => Buffer.from(JSON.stringify(m)));
    const confirmed = async (n: number): Promise<boolean> => (await store.confirmedId('bench')) === n;
    const topic = `${s.prefix}/site-a/edge-1/samples`;
    const total = BATCHES * PER_BATCH;

    let t0 = performance.now();
    await Promise.all(payloads.map((p) => agent.publishAsync(topic, p, { qos: 1 })));
    await until(async () => confirmed(total));
    const stored = total / ((performance.now() - t0) / 1000);
    if ((await store.sampleCount('bench')) !== total) throw new Error('the fleet confirmed rows it did not store');

    const dupBefore = (await f.metrics.duplicates.get()).values[0]?.value ?? 0;
    t0 = performance.now();
    await Promise.all(payloads.map((p) => agent.publishAsync(topic, p, { qos: 1 })));
    await until(async () => ((await f.metrics.duplicates.get()).values[0]?.value ?? 0) - dupBefore === total);
    const replay = total / ((performance.now() - t0) / 1000);

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
    return { stored, copy, replay, p95: (lat[Math.ceil(0.95 * lat.length) - 1] as number) / 1000 };
  } finally {
    await agent.endAsync();
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
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once());
  const copy = median(runs.map((r) => r.copy));
  return [
    { figure: 'fleet ingest broker → PostgreSQL (one process)', value: median(runs.map((r) => r.stored)), unit: 'samples/s', target: '>= 0.7× raw COPY', baseline: { name: 'raw COPY', value: copy } },
    { figure: 'fleet fully duplicated replay', value: median(runs.map((r) => r.replay)), unit: 'samples/s', baseline: { name: 'raw COPY', value: copy } },
    { figure: 'fleet publish → queryable p95 (1000-sample batch)', value: median(runs.map((r) => r.p95)), unit: 's', target: '<= 2' },
  ];
}
