/** How upstream messages reach the fleet: the transport port and its two implementations. */
import { jetstreamDefaults, type FleetConfig } from '../../../config/fleet-schema.ts';
import { JETSTREAM_TRANSPORT_DEFAULTS, JetStreamTransport } from './jetstream-transport.ts';
import { MQTT_TRANSPORT_DEFAULTS, MqttTransport } from './mqtt-transport.ts';
import type { IngestTransport } from './transport.ts';

export type { BrokerState, ConsumerLag, IngestHooks, IngestTransport } from './transport.ts';
export { JetStreamTransport, JETSTREAM_TRANSPORT_DEFAULTS } from './jetstream-transport.ts';
export type { JetStreamTransportOptions } from './jetstream-transport.ts';
export { MqttTransport, MQTT_TRANSPORT_DEFAULTS } from './mqtt-transport.ts';
export type { MqttTransportOptions } from './mqtt-transport.ts';
export { jetstreamLayout, subjectOf, topicOf } from './jetstream-streams.ts';

/** The transport `broker.url` names: nats:// → JetStream, mqtt(s):// → MQTT 5. */
export function createTransport(c: FleetConfig): IngestTransport {
  const b = c.broker;
  const common = { topicPrefix: b.topicPrefix, group: b.group, username: b.username, password: b.password, ca: b.ca, cert: b.cert, key: b.key, rejectUnauthorized: b.rejectUnauthorized, maxPending: c.ingest.maxPending };
  if (b.url.startsWith('nats://')) {
    return new JetStreamTransport({
      ...common,
      servers: b.url.split(','),
      name: `shopfloor-fleet-${c.fleet.id}`,
      jetstream: b.jetstream ?? jetstreamDefaults(),
      ...JETSTREAM_TRANSPORT_DEFAULTS,
    });
  }
  return new MqttTransport({
    ...common,
    url: b.url,
    clientId: `shopfloor-fleet-${c.fleet.id}`,
    sessionExpiryS: b.sessionExpiryS,
    mqttVersion: b.mqttVersion,
    shared: b.shared,
    ...MQTT_TRANSPORT_DEFAULTS,
  });
}
