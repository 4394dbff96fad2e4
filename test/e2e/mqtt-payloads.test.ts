/**
 * MQTT source through the whole agent, against Mosquitto (127.0.0.1:1883, topics of our own)
 * and against the embedded broker (aedes): JSON, plain and order-event payloads, then a
 * Sparkplug B edge node's life (NBIRTH, DBIRTH, DDATA by alias, a historical metric, a seq
 * gap, data before birth, garbage, a stale and a real NDEATH). Dead letters show in
 * /healthz and /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import mqtt from 'mqtt';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { SparkplugCodec } from '../../drivers/sparkplug/index.ts';
import { TestBroker } from '../../drivers/mqtt/test-broker.ts';
import { MOSQUITTO_URL, mosquitto, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';

const mosq = await mosquitto();
const brokers = [
  { name: 'Mosquitto', skip: !mosq.available },
  { name: 'embedded aedes', skip: false },
] as const;

describe.each(brokers)('MQTT payloads via $name', ({ name, skip }) => {
  if (skip) {
    it.skip(`needs ${name}`, () => undefined);
    return;
  }
  const prefix = uniqueTopicPrefix('mqtt-payloads');
  const group = `sfa-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const codec = new SparkplugCodec();
  let dir: string;
  let embedded: TestBroker | undefined;
  let url: string;
  let agent: Agent;
  let base: string;
  let pub: mqtt.MqttClient;
  const ncmd: { topic: string; metrics: { name: string | undefined; value: unknown }[] }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-mqtt-payloads-'));
    if (name === 'embedded aedes') {
      embedded = new TestBroker();
      url = (await embedded.start()).mqtt;
    } else url = MOSQUITTO_URL;
    const yaml = `
site: { id: test-site }
agent: { id: payload-test, dataDir: ${join(dir, 'data')} }
http: { port: 0 }
machines: [{ id: line-1 }]
# the payloads are dated early in 2026: a retention that keeps them keeps them inside the accepted window
buffer: { retainDays: 3650 }
sources:
  - id: plant-broker
    type: mqtt
    url: ${url}
    clientId: sfa-payloads-${process.pid}-${Date.now().toString(36)}
    clean: true
    topics:
      - filter: "${prefix}/+/telemetry"
        machine: "{1}"
        timestamp: { field: ts, unit: iso }
        fields: { energy_kwh: { path: energy.wh, scale: 0.001 }, parts_total: count.total, state: state }
      - { filter: "${prefix}/+/batch", machine: "{1}", timestamp: { field: t, unit: s }, fields: { power_kw: p } }
      - { filter: "${prefix}/+/plain/+", format: plain, machine: "{1}", signal: "{2}" }
      - { filter: "${prefix}/mes/orders", format: order-events }
    sparkplug:
      groups: [${group}]
      metrics:
        - { node: press-line, device: "", metric: Line/State, machine: line-1, signal: state }
        - { metric: Energy/Total, machine: "{device}", signal: energy_kwh, scale: 0.001 }
        - { metric: Parts/Good, machine: "{device}", signal: parts_good }
        - { metric: "Temperatures/*", machine: "{device}", signal: "temp_{1}" }
`;
    const res = loadConfigText(yaml, { file: 'payloads.yaml' });
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    agent = new Agent(res.config, pino({ level: 'silent' }));
    base = `http://127.0.0.1:${(await agent.start()).httpPort}`;
    pub = await mqtt.connectAsync(url, { clientId: `sfa-payloads-pub-${process.pid}-${Date.now().toString(36)}` });
    await pub.subscribeAsync(`spBv1.0/${group}/NCMD/#`, { qos: 0 });
    pub.on('message', (topic, payload) => {
      const d = codec.decode(payload);
      if (d.ok) ncmd.push({ topic, metrics: d.payload.metrics.map((m) => ({ name: m.name, value: m.value })) });
    });
    await waitFor(() => agent.health().sources[0]?.state === 'connected', 10_000, 'connected');
    // the subscription is in place once a probe arrives
    await waitFor(
      async () => {
        await pub.publishAsync(`${prefix}/probe/plain/probe`, '1', { qos: 1 });
        return agent.buffer.latest('probe').length > 0;
      },
      10_000,
      'subscription',
      200,
    );
  });

  afterAll(async () => {
    await pub?.endAsync();
    await agent?.stop();
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const latest = (machine: string): Map<string, { value: unknown; ts: number; quality: string }> =>
    new Map(agent.buffer.latest(machine).map((l) => [l.signal, { value: l.value, ts: l.ts, quality: l.quality }]));

  it('maps JSON (nested, scaled, ISO and epoch-second timestamps, arrays), plain values and order events', async () => {
    await pub.publishAsync(`${prefix}/cell-7/telemetry`, JSON.stringify({ ts: '2026-03-01T10:00:00Z', energy: { wh: 12500 }, count: { total: 4 }, state: 'running' }), { qos: 1 });
    await pub.publishAsync(`${prefix}/cell-7/batch`, JSON.stringify([{ t: 1767261600, p: 3.5 }, { t: 1767261601.5, p: 4 }]), { qos: 1 });
    await pub.publishAsync(`${prefix}/cell-7/plain/temp_c`, '21.5', { qos: 1 });
    await pub.publishAsync(`${prefix}/cell-7/plain/door_open`, 'true', { qos: 1 });
    await pub.publishAsync(`${prefix}/mes/orders`, JSON.stringify({ orderId: 'O-1', event: 'released', ts: '2026-03-01T08:00:00Z', product: 'bracket-a', quantity: 20 }), { qos: 1 });
    await waitFor(() => latest('cell-7').size >= 6 && agent.buffer.latest('_orders').length > 0, 10_000, 'samples');
    const c = latest('cell-7');
    expect(c.get('energy_kwh')).toMatchObject({ value: 12.5, ts: Date.parse('2026-03-01T10:00:00Z') });
    expect(c.get('parts_total')?.value).toBe(4);
    expect(c.get('state')?.value).toBe('running');
    expect(c.get('power_kw')).toMatchObject({ value: 4, ts: 1767261601500 });
    expect(c.get('temp_c')?.value).toBe(21.5);
    expect(c.get('door_open')?.value).toBe(true);
    await waitFor(() => agent.health().buffer.pending === 0, 2000, 'flush');
    expect(agent.buffer.machineWindow('cell-7', 0, Date.now() + 1).filter((s) => s.signal === 'power_kw').map((s) => s.value)).toEqual([3.5, 4]);
    const order = agent.buffer.latest('_orders')[0];
    expect(order?.ts).toBe(Date.parse('2026-03-01T08:00:00Z'));
    expect(JSON.parse(String(order?.value))).toMatchObject({ orderId: 'O-1', event: 'released', product: 'bracket-a', quantity: 20 });
  });

  it('turns bad payloads into dead letters, counted in /healthz and /metrics', async () => {
    const before = agent.health().sources[0]?.deadLetters ?? 0;
    await pub.publishAsync(`${prefix}/cell-7/telemetry`, '{not json', { qos: 1 });
    await pub.publishAsync(`${prefix}/cell-7/telemetry`, JSON.stringify({ energy: { wh: 'lots' }, count: { total: {} } }), { qos: 1 });
    await pub.publishAsync(`${prefix}/cell-7/plain/temp_c`, 'Infinity', { qos: 1 });
    await pub.publishAsync(`${prefix}/cell-7/telemetry`, JSON.stringify({ ts: 'yesterday', state: 'idle' }), { qos: 1 });
    await pub.publishAsync(`${prefix}/mes/orders`, JSON.stringify({ event: 'started' }), { qos: 1 });
    await pub.publishAsync(`${prefix}/cell-7/telemetry`, Buffer.alloc(300 * 1024, 0x20), { qos: 1 });
    await waitFor(() => (agent.health().sources[0]?.deadLetters ?? 0) - before >= 6, 10_000, '6 dead letters');
    const h = (await (await fetch(`${base}/healthz`)).json()) as { sources: { id: string; deadLetters: number }[] };
    expect(h.sources[0]?.deadLetters).toBe(before + 6);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const total = [...metrics.matchAll(/^shopfloor_agent_dead_letters_total\{[^}]*source="plant-broker"[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
    expect(total).toBe(before + 6);
    const reasons = agent.buffer.deadLetters(6).map((d) => d.reason);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/invalid JSON/),
        expect.stringMatching(/unusable value/),
        expect.stringMatching(/not a usable value/),
        expect.stringMatching(/ISO 8601/),
        expect.stringMatching(/orderId/),
        expect.stringMatching(/exceeds maxPayloadBytes 262144/),
      ]),
    );
  });

  it('follows a Sparkplug B edge node: births, data by alias, history, one rebirth per gap, death', async () => {
    const t = (type: string, device?: string): string => `spBv1.0/${group}/${type}/press-line${device ? `/${device}` : ''}`;
    const send = (topic: string, payload: Parameters<SparkplugCodec['encode']>[0]): Promise<unknown> => pub.publishAsync(topic, Buffer.from(codec.encode(payload)), { qos: 1 });
    const now = Date.now();
    const hist = now - 3_600_000;
    await send(t('NBIRTH'), {
      timestamp: now,
      seq: 0,
      metrics: [
        { name: 'bdSeq', type: 'UInt64', value: 1 },
        { name: 'Node Control/Rebirth', alias: 1, type: 'Boolean', value: false },
        { name: 'Line/State', alias: 2, type: 'String', value: 'running' },
      ],
    });
    await send(t('DBIRTH', 'press-1'), {
      timestamp: now,
      seq: 1,
      metrics: [
        { name: 'Energy/Total', alias: 10, type: 'UInt64', value: 1_500_000 },
        { name: 'Parts/Good', alias: 11, type: 'UInt32', value: 10 },
        { name: 'Temperatures/Spindle', alias: 12, type: 'Float', value: 41.5 },
        { name: 'Unmapped/Thing', alias: 13, type: 'Int32', value: 1 },
      ],
    });
    await send(t('DBIRTH', 'press-2'), { timestamp: now, seq: 2, metrics: [{ name: 'Energy/Total', alias: 20, type: 'UInt64', value: 10_000 }, { name: 'Parts/Good', alias: 21, type: 'UInt32', value: 5 }] });
    // data by alias only, with a historical value that keeps its own time
    await send(t('DDATA', 'press-1'), {
      timestamp: now + 1000,
      seq: 3,
      metrics: [
        { alias: 10, type: 'UInt64', value: 1_500_500 },
        { alias: 11, type: 'UInt32', value: 11 },
        { alias: 12, type: 'Float', value: 39, isHistorical: true, timestamp: hist },
      ],
    });
    await send(t('DDATA', 'press-2'), { timestamp: now + 1000, seq: 4, metrics: [{ alias: 21, type: 'UInt32', value: 6 }] });
    await waitFor(() => latest('press-2').get('parts_good')?.value === 6, 10_000, 'press-2 data');
    expect(ncmd).toEqual([]);
    // seq 5 and 6 never arrive: a gap
    await send(t('DDATA', 'press-1'), { timestamp: now + 2000, seq: 7, metrics: [{ alias: 11, type: 'UInt32', value: 12 }] });
    await send(t('DDATA', 'press-1'), { timestamp: now + 3000, seq: 8, metrics: [{ alias: 11, type: 'UInt32', value: 13 }] });
    await send(t('DDATA', 'press-1'), { timestamp: now + 4000, seq: 9, metrics: [{ alias: 11, type: 'UInt32', value: 14 }] });
    await waitFor(() => latest('press-1').get('parts_good')?.value === 14, 10_000, 'data after the gap');
    await waitFor(() => ncmd.length >= 1, 5000, 'a rebirth request');
    await new Promise((r) => setTimeout(r, 500)); // a second request would have arrived by now
    expect(ncmd).toEqual([{ topic: `spBv1.0/${group}/NCMD/press-line`, metrics: [{ name: 'Node Control/Rebirth', value: true }] }]);

    const p1 = latest('press-1');
    expect(p1.get('energy_kwh')).toMatchObject({ value: 1500.5, ts: now + 1000, quality: 'good' });
    expect(p1.get('temp_spindle')).toMatchObject({ value: 41.5, ts: now });
    expect(p1.has('unmapped_thing')).toBe(false);
    expect(latest('press-2').get('energy_kwh')?.value).toBe(10);
    expect(latest('line-1').get('state')?.value).toBe('running');
    await waitFor(() => agent.health().buffer.pending === 0, 2000, 'flush');
    const temps = agent.buffer.machineWindow('press-1', hist - 1, now + 10_000).filter((s) => s.signal === 'temp_spindle');
    expect(temps.map((s) => [s.ts, s.value])).toEqual([[hist, 39], [now, 41.5]]);

    // garbage on a Sparkplug topic: one dead letter, nothing else
    const dl = agent.health().sources[0]?.deadLetters ?? 0;
    await pub.publishAsync(t('DDATA', 'press-1'), Buffer.from('garbage!'), { qos: 1 });
    await waitFor(() => agent.health().sources[0]?.deadLetters === dl + 1, 5000, 'garbage dead letter');
    expect(agent.buffer.deadLetters(1)[0]?.reason).toMatch(/^sparkplug: garbage protobuf/);

    // data from a node the agent never saw born: a rebirth request to that node
    await send(`spBv1.0/${group}/NDATA/other-node`, { timestamp: now, seq: 17, metrics: [{ alias: 3, type: 'Int32', value: 1 }] });
    await waitFor(() => ncmd.some((c) => c.topic.endsWith('/NCMD/other-node')), 5000, 'rebirth for a node without birth');

    // a death certificate from an earlier session (other bdSeq) changes nothing
    await send(t('NDEATH'), { timestamp: now + 5000, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 0 }] });
    await new Promise((r) => setTimeout(r, 300));
    expect(latest('press-1').get('parts_good')?.quality).toBe('good');
    // the real death: every signal of the node and its devices gets a bad-quality sample
    await send(t('NDEATH'), { timestamp: now + 6000, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 1 }] });
    await waitFor(() => latest('press-2').get('parts_good')?.quality === 'bad', 5000, 'death marks press-2');
    for (const m of ['press-1', 'press-2', 'line-1']) {
      for (const [signal, l] of latest(m)) {
        expect({ machine: m, signal, quality: l.quality, value: l.value, ts: l.ts }).toEqual({ machine: m, signal, quality: 'bad', value: null, ts: now + 6000 });
      }
    }
    expect(ncmd.filter((c) => c.topic.endsWith('/press-line'))).toHaveLength(1);
  });
});
