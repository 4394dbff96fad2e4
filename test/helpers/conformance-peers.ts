/** What the conformance tests (test/conformance/) share: an MQTT publisher, a Sparkplug edge node, an MQTT source block. */
import mqtt from 'mqtt';
import { SparkplugCodec } from '../../drivers/sparkplug/index.ts';
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
