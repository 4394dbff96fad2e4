/**
 * MQTT transports and authentication against the embedded broker: mqtts:// with our own CA
 * and a client certificate, ws://, MQTT 3.1.1 and 5, user name and password. A broker whose
 * certificate the agent cannot verify, or a TLS file that does not exist, is an error state
 * that says what is wrong (never a crash).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { BatchWriter, SqliteBuffer } from '../../agent/buffer/index.ts';
import { mqttSourceSchema } from '../../config/schema.ts';
import type { DriverContext, SourceState } from '../../drivers/driver.ts';
import { MqttDriver } from '../../drivers/mqtt/index.ts';
import { TestBroker, makeTestPki, type TestPki } from '../../drivers/mqtt/test-broker.ts';
import { MOSQUITTO_URL, mosquitto, waitFor } from '../helpers/index.ts';

const mosq = await mosquitto();

describe('MQTT transports (embedded broker)', () => {
  let dir: string;
  let pki: TestPki;
  const broker = new TestBroker();
  let urls: { mqtt: string; mqtts?: string; ws: string };
  let pub: mqtt.MqttClient;
  let n = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-mqtt-tls-'));
    pki = makeTestPki(join(dir, 'pki'));
    urls = await broker.start({ tls: pki, users: { agent: 's3cret', pub: 'pub' } });
    pub = await mqtt.connectAsync(urls.mqtt, { username: 'pub', password: 'pub' });
  }, 30_000);

  afterAll(async () => {
    await pub?.endAsync();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function roundTrip(source: Record<string, unknown>, publisher: mqtt.MqttClient = pub): Promise<{ states: { state: SourceState; detail?: string }[]; value?: unknown; clientId: string }> {
    const clientId = `sfa-transport-${process.pid}-${Date.now().toString(36)}-${++n}`;
    const buffer = new SqliteBuffer({ dataDir: join(dir, `db-${n}`) });
    const writer = new BatchWriter(buffer, { maxDelayMs: 10 });
    const states: { state: SourceState; detail?: string }[] = [];
    const ctx: DriverContext = {
      emit: (s) => writer.enqueue(s),
      commit: (s) => writer.commitNow(s),
      deadLetter: (l) => buffer.deadLetter(l.source, l.topic, l.reason, l.payload),
      setState: (state, detail) => states.push(detail === undefined ? { state } : { state, detail }),
      log: pino({ level: 'silent' }),
    };
    const topic = `sfa-test/transports/${process.pid}/${clientId}`;
    const driver = new MqttDriver(mqttSourceSchema.parse({ id: 'src', type: 'mqtt', clientId, topics: [{ filter: topic, format: 'plain', machine: 'm', signal: 'v' }], ...source }), { reconnectPeriodMs: 200, connectTimeoutMs: 3000 });
    try {
      await driver.start(ctx);
      const ok = await waitFor(() => states.some((s) => s.state === 'connected') || states.some((s) => s.state === 'error'), 10_000, 'connected or error');
      if (!ok || !states.some((s) => s.state === 'connected')) {
        if (process.env.SFA_DEBUG) console.log(states);
        return { states, clientId };
      }
      const value = await waitFor(
        async () => {
          await publisher.publishAsync(topic, '42.5', { qos: 1 });
          return buffer.latest('m')[0]?.value;
        },
        10_000,
        'a message through the transport',
        100,
      );
      return { states, value, clientId };
    } finally {
      await driver.stop();
      buffer.close();
    }
  }

  it('mqtts:// with our CA, a client certificate and user/password', async () => {
    const r = await roundTrip({ url: urls.mqtts, username: 'agent', password: 's3cret', tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
    expect(r.value).toBe(42.5);
    expect(broker.connects.find((c) => c.clientId === r.clientId)).toEqual({ clientId: r.clientId, username: 'agent', protocolVersion: 4, certCn: 'edge-agent' });
  });

  // aedes speaks MQTT 3.1.1 only; Mosquitto 2 speaks 5
  it.skipIf(!mosq.available)('MQTT 5 against Mosquitto', async () => {
    const p5 = await mqtt.connectAsync(MOSQUITTO_URL, { protocolVersion: 5 });
    try {
      const r = await roundTrip({ url: MOSQUITTO_URL, protocolVersion: 5, clean: true }, p5);
      expect(r.value).toBe(42.5);
    } finally {
      await p5.endAsync();
    }
  });

  it('ws:// (MQTT 3.1.1)', async () => {
    const r = await roundTrip({ url: urls.ws, username: 'agent', password: 's3cret' });
    expect(r.value).toBe(42.5);
    expect(broker.connects.find((c) => c.clientId === r.clientId)).toMatchObject({ protocolVersion: 4, username: 'agent' });
  });

  it('a broker certificate not signed by the configured CA is an error state, not a connection', async () => {
    const other = makeTestPki(join(dir, 'other-pki'));
    const r = await roundTrip({ url: urls.mqtts, username: 'agent', password: 's3cret', tls: { ca: other.ca, cert: pki.clientCert, key: pki.clientKey } });
    expect(r.states.some((s) => s.state === 'connected')).toBe(false);
    expect(r.states.find((s) => s.state === 'error')?.detail).toMatch(/certificate/i);
  }, 30_000);

  it('wrong password: error state', async () => {
    const r = await roundTrip({ url: urls.mqtt, username: 'agent', password: 'nope' });
    expect(r.states.some((s) => s.state === 'connected')).toBe(false);
    expect(r.states.find((s) => s.state === 'error')?.detail).toMatch(/Not authorized|Bad username/i);
  });

  it('a TLS file that does not exist: error state naming it', async () => {
    const r = await roundTrip({ url: urls.mqtts, tls: { ca: join(dir, 'missing-ca.pem') } });
    expect(r.states).toEqual([{ state: 'error', detail: expect.stringMatching(/cannot read tls\.ca ".*missing-ca\.pem": ENOENT/) }]);
  });
});
