/**
 * A fleet worker started before JetStream can serve it (systemd starts both at boot; a cluster
 * has no meta leader until a quorum of nodes is up): the transport keeps trying to set its
 * streams up, says `disconnected` meanwhile, and consumes once the cluster has its quorum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { JetStreamTransport, JETSTREAM_TRANSPORT_DEFAULTS, type BrokerState } from '../../agent/fleet/ingest/index.ts';
import { jetstreamDefaults } from '../../config/fleet-schema.ts';
import { NO_CREDENTIALS } from '../../agent/tls-files.ts';
import { waitFor } from '../helpers/index.ts';
import { natsServer, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.ts';

let cluster: NatsCluster | undefined;
let available = false;

beforeAll(async () => {
  available = (await natsServer()).available;
  if (available) cluster = await startNatsCluster({ size: 3, name: 'boot' });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('a JetStream worker started before the cluster can serve it', () => {
  it('keeps setting its streams up until the cluster has a quorum, then consumes', async ({ skip }) => {
    if (!available || !cluster) skip();
    const c = cluster as NatsCluster;
    // two of three nodes down: no meta leader, no stream can be created
    await c.kill(1);
    await c.kill(2);
    const states: BrokerState[] = [];
    const got: string[] = [];
    const prefix = `boot${process.pid}`;
    const t = new JetStreamTransport({
      ...JETSTREAM_TRANSPORT_DEFAULTS,
      servers: c.natsUrls,
      name: 'boot-test',
      topicPrefix: prefix,
      group: 'boot',
      ...NO_CREDENTIALS,
      jetstream: { ...jetstreamDefaults(), stream: `W_${prefix}`, stateStream: `S_${prefix}`, replicas: 3, ackWaitS: 5 },
      maxPending: 10,
      reconnectMs: 200,
      connectTimeoutMs: 2000,
      lagIntervalMs: 200,
      fetchExpiresMs: 1000,
    });
    try {
      await t.start({
        onMessage: (topic, payload, ack) => {
          got.push(`${topic} ${payload.toString('utf8')}`);
          ack();
        },
        onState: (s) => states.push(s),
      });
      // start() returned after its timeout without a layout: not connected; and it stays so while
      // the cluster has no quorum, longer than a JetStream API request waits (5 s)
      await waitFor(() => states.at(-1) === 'disconnected', 30_000, 'disconnected while JetStream cannot serve');
      await new Promise((r) => setTimeout(r, 12_000));
      expect(states.at(-1)).toBe('disconnected');
      await c.restart(1);
      await c.restart(2);
      await waitFor(() => states.at(-1) === 'connected', 60_000, 'the worker set up once the cluster had a quorum');
      await c.waitStreamLeader(`W_${prefix}`, 30_000);
      // an agent publishes through the MQTT listener, as agents do
      const agent = await mqtt.connectAsync(c.mqttUrls[0] as string, { protocolVersion: 4, clean: true, clientId: `boot-agent-${process.pid}` });
      try {
        await waitFor(
          async () => {
            if (got.length > 0) return true;
            await agent.publishAsync(`${prefix}/site-a/edge-1/samples`, '{"probe":1}', { qos: 1 });
            return false;
          },
          30_000,
          'a message consumed after the late set-up',
          500,
        );
      } finally {
        await agent.endAsync();
      }
      expect(got[0]).toBe(`${prefix}/site-a/edge-1/samples {"probe":1}`);
    } finally {
      await t.stop();
    }
  }, 180_000);
});
