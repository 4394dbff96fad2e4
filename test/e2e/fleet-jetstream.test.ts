/**
 * The fleet on JetStream end to end: a nats-server of the test's own (JetStream and an MQTT
 * listener, test/helpers/nats-cluster.ts), PostgreSQL (a schema per test), agents played by MQTT
 * 3.1.1 clients on the NATS MQTT listener. Two workers of one group store everything exactly
 * once, every agent gets its confirmation (also one that comes online later), /api/agents and
 * /metrics show the consumer's backlog, and the streams' settings are checked at start-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from '../../agent/fleet/index.ts';
import { loadFleetConfigText } from '../../config/fleet-schema.ts';
import { postgres, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { dropSchema, PG_TEST_URL, plantMessage, samplesMessage, testSchema } from '../helpers/fleet-messages.ts';
import { natsServer, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.ts';

const silentLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
let cluster: NatsCluster | undefined;
let ready = false;

beforeAll(async () => {
  ready = (await postgres()).available && (await natsServer()).available;
  if (ready) cluster = await startNatsCluster({ size: 1, name: 'fleet-js' });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  prefix: string;
  group: string;
  schema: string;
  dir: string;
  js: string;
}

function setup(name: string, js = ''): Setup {
  const tag = Math.random().toString(36).slice(2, 8);
  const s = { prefix: uniqueTopicPrefix(`fleet-js-${name}`), group: `g-${tag}`, schema: testSchema(`js_${name}`), dir: mkdtempSync(join(tmpdir(), 'sfa-fleet-js-')), js: `stream: W_${tag}, stateStream: S_${tag}, ackWaitS: 5${js}` };
  cleanups.push(async () => {
    await dropSchema(s.schema);
    rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}

function config(s: Setup, id: string): ReturnType<typeof loadFleetConfigText> {
  return loadFleetConfigText(
    `fleet: { id: ${id}, dataDir: "${s.dir}", logLevel: warn }\n` +
      `broker: { url: "${cluster?.natsUrls.join(',') ?? ''}", topicPrefix: "${s.prefix}", group: ${s.group}, jetstream: { ${s.js} } }\n` +
      `database: { url: "${PG_TEST_URL}", schema: ${s.schema} }\n` +
      `http: { port: 0 }\ningest: { batchMs: 20, confirmIntervalMs: 50, maxPending: 20 }\n`,
  );
}

async function worker(s: Setup, id: string): Promise<Fleet> {
  const r = config(s, id);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  const f = new Fleet(r.config, silentLog);
  cleanups.push(() => f.stop());
  await f.start();
  return f;
}

async function agent(): Promise<MqttClient> {
  const c = await mqtt.connectAsync(cluster?.mqttUrls[0] ?? '', { protocolVersion: 4, clean: true, clientId: `agent-${Math.random().toString(36).slice(2, 10)}` });
  cleanups.push(() => c.endAsync(true));
  return c;
}

const json = async <T>(f: Fleet, path: string): Promise<T> => (await (await fetch(`http://127.0.0.1:${f.port}${path}`)).json()) as T;

describe('fleet on JetStream (nats-server with MQTT listener, PostgreSQL)', () => {
  it('two workers store every batch once; the agent gets its confirmation; /api/agents and /metrics show the consumer', async ({ skip }) => {
    if (!ready) skip();
    const s = setup('two');
    const w1 = await worker(s, 'w1');
    const w2 = await worker(s, 'w2');
    const a = await agent();
    const confirms: { confirmedId: number }[] = [];
    a.on('message', (t, p) => {
      if (t.endsWith('/confirm')) confirms.push(JSON.parse(p.toString()) as { confirmedId: number });
    });
    await a.subscribeAsync(`${s.prefix}/site-a/edge-1/confirm`, { qos: 1 });
    await a.publishAsync(`${s.prefix}/site-a/edge-1/status`, 'online', { qos: 1, retain: true });
    await a.publishAsync(`${s.prefix}/site-a/edge-1/plant`, JSON.stringify(plantMessage({ instance: 'i1', machines: [{ id: 'm0', name: 'M0', line: 'l1', product: 'p1', idealCycleTimeS: 10 }] })), { qos: 1, retain: true });
    const batches = 60;
    for (let b = 0; b < batches; b++) {
      const first = b * 50 + 1;
      const msg = JSON.stringify(samplesMessage({ instance: 'i1', prevLastId: first - 1, firstId: first, lastId: first + 49 }));
      await a.publishAsync(`${s.prefix}/site-a/edge-1/samples`, msg, { qos: 1 });
      // a resend of every tenth batch (the agent's rewind): stored once
      if (b % 10 === 0) await a.publishAsync(`${s.prefix}/site-a/edge-1/samples`, msg, { qos: 1 });
    }
    const store = w1.fleetStore;
    if (!store) throw new Error('no store');
    await waitFor(async () => (await store.sampleCount('i1')) === batches * 50, 30_000, 'every sample stored');
    await waitFor(() => confirms.some((c) => c.confirmedId === batches * 50), 10_000, 'the confirmation of the last id at the agent');
    // both workers took a share of the work stream
    const stored = (f: Fleet): number => (f.metrics.batches as unknown as { hashMap: Record<string, { value: number }> }).hashMap['']?.value ?? 0;
    expect(stored(w1)).toBeGreaterThan(0);
    expect(stored(w2)).toBeGreaterThan(0);
    // each worker knows every agent's status (the state stream is read whole by each)
    for (const w of [w1, w2]) {
      const rows = await waitFor(async () => {
        const r = await json<{ online: boolean; consumer?: { name: string; pending: number; redelivered: number; ackPending: number } }[]>(w, '/api/agents');
        return r[0]?.consumer && r[0].online ? r : undefined;
      }, 10_000, 'an online agent with the consumer backlog');
      expect(rows[0]?.consumer).toMatchObject({ name: s.group, pending: 0, redelivered: 0 });
      const metrics = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`shopfloor_fleet_consumer_pending\\{stream="W_[a-z0-9]+",consumer="${s.group}",fleet="w[12]"\\} 0`));
      expect(metrics).toMatch(/shopfloor_fleet_consumer_ack_pending\{/);
      expect(metrics).toMatch(/shopfloor_fleet_consumer_redelivered\{/);
      expect((w.health().broker as { consumer?: unknown }).consumer).toMatchObject({ name: s.group });
    }
  }, 60_000);

  it('an agent that comes online (again) gets its confirmation, though NATS retains none', async ({ skip }) => {
    if (!ready) skip();
    const s = setup('online');
    const w = await worker(s, 'w1');
    const a = await agent();
    await a.publishAsync(`${s.prefix}/site-a/edge-1/samples`, JSON.stringify(samplesMessage({ instance: 'i1', prevLastId: 0, firstId: 1, lastId: 10 })), { qos: 1 });
    await waitFor(async () => (await w.fleetStore?.confirmedId('i1')) === 10, 10_000, 'the batch committed');
    await a.endAsync(true);
    // the agent reconnects: subscribes to its confirmation, then says online (as the forwarder does)
    const again = await agent();
    const got: number[] = [];
    again.on('message', (t, p) => {
      if (t.endsWith('/confirm')) got.push((JSON.parse(p.toString()) as { confirmedId: number }).confirmedId);
    });
    await again.subscribeAsync(`${s.prefix}/site-a/edge-1/confirm`, { qos: 1 });
    await again.publishAsync(`${s.prefix}/site-a/edge-1/status`, 'online', { qos: 1, retain: true });
    await waitFor(() => got.includes(10), 10_000, 'the confirmation after coming online');
  });

  it('a consumer deleted under a running worker is created again and the work goes on', async ({ skip }) => {
    if (!ready) skip();
    const s = setup('gone');
    const w = await worker(s, 'w1');
    const nc = await connect({ servers: cluster?.natsUrls ?? [] });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const stream = /stream: (\w+)/.exec(s.js)?.[1] ?? '';
    await jsm.consumers.delete(stream, s.group);
    const a = await agent();
    await a.publishAsync(`${s.prefix}/site-a/edge-1/samples`, JSON.stringify(samplesMessage({ instance: 'i1', prevLastId: 0, firstId: 1, lastId: 10 })), { qos: 1 });
    await waitFor(async () => (await w.fleetStore?.confirmedId('i1')) === 10, 20_000, 'the batch stored through the consumer created again');
    expect((await jsm.consumers.info(stream, s.group)).config.durable_name).toBe(s.group);
  }, 40_000);

  it('creates the streams, updates what NATS can change, and refuses to start on what it cannot', async ({ skip }) => {
    if (!ready) skip();
    const s = setup('layout', ', maxAgeS: 3600');
    await (await worker(s, 'w1')).stop();
    const nc = await connect({ servers: cluster?.natsUrls ?? [] });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const [stream, stateStream] = [/stream: (\w+)/.exec(s.js)?.[1] ?? '', /stateStream: (\w+)/.exec(s.js)?.[1] ?? ''];
    const w = await jsm.streams.info(stream);
    expect(w.config.subjects.sort()).toEqual([`${s.prefix.replaceAll('/', '.')}.*.*.hours.*`, `${s.prefix.replaceAll('/', '.')}.*.*.samples`]);
    expect(w.config.max_age).toBe(3600 * 1e9);
    expect((await jsm.streams.info(stateStream)).config.max_msgs_per_subject).toBe(1);
    expect((await jsm.consumers.info(stream, s.group)).config.ack_wait).toBe(5 * 1e9);

    await (await worker({ ...s, js: s.js.replace('maxAgeS: 3600', 'maxAgeS: 7200').replace('ackWaitS: 5', 'ackWaitS: 7') }, 'w2')).stop();
    expect((await jsm.streams.info(stream)).config.max_age).toBe(7200 * 1e9);
    expect((await jsm.consumers.info(stream, s.group)).config.ack_wait).toBe(7 * 1e9);

    const r = config({ ...s, js: `${s.js}, replicas: 3` }, 'w3');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const f = new Fleet(r.config, silentLog);
    await expect(f.start()).rejects.toThrow(/num_replicas is 1, the config wants 3/);
  }, 60_000);
});
