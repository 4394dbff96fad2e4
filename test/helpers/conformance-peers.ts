/** What the conformance tests (test/conformance/) share: an MQTT publisher, a Sparkplug edge node, MQTT and OPC UA sources. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { SparkplugCodec } from '../../drivers/sparkplug/index.ts';
import { OpcuaTestServer } from './opcua-test-server.ts';
import { MOSQUITTO_URL } from './peers.ts';

const suffix = (): string => `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

export function mqttPublisher(): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(MOSQUITTO_URL, { clientId: `sfa-conf-pub-${suffix()}` });
}

type Metrics = Parameters<SparkplugCodec['encode']>[0]['metrics'];

/** An edge node publishing births and data with their seq (QoS 0, as Sparkplug does). */
export function sparkplugNode(pub: mqtt.MqttClient, group: string, node: string): (type: 'NBIRTH' | 'NDATA', metrics: Metrics, ts: number) => Promise<void> {
  const codec = new SparkplugCodec();
  let seq = 0;
  return async (type, metrics, ts) => {
    await pub.publishAsync(`spBv1.0/${group}/${type}/${node}`, Buffer.from(codec.encode({ timestamp: ts, seq: seq++ % 256, metrics })), { qos: 0 });
  };
}

/** The `sources:` item of an MQTT source on the test broker (a clean session of its own) with `body` (topics or sparkplug). */
export function mqttSource(id: string, body: string): string {
  return `
  - id: ${id}
    type: mqtt
    url: ${MOSQUITTO_URL}
    clientId: sfa-conf-${id}-${suffix()}
    clean: true
${body}`;
}

/** A one-tag OPC UA test server (no security) in a PKI folder of its own, and its `sources:` item. */
export async function opcuaPeer(): Promise<{ server: OpcuaTestServer; source(tags: string): string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-conf-ua-'));
  const server = new OpcuaTestServer({ port: 0, pkiDir: join(dir, 'pki'), tags: 1, changeEveryMs: 0, securityModes: ['None'] });
  const endpoint = await server.start();
  return {
    server,
    // exception-based sampling and a deep queue: every value the test sets arrives
    source: (tags) => `
  - id: src
    type: opcua
    endpoint: ${endpoint}
    samplingIntervalMs: 0
    queueSize: 100
    tags:
${tags}`,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
