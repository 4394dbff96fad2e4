/**
 * The ingest transport conformance suite on JetStream: a nats-server of the test's own
 * (test/helpers/nats-cluster.ts, one node with JetStream and an MQTT listener, never 4222).
 * Each case has its own topic prefix, so its own pair of streams and its own consumer.
 */
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { JetStreamTransport, JETSTREAM_TRANSPORT_DEFAULTS } from '../../agent/fleet/ingest/index.ts';
import { jetstreamDefaults } from '../../config/fleet-schema.ts';
import { NO_CREDENTIALS } from '../../agent/tls-files.ts';
import { natsServer, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.ts';
import { ingestTransportSuite, type TransportSetup } from './fleet-ingest-transport.ts';

const ACK_WAIT_S = 2;
let cluster: NatsCluster | undefined;

/** Stream names of the prefix's own (streams may not share subjects, and names are global). */
function streams(prefix: string): { stream: string; stateStream: string } {
  const tag = prefix.replace(/[^A-Za-z0-9]/g, '_').slice(-40);
  return { stream: `W_${tag}`, stateStream: `S_${tag}` };
}

function transport(s: TransportSetup): JetStreamTransport {
  if (!cluster) throw new Error('no cluster');
  return new JetStreamTransport({
    ...JETSTREAM_TRANSPORT_DEFAULTS,
    servers: cluster.natsUrls,
    name: `test-${s.id}`,
    topicPrefix: s.prefix,
    group: s.group,
    ...NO_CREDENTIALS,
    jetstream: { ...jetstreamDefaults(), ...streams(s.prefix), ackWaitS: ACK_WAIT_S, storage: 'file' },
    maxPending: s.maxPending ?? 100,
    reconnectMs: 200,
    lagIntervalMs: 200,
    fetchExpiresMs: 1000,
  });
}

ingestTransportSuite('JetStream', {
  setup: async () => {
    if (!(await natsServer()).available) return false;
    cluster = await startNatsCluster({ size: 1, name: 'ingest-conf' });
    return true;
  },
  teardown: async () => {
    await cluster?.stop();
  },
  transport,
  mqttUrl: () => cluster?.mqttUrls[0] ?? '',
  restartBroker: async () => {
    await cluster?.restart(0);
  },
  ackWaitMs: ACK_WAIT_S * 1000,
  crashMember: async (s, n) => {
    const nc = await connect({ servers: cluster?.natsUrls ?? [] });
    const consumer = await jetstream(nc).consumers.get(streams(s.prefix).stream, s.group);
    let taken = 0;
    for await (const _m of await consumer.fetch({ max_messages: n, expires: 3000 })) {
      if (++taken === n) break;
    }
    // no ack, no nak: the connection just ends, as a killed process's would
    await nc.close();
    return taken;
  },
});
