/**
 * MQTT ingest: JSON from Mosquitto on loopback to committed rows, with the real driver
 * (QoS 1, PUBACK only after the message's samples are committed) and the real buffer.
 * The publisher runs in its own process, so the agent side is measured on its own core.
 *
 * Mosquitto silently drops QoS 1 messages beyond max_queued_messages (default 1000) per
 * subscriber, so the publisher is flow-controlled: the agent side reports the messages it
 * has committed over IPC and the publisher stays at most WINDOW messages ahead. The
 * baseline is a bare MQTT.js subscriber (acknowledges at once, no decode, no store) under
 * the same flow control, measured in the same run. Median of RUNS runs each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { BatchWriter, SqliteBuffer } from '../../agent/buffer/index.ts';
import { SourceBoundary } from '../../agent/plant/index.ts';
import { mqttSourceSchema } from '../../config/schema.ts';
import type { DriverContext } from '../../drivers/driver.ts';
import { MqttDriver } from '../../drivers/mqtt/index.ts';
import { MOSQUITTO_URL, tcpReachable } from '../helpers/index.ts';
import { median, type BenchFigure } from './harness.ts';

const RUNS = 3;
const WINDOW = 400;
const SINGLE_N = 60_000;
const BATCH_N = 6_000;
const RECORDS = 20;
const FIELDS = ['a', 'b', 'c', 'd', 'e'];
const SAMPLES_PER_BATCH = RECORDS * FIELDS.length;

/** The publisher process: QoS 1, at most WINDOW messages ahead of what the subscriber reported. */
const PUBLISHER = `
import mqtt from 'mqtt';
const [url, topic, kind, nStr, windowStr, records] = process.argv.slice(1);
const n = Number(nStr), window = Number(windowStr), recs = Number(records);
let done = 0, sent = 0, wake = null;
process.on('message', (m) => { if (typeof m.done === 'number') { done = m.done; if (wake) { const w = wake; wake = null; w(); } } });
const c = await mqtt.connectAsync(url, { clean: true });
const single = (i) => '{"ts":' + (1700000000000 + i) + ',"v":' + i + '}';
const batch = (i) => { let s = '['; for (let r = 0; r < recs; r++) { const t = 1700000000000 + i * recs + r; s += (r ? ',' : '') + '{"ts":' + t + ',"a":' + r + ',"b":' + (r + 0.5) + ',"c":' + i + ',"d":1.25,"e":"run"}'; } return s + ']'; };
process.send({ ready: true });
await new Promise((r) => process.once('message', r));
while (sent < n) {
  if (sent - done >= window) { await new Promise((r) => (wake = r)); continue; }
  c.publish(topic, kind === 'batch' ? batch(sent) : single(sent), { qos: 1 });
  sent++;
  if (sent % 64 === 0) await new Promise((r) => setImmediate(r));
}
while (done < n) await new Promise((r) => (wake = r));
await c.endAsync();
process.exit(0);
`;

function startPublisher(topic: string, kind: 'single' | 'batch', n: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', PUBLISHER, MOSQUITTO_URL, topic, kind, String(n), String(WINDOW), String(RECORDS)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    cwd: process.cwd(),
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`publisher exited with ${code}`)));
    child.once('message', () => resolve(child));
  });
}

interface Sink {
  /** messages handled so far */
  count(): number;
  stop(): Promise<void>;
}

interface Measured {
  /** messages per second from the first message to the n-th */
  rate: number;
  /** this process's CPU time (user + system) per message over the same span, µs: less swayed by a busy machine than the rate */
  cpuUs: number;
}

/** Runs one measurement. */
async function measure(kind: 'single' | 'batch', n: number, makeSink: (topic: string, onMessage: () => void) => Promise<Sink>): Promise<Measured> {
  const topic = `sfa-bench/mqtt/${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  let t0 = 0;
  let t1 = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let cpu = 0;
  const publisher: { child?: ChildProcess } = {};
  let lastReport = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  const sink = await makeSink(topic, () => {
    const c = sink.count();
    if (t0 === 0) {
      t0 = performance.now();
      cpu0 = process.cpuUsage();
    }
    if (c - lastReport >= 100 || c >= n) {
      lastReport = c;
      publisher.child?.send({ done: c });
    }
    if (c >= n && t1 === 0) {
      t1 = performance.now();
      const used = process.cpuUsage(cpu0);
      cpu = used.user + used.system;
      resolveDone();
    }
  });
  await new Promise((r) => setTimeout(r, 300)); // subscription in place
  const child = await startPublisher(topic, kind, n);
  publisher.child = child;
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.send({ go: true });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    done,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${sink.count()} of ${n} messages arrived in 120 s: the broker dropped some (max_queued_messages?)`)), 120_000);
    }),
  ]).finally(() => clearTimeout(timer));
  await exited;
  await sink.stop();
  return { rate: n / ((t1 - t0) / 1000), cpuUs: cpu / n };
}

async function driverSink(dir: string, topic: string, kind: 'single' | 'batch', onMessage: () => void): Promise<Sink> {
  const buffer = new SqliteBuffer({ dataDir: mkdtempSync(join(dir, 'db-')) });
  const writer = new BatchWriter(buffer);
  const perMessage = kind === 'single' ? 1 : SAMPLES_PER_BATCH;
  let messages = 0;
  // every sample passes the input boundary first, as in the agent (the publisher dates its data 2023: a retention that keeps it)
  const boundary = new SourceBoundary({ maxFutureMs: 300_000, retainMs: Number.MAX_SAFE_INTEGER, badTimestamp: 'deadLetter', maxSeries: 10_000 });
  const reject = (_s: unknown, reason: string): void => {
    throw new Error(`bench sample refused: ${reason}`);
  };
  const ctx: DriverContext = {
    emit: (s) => writer.enqueue(boundary.admit(s, Date.now(), reject)),
    // the driver commits a group of messages at a time: count the messages it holds
    commit: (s) => {
      writer.commitNow(boundary.admit(s, Date.now(), reject));
      messages += s.length / perMessage;
      onMessage();
    },
    deadLetter: (l) => {
      throw new Error(`unexpected dead letter: ${l.reason}`);
    },
    setState: () => undefined,
    log: pino({ level: 'silent' }),
  };
  const topicCfg =
    kind === 'single'
      ? { filter: topic, machine: 'm', timestamp: { field: 'ts', unit: 'ms' }, fields: { power_kw: 'v' } }
      : { filter: topic, machine: 'm', timestamp: { field: 'ts', unit: 'ms' }, fields: Object.fromEntries(FIELDS.map((f) => [`sig_${f}`, f])) };
  const driver = new MqttDriver(mqttSourceSchema.parse({ id: 'bench', type: 'mqtt', url: MOSQUITTO_URL, clean: true, clientId: `sfa-bench-${process.pid}-${Date.now().toString(36)}`, topics: [topicCfg] }));
  let connected: () => void = () => undefined;
  const up = new Promise<void>((r) => (connected = r));
  await driver.start({ ...ctx, setState: (s) => s === 'connected' && connected() });
  await up;
  return {
    count: () => messages,
    stop: async () => {
      await driver.stop();
      const stored = buffer.stats().samples;
      buffer.close();
      const expected = messages * (kind === 'single' ? 1 : SAMPLES_PER_BATCH);
      if (stored !== expected) throw new Error(`stored ${stored} samples, expected ${expected}`);
    },
  };
}

async function bareSink(topic: string, onMessage: () => void): Promise<Sink> {
  let messages = 0;
  const c = await mqtt.connectAsync(MOSQUITTO_URL, { clean: true });
  c.on('message', () => {
    messages++;
    onMessage();
  });
  await c.subscribeAsync(topic, { qos: 1 });
  return { count: () => messages, stop: () => c.endAsync() };
}

/**
 * The input boundary's own cost per sample (µs), on the batch bench's samples (one machine, five
 * signals, in the window): a CPU figure the machine's load sways far less than a rate.
 */
function boundaryCostUs(): number {
  const boundary = new SourceBoundary({ maxFutureMs: 300_000, retainMs: Number.MAX_SAFE_INTEGER, badTimestamp: 'deadLetter', maxSeries: 10_000 });
  const messages = Array.from({ length: 1000 }, (_, i) =>
    Array.from({ length: SAMPLES_PER_BATCH }, (_, k) => ({ machine: 'm', signal: `sig_${FIELDS[k % FIELDS.length] as string}`, ts: 1_700_000_000_000 + i * RECORDS + Math.floor(k / FIELDS.length), value: k + 0.5, quality: 'good' as const })),
  );
  const reject = (): void => {
    throw new Error('bench sample refused');
  };
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    for (let rep = 0; rep < 10; rep++) for (const m of messages) boundary.admit(m, Date.now(), reject);
    rounds.push(Number(process.hrtime.bigint() - t0) / 1000 / (10 * messages.length * SAMPLES_PER_BATCH));
  }
  return median(rounds);
}

export async function run(): Promise<BenchFigure[]> {
  const u = new URL(MOSQUITTO_URL);
  if (!(await tcpReachable(u.hostname, Number(u.port || 1883)))) {
    console.error(`mqtt bench skipped: no MQTT broker on ${MOSQUITTO_URL}`);
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), 'sfa-bench-mqtt-'));
  try {
    const ours1: number[] = [];
    const bare1: number[] = [];
    const oursB: number[] = [];
    const bareB: number[] = [];
    const cpu1: number[] = [];
    const cpuB: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      bare1.push((await measure('single', SINGLE_N, (t, on) => bareSink(t, on))).rate);
      const o1 = await measure('single', SINGLE_N, (t, on) => driverSink(dir, t, 'single', on));
      ours1.push(o1.rate);
      cpu1.push(o1.cpuUs);
      bareB.push((await measure('batch', BATCH_N, (t, on) => bareSink(t, on))).rate * SAMPLES_PER_BATCH);
      const oB = await measure('batch', BATCH_N, (t, on) => driverSink(dir, t, 'batch', on));
      oursB.push(oB.rate * SAMPLES_PER_BATCH);
      cpuB.push(oB.cpuUs / SAMPLES_PER_BATCH);
      process.stderr.write(
        `  run ${i + 1}: ${Math.round(ours1[i] ?? 0)} msg/s (bare ${Math.round(bare1[i] ?? 0)}), ${Math.round(oursB[i] ?? 0)} samples/s (bare ${Math.round(bareB[i] ?? 0)}); agent CPU ${o1.cpuUs.toFixed(1)} µs/msg, ${(oB.cpuUs / SAMPLES_PER_BATCH).toFixed(2)} µs/sample\n`,
      );
    }
    return [
      { figure: 'QoS 1 JSON, 1 sample/msg, ack after commit', value: median(ours1), unit: 'msg/s', target: '>= 40000', baseline: { name: 'bare MQTT.js subscriber', value: median(bare1) } },
      { figure: `QoS 1 JSON, ${SAMPLES_PER_BATCH} samples/msg (${RECORDS} records × ${FIELDS.length} fields)`, value: median(oursB), unit: 'samples/s', target: '>= 300000', baseline: { name: 'bare MQTT.js subscriber', value: median(bareB) } },
      { figure: 'agent CPU per message, 1 sample/msg', value: median(cpu1), unit: 'µs' },
      { figure: `agent CPU per sample, ${SAMPLES_PER_BATCH} samples/msg`, value: median(cpuB), unit: 'µs' },
      { figure: 'of which the input boundary (admit, in-process)', value: boundaryCostUs(), unit: 'µs/sample' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
