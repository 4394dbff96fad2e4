import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { BatchWriter, SqliteBuffer } from '../../agent/buffer/index.ts';
import { mqttSourceSchema } from '../../config/schema.ts';
import type { DriverContext, SourceState } from '../driver.ts';
import { MqttDriver } from './mqtt-driver.ts';
import { MOSQUITTO_URL, mosquitto, uniqueTopicPrefix, waitFor } from '../../test/helpers/index.ts';

const broker = await mosquitto();

function harness(dir: string) {
  const buffer = new SqliteBuffer({ dataDir: dir });
  const writer = new BatchWriter(buffer, { maxDelayMs: 20 });
  const states: SourceState[] = [];
  const ctx: DriverContext = {
    emit: (s) => writer.enqueue(s),
    commit: (s) => writer.commitNow(s),
    deadLetter: (l) => buffer.deadLetter(l.source, l.topic, l.reason, l.payload),
    setState: (s) => states.push(s),
    log: pino({ level: 'silent' }),
  };
  return { buffer, writer, states, ctx };
}

describe.skipIf(!broker.available)('MqttDriver against Mosquitto', () => {
  const prefix = uniqueTopicPrefix('mqtt-driver');
  let dir: string;
  let pub: mqtt.MqttClient;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-mqtt-'));
    pub = await mqtt.connectAsync(MOSQUITTO_URL);
  });
  afterAll(async () => {
    await pub.endAsync();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (clientId: string) =>
    mqttSourceSchema.parse({
      id: 'plant-broker',
      type: 'mqtt',
      url: MOSQUITTO_URL,
      clientId,
      topics: [
        { filter: `${prefix}/+/telemetry`, machine: '{1}', fields: { energy_kwh: 'e.kwh', parts_total: 'n', state: 'st' }, timestamp: { field: 'ts', unit: 'ms' } },
        { filter: `${prefix}/+/plain/+`, machine: '{1}', signal: '{2}', format: 'plain' },
        { filter: `${prefix}/mes/orders`, format: 'order-events' },
      ],
    });

  it('maps JSON, plain and order events, and dead-letters what it cannot use', async () => {
    const h = harness(join(dir, 'a'));
    const driver = new MqttDriver(config(`sfa-test-a-${process.pid}-${Date.now()}`), { defaultClientId: 'x', reconnectPeriodMs: 200, connectTimeoutMs: 2000 });
    await driver.start(h.ctx);
    await waitFor(() => h.states.includes('connected'), 5000, 'connected');
    await new Promise((r) => setTimeout(r, 200)); // subscription in place
    await pub.publishAsync(`${prefix}/cell-7/telemetry`, JSON.stringify({ ts: 1000, e: { kwh: 12.5 }, n: 4, st: 'running' }), { qos: 1 });
    await pub.publishAsync(`${prefix}/cell-7/plain/temp_c`, '21.5', { qos: 1 });
    await pub.publishAsync(`${prefix}/mes/orders`, JSON.stringify({ orderId: 'O-1', event: 'started', ts: '2026-01-01T00:00:00Z' }), { qos: 1 });
    await pub.publishAsync(`${prefix}/cell-7/telemetry`, '{not json', { qos: 1 });
    await pub.publishAsync(`${prefix}/cell-7/plain/temp_c`, 'NaN', { qos: 1 });
    await waitFor(() => h.buffer.deadLetters().length >= 2 && h.buffer.stats().samples >= 5, 5000, 'samples and dead letters');
    const w = h.buffer.machineWindow('cell-7', 0, Date.now() + 1000);
    expect(w.map((s) => [s.signal, s.value])).toEqual(
      expect.arrayContaining([
        ['energy_kwh', 12.5],
        ['parts_total', 4],
        ['state', 'running'],
        ['temp_c', 21.5],
      ]),
    );
    expect(h.buffer.machineWindow('_orders', 0, Date.now() + 1000)[0]).toMatchObject({ signal: 'order_event', ts: Date.parse('2026-01-01T00:00:00Z') });
    const reasons = h.buffer.deadLetters().map((d) => d.reason);
    expect(reasons).toEqual(expect.arrayContaining([expect.stringMatching(/invalid JSON/), expect.stringMatching(/not a usable value/)]));
    await driver.stop();
    h.buffer.close();
  });

  it('says "connected" only once its subscriptions exist: a message published at that moment arrives', async () => {
    for (let round = 0; round < 5; round++) {
      const h = harness(join(dir, `c${round}`));
      let published: Promise<unknown> | undefined;
      const ctx: DriverContext = {
        ...h.ctx,
        setState: (s) => {
          h.states.push(s);
          // a publisher that waits for the agent's health to say connected, as a plant engineer would
          if (s === 'connected') published ??= pub.publishAsync(`${prefix}/cell-c${round}/plain/temp_c`, '20.5', { qos: 1 });
        },
      };
      const driver = new MqttDriver(config(`sfa-test-c-${process.pid}-${Date.now()}-${round}`), { defaultClientId: 'x', reconnectPeriodMs: 200, connectTimeoutMs: 2000 });
      await driver.start(ctx);
      await waitFor(() => published !== undefined, 5000, 'connected');
      await published;
      await waitFor(() => h.buffer.stats().samples >= 1, 3000, `round ${round}: the message published on "connected"`);
      expect(h.buffer.machineWindow(`cell-c${round}`, 0, Date.now() + 1000).map((x) => x.value)).toEqual([20.5]);
      await driver.stop();
      h.buffer.close();
    }
  });

  it('keeps a persistent session: messages published while the agent is away arrive when it is back', async () => {
    const clientId = `sfa-test-b-${process.pid}-${Date.now()}`;
    const h = harness(join(dir, 'b'));
    let driver = new MqttDriver(config(clientId), { defaultClientId: 'x', reconnectPeriodMs: 200, connectTimeoutMs: 2000 });
    await driver.start(h.ctx);
    await waitFor(() => h.states.includes('connected'), 5000, 'connected');
    await new Promise((r) => setTimeout(r, 200));
    await driver.stop();
    for (let i = 1; i <= 50; i++) {
      await pub.publishAsync(`${prefix}/away/plain/seq`, String(i), { qos: 1 });
    }
    driver = new MqttDriver(config(clientId), { defaultClientId: 'x', reconnectPeriodMs: 200, connectTimeoutMs: 2000 });
    await driver.start(h.ctx);
    await waitFor(() => h.buffer.machineWindow('away', 0, Date.now() + 1000).length >= 50, 5000, '50 messages from the session');
    const values = h.buffer.machineWindow('away', 0, Date.now() + 1000).map((s) => s.value);
    expect(new Set(values)).toEqual(new Set(Array.from({ length: 50 }, (_, i) => i + 1)));
    await driver.stop();
    h.buffer.close();
  });

  it('a failed commit acknowledges nothing: the broker redelivers and nothing is lost', async () => {
    const clientId = `sfa-test-c-${process.pid}-${Date.now()}`;
    const h = harness(join(dir, 'c'));
    let failures = 0;
    const ctx: DriverContext = {
      ...h.ctx,
      commit: (s) => {
        // the disk is "full" twice, while number 30 is in the group
        if (failures < 2 && s.some((x) => x.value === 30)) {
          failures++;
          throw new Error('SQLITE_FULL: database or disk is full');
        }
        h.writer.commitNow(s);
      },
    };
    const driver = new MqttDriver(config(clientId), { defaultClientId: 'x', reconnectPeriodMs: 200, connectTimeoutMs: 2000 });
    await driver.start(ctx);
    await waitFor(() => h.states.includes('connected'), 5000, 'connected');
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 1; i <= 60; i++) await pub.publishAsync(`${prefix}/fail/plain/seq`, String(i), { qos: 1 });
    await waitFor(() => new Set(h.buffer.machineWindow('fail', 0, Date.now() + 1000).map((s) => s.value)).size === 60, 10_000, 'all 60 after redelivery');
    expect(failures).toBe(2);
    expect(h.states.filter((s) => s === 'connected').length).toBeGreaterThanOrEqual(3); // reconnected after each failure
    await driver.stop();
    h.buffer.close();
  });
});
