/**
 * What NATS's MQTT listener (nats-server 2.9) does with the agents' upstream traffic, on a real
 * 3-node JetStream cluster (README "Fleet on NATS JetStream"): an MQTT 3.1.1 QoS 1 publish lands
 * in a stream capturing `{p}.*.*.samples` with `/` turned into `.`; a `.` in a topic is refused;
 * retained status and Last Will; a core-NATS confirm reaching an MQTT subscriber; and what the
 * PUBACK covers (the listener's own $MQTT_msgs stream, not the fleet's stream).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/index.ts';
import { natsServer, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.ts';
import { wireConnect, type WireClient } from '../helpers/nats-wire.ts';
import { createStream, streamInfo, streamMessages, waitStreamCount } from '../helpers/jetstream-api.ts';

const need = await natsServer();
const P = `sfan${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const STREAM = `SFA_${P}`;

/**
 * An MQTT 3.1.1 client like the agent's forwarder. Right after a node restart the listener may
 * refuse a CONNECT for a few seconds (its JetStream look-ups time out): tried again until 20 s.
 */
async function mqttConnect(url: string, o: IClientOptions = {}): Promise<MqttClient> {
  const end = Date.now() + 20_000;
  for (;;) {
    const c = mqtt.connect(url, { protocolVersion: 4, clientId: `sfa-x-${Math.random().toString(36).slice(2, 10)}`, clean: true, reconnectPeriod: 0, connectTimeout: 5_000, ...o });
    const ok = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 6_000);
      c.once('connect', () => (clearTimeout(t), resolve(true)));
      c.once('close', () => (clearTimeout(t), resolve(false)));
      c.once('error', () => (clearTimeout(t), resolve(false)));
    });
    if (ok) return c;
    c.end(true);
    if (Date.now() > end) throw new Error(`no MQTT CONNACK from ${url}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** resolves with the PUBACK (true) or false when none came within ms */
function publishAcked(c: MqttClient, topic: string, payload: string, ms: number, retain = false): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    c.publish(topic, payload, { qos: 1, retain }, (err) => {
      clearTimeout(t);
      resolve(!err);
    });
  });
}

describe.skipIf(!need.available)('NATS MQTT listener (3 nodes, JetStream replicas 3)', () => {
  let cluster: NatsCluster;
  let nc: WireClient;

  beforeAll(async () => {
    cluster = await startNatsCluster({ size: 3, name: 'mqttx', mqtt: { streamReplicas: 3, ackWait: '2s', maxAckPending: 100 } });
    nc = await wireConnect(cluster.natsUrls[0] as string);
    await createStream(nc, { name: STREAM, subjects: [`${P}.*.*.samples`, `${P}.*.*.status`, `${P}.*.*.hours.*`], num_replicas: 3 });
  }, 60_000);
  afterAll(async () => {
    nc?.close();
    await cluster?.stop();
  });

  it('an MQTT 3.1.1 QoS 1 publish on {p}/site-a/edge-1/samples is stored in the stream as {p}.site-a.edge-1.samples, bytes unchanged', async () => {
    const c = await mqttConnect(cluster.mqttUrls[1] as string);
    const before = (await streamInfo(nc, STREAM)).state?.messages ?? 0;
    const payload = JSON.stringify({ instance: 'i-1', samples: [{ id: 1, v: 'ä€' }] });
    expect(await publishAcked(c, `${P}/site-a/edge-1/samples`, payload, 5_000)).toBe(true);
    await waitStreamCount(nc, STREAM, before + 1);
    const msgs = await streamMessages(nc, STREAM);
    const last = msgs[msgs.length - 1];
    expect(last?.subject).toBe(`${P}.site-a.edge-1.samples`);
    expect(last?.data.toString('utf8')).toBe(payload);
    await c.endAsync();
  }, 30_000);

  it('a "." in a topic (a dotted site, agent or machine id) makes nats-server 2.9 close the connection: no PUBACK, nothing published', async () => {
    const c = await mqttConnect(cluster.mqttUrls[0] as string);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    const seen: string[] = [];
    const unsub = nc.subscribe(`${P}.>`, (m) => seen.push(m.subject));
    await nc.flush();
    expect(await publishAcked(c, `${P}/plant.north/edge-1/hours/press-7`, '{}', 3_000)).toBe(false);
    await closed;
    await nc.flush();
    unsub();
    expect(seen).toEqual([]);
    expect(cluster.logTail(0, 50)).toContain("characters ' ' and '.' not supported for MQTT topics");
    c.end(true);
  }, 30_000);

  it('retained status and the Last Will go through the listener, and land in the stream too', async () => {
    const topic = `${P}/site-w/edge-w/status`;
    const agent = await mqttConnect(cluster.mqttUrls[0] as string, { will: { topic, payload: Buffer.from('offline'), qos: 1, retain: true } });
    expect(await publishAcked(agent, topic, 'online', 5_000, true)).toBe(true);
    // a subscriber arriving later, on another node, gets the retained 'online'
    const late = await mqttConnect(cluster.mqttUrls[2] as string);
    const got: { payload: string; retain: boolean }[] = [];
    late.on('message', (_t, p, pkt) => got.push({ payload: p.toString(), retain: pkt.retain }));
    await late.subscribeAsync(topic, { qos: 1 });
    await waitFor(() => got.length >= 1, 5_000, 'the retained status');
    expect(got[0]).toEqual({ payload: 'online', retain: true });
    // the agent's connection dies without DISCONNECT: the will is published
    agent.stream.destroy();
    await waitFor(() => got.some((g) => g.payload === 'offline'), 15_000, 'the Last Will');
    const later = await mqttConnect(cluster.mqttUrls[1] as string);
    const got2: string[] = [];
    later.on('message', (_t, p) => got2.push(p.toString()));
    await later.subscribeAsync(topic, { qos: 1 });
    await waitFor(() => got2.length >= 1, 5_000, 'the retained will');
    expect(got2[0]).toBe('offline');
    const stored = (await streamMessages(nc, STREAM)).filter((m) => m.subject === `${P}.site-w.edge-w.status`).map((m) => m.data.toString());
    expect(stored).toEqual(['online', 'offline']);
    agent.end(true);
    await late.endAsync();
    await later.endAsync();
  }, 30_000);

  it('a core-NATS publish on {p}.site-a.edge-1.confirm reaches an MQTT QoS 1 subscriber of {p}/site-a/edge-1/confirm (at QoS 0, not retained)', async () => {
    const sub = await mqttConnect(cluster.mqttUrls[1] as string);
    const got: { topic: string; payload: string; qos: number; retain: boolean }[] = [];
    sub.on('message', (t, p, pkt) => got.push({ topic: t, payload: p.toString(), qos: pkt.qos, retain: pkt.retain }));
    const granted = await sub.subscribeAsync(`${P}/site-a/edge-1/confirm`, { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
    const body = JSON.stringify({ instance: 'i-1', confirmedId: 42, at: new Date().toISOString() });
    nc.publish(`${P}.site-a.edge-1.confirm`, body);
    await nc.flush();
    await waitFor(() => got.length >= 1, 5_000, 'the confirm on the MQTT side');
    expect(got[0]).toEqual({ topic: `${P}/site-a/edge-1/confirm`, payload: body, qos: 0, retain: false });
    await sub.endAsync();
    // nothing was retained: a subscriber arriving later gets no confirm
    const later = await mqttConnect(cluster.mqttUrls[0] as string);
    const got2: string[] = [];
    later.on('message', (_t, p) => got2.push(p.toString()));
    await later.subscribeAsync(`${P}/site-a/edge-1/confirm`, { qos: 1 });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(got2).toEqual([]);
    await later.endAsync();
  }, 30_000);
  it('the PUBACK does not cover the fleet\'s stream: with that stream offline the publish is acknowledged at once and never stored', async () => {
    // a stream of one replica, on one node; the listener's own $MQTT_ streams (replicas 3) keep their quorum
    const name = `${STREAM}_R1`;
    await createStream(nc, { name, subjects: [`${P}r1.*.*.samples`], num_replicas: 1 });
    const host = await cluster.waitStreamLeader(name);
    // the listener's own streams must keep their leaders: a QoS 1 publish waits for $MQTT_msgs
    for (const own of ['$MQTT_msgs', '$MQTT_sess']) {
      await waitFor(async () => {
        if ((await cluster.waitStreamLeader(own)) !== host) return true;
        await nc.api(`$JS.API.STREAM.LEADER.STEPDOWN.${own}`, undefined, 5_000).catch(() => undefined);
        return false;
      }, 20_000, `${own} led by another node than ${name}`, 500);
    }
    const via = (host + 1) % 3;
    const c = await mqttConnect(cluster.mqttUrls[via] as string);
    expect(await publishAcked(c, `${P}r1/site-a/edge-1/samples`, 'stored', 5_000)).toBe(true);
    await waitStreamCount(nc, name, 1);
    await cluster.kill(host);
    let acked: boolean;
    try {
      acked = await publishAcked(c, `${P}r1/site-a/edge-1/samples`, 'lost', 5_000);
    } finally {
      c.end(true);
      await cluster.restart(host);
      await cluster.waitHealthy();
    }
    expect(acked).toBe(true);
    const local = await wireConnect(cluster.natsUrls[host] as string);
    try {
      await waitFor(async () => (await streamInfo(local, name).catch(() => undefined))?.state !== undefined, 15_000, 'the R1 stream answering again');
      expect((await streamMessages(local, name)).map((m) => m.data.toString())).toEqual(['stored']);
    } finally {
      local.close();
    }
  }, 90_000);

  it('with no JetStream quorum at all the listener gives no PUBACK and closes the connection (the agent resends)', async () => {
    const survivor = 2;
    const c = await mqttConnect(cluster.mqttUrls[survivor] as string);
    const closed = new Promise<number>((r) => c.once('close', () => r(Date.now())));
    await cluster.kill(0);
    await cluster.kill(1);
    const t0 = Date.now();
    let acked: boolean;
    try {
      // the listener stores a QoS 1 message in its $MQTT_msgs stream before the PUBACK (4 s API timeout)
      acked = await publishAcked(c, `${P}/site-a/edge-1/samples`, '{"noQuorum":true}', 8_000);
      expect(await closed).toBeLessThan(t0 + 8_000);
    } finally {
      c.end(true);
      await cluster.restart(0);
      await cluster.restart(1);
      await cluster.waitHealthy();
    }
    expect(acked).toBe(false);
  }, 90_000);
});
