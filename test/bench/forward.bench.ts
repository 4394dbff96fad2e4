/**
 * Store-and-forward throughput: drain a backlog of 1,000,000 samples to Mosquitto on loopback
 * (QoS 1, PUBACK-driven cursor, batches of 1000, window of 8) while live ingest of 10,000
 * samples/s continues through the BatchWriter, next to the raw limit of the link (MQTT.js
 * publishing the same pre-serialised batches at QoS 1 with the same window). Plus buffer
 * ingest with its ratios to raw batched inserts and to autocommit (buffer-ingest.bench.ts),
 * in the same run. Median of 3 runs each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { BatchWriter, SqliteBuffer } from '../../agent/buffer/index.ts';
import { Forwarder } from '../../agent/forward/index.ts';
import type { Sample } from '../../agent/model/index.ts';
import { MOSQUITTO_URL, tcpReachable } from '../helpers/peers.ts';
import { median, type BenchFigure } from './harness.ts';
import { run as runIngest } from './buffer-ingest.bench.ts';

const BACKLOG = 1_000_000;
const LIVE_PER_S = 10_000;
const RUNS = 3;
const MACHINES = 50;
const SIGNALS = ['energy_kwh', 'parts_total', 'parts_scrap', 'state', 'temp_c'];

function sample(i: number, t0: number): Sample {
  return { machine: `m-${i % MACHINES}`, signal: SIGNALS[i % SIGNALS.length] as string, ts: t0 + i * 10, value: i * 0.5, quality: 'good' };
}

const silent = { info: () => {}, warn: () => {} };

async function drain(): Promise<{ rate: number; live: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-bench-fwd-'));
  const buffer = new SqliteBuffer({ dataDir: dir });
  try {
    const t0 = Date.now() - 86_400_000;
    for (let i = 0; i < BACKLOG; i += 1000) buffer.commit(Array.from({ length: 1000 }, (_, k) => sample(i + k, t0)));
    const writer = new BatchWriter(buffer, { maxRows: 1000, maxDelayMs: 100 });
    const prefix = `sfa-bench/forward/${process.pid}-${Date.now().toString(36)}`;
    const fwd = new Forwarder(buffer, { url: MOSQUITTO_URL, topicPrefix: prefix, site: 's', agent: 'a', clientId: `bench-${prefix}`, kpiIntervalMs: 0 }, silent);
    // live ingest at 10,000 samples/s: every tick enqueues what arrived since the last one (as
    // a source's socket would hold it), so a starved event loop shows as a lower live rate only
    // if the buffer cannot keep up
    let live = 0;
    const liveStart = Date.now();
    const liveTimer = setInterval(() => {
      const due = Math.floor(((Date.now() - liveStart) * LIVE_PER_S) / 1000) - live;
      if (due > 0) writer.enqueue(Array.from({ length: due }, () => sample(BACKLOG + live++, t0)));
    }, 10);
    const start = process.hrtime.bigint();
    fwd.start();
    while (fwd.cursor < BACKLOG) await new Promise((r) => setTimeout(r, 5));
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    clearInterval(liveTimer);
    writer.flush();
    // live samples committed during the drain, per second
    const committed = buffer.stats().lastId - BACKLOG;
    await fwd.stop();
    return { rate: BACKLOG / s, live: committed / s };
  } finally {
    buffer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** MQTT.js alone: the same batches, pre-serialised, QoS 1, 8 in flight. */
async function rawLink(): Promise<number> {
  const t0 = Date.now();
  const payloads: string[] = [];
  for (let i = 0; i < BACKLOG; i += 1000) {
    const samples = Array.from({ length: 1000 }, (_, k) => ({ id: i + k + 1, ...sample(i + k, t0) }));
    payloads.push(JSON.stringify({ agent: 'a', site: 's', firstId: i + 1, lastId: i + 1000, samples }));
  }
  const c = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `bench-raw-${process.pid}-${Date.now().toString(36)}`, clean: true });
  const topic = `sfa-bench/raw/${process.pid}/samples`;
  const start = process.hrtime.bigint();
  let next = 0;
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const fill = (): void => {
      while (inFlight < 8 && next < payloads.length) {
        inFlight++;
        c.publish(topic, payloads[next++] as string, { qos: 1 }, () => {
          inFlight--;
          if (next >= payloads.length && inFlight === 0) resolve();
          else fill();
        });
      }
    };
    fill();
  });
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  await c.endAsync();
  return BACKLOG / s;
}

export async function run(): Promise<BenchFigure[]> {
  const u = new URL(MOSQUITTO_URL);
  if (!(await tcpReachable(u.hostname, Number(u.port || 1883)))) {
    console.error(`forward bench: no MQTT broker on ${MOSQUITTO_URL} (apt-get install mosquitto && mosquitto -d)`);
    return [];
  }
  const ours: number[] = [];
  const liveRates: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const d = await drain();
    ours.push(d.rate);
    liveRates.push(d.live);
    raw.push(await rawLink());
  }
  const ingest = await runIngest();
  return [
    { figure: 'backlog drained to Mosquitto (1M samples, live ingest 10k/s)', value: median(ours), unit: 'samples/s', target: '>= 300,000', baseline: { name: 'MQTT.js raw QoS 1', value: median(raw) } },
    { figure: 'live ingest during the drain', value: median(liveRates), unit: 'samples/s', target: '10,000' },
    ...ingest,
  ];
}
