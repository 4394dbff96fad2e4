/**
 * The test NATS cluster itself: three nodes come up with a JetStream meta leader and an MQTT
 * listener each; a node killed with SIGKILL is restarted on the same ports and store and rejoins.
 */
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpReachable, waitFor } from './peers.ts';
import { natsServer, startNatsCluster, type NatsCluster } from './nats-cluster.ts';

const need = await natsServer();

describe.skipIf(!need.available)('test NATS cluster (3 nodes)', () => {
  let cluster: NatsCluster;

  beforeAll(async () => {
    cluster = await startNatsCluster({ size: 3, name: 'helper', mqtt: { streamReplicas: 3 } });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('comes up with three nodes, one meta leader, and an MQTT listener on each', async () => {
    expect(cluster.natsUrls).toHaveLength(3);
    expect(cluster.natsUrls.some((u) => u.endsWith(':4222'))).toBe(false);
    const leaders = new Set<string | undefined>();
    for (let i = 0; i < 3; i++) {
      const j = await cluster.jsz(i);
      expect(j.meta_cluster?.cluster_size).toBe(3);
      leaders.add(j.meta_cluster?.leader);
    }
    expect(leaders.size).toBe(1);
    for (const n of cluster.nodes) expect(await tcpReachable('127.0.0.1', n.mqttPort)).toBe(true);
    // an MQTT session makes the listener create its $MQTT_ streams (replicas 3): the leader is findable
    const c = connect(cluster.mqttUrls[1] as string, { protocolVersion: 4, clientId: 'helper-probe', reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    await c.endAsync();
    const leader = await cluster.waitStreamLeader('$MQTT_sess');
    expect(cluster.nodes[leader]).toBeDefined();
  }, 30_000);

  it('a node killed with SIGKILL is restarted on the same ports and rejoins the cluster', async () => {
    const victim = (await cluster.streamLeader('$MQTT_sess')) ?? 0;
    await cluster.kill(victim);
    expect(cluster.running(victim)).toBe(false);
    expect(await tcpReachable('127.0.0.1', cluster.nodes[victim]!.clientPort)).toBe(false);
    // the two others elect a new stream leader
    const next = await waitFor(async () => {
      const l = await cluster.streamLeader('$MQTT_sess');
      return l !== undefined && l !== victim ? l : undefined;
    }, 20_000, 'a new $MQTT_sess leader');
    expect(next).not.toBe(victim);
    await cluster.restart(victim);
    expect(cluster.running(victim)).toBe(true);
    await cluster.waitHealthy();
    // the restarted node sees the cluster again and holds a current replica of the stream
    const j = await cluster.jsz(victim, 'accounts=true&streams=true');
    expect(j.meta_cluster?.leader).toBeTruthy();
    const detail = j.account_details?.flatMap((a) => a.stream_detail ?? []).find((s) => s.name === '$MQTT_sess');
    expect(detail).toBeDefined();
  }, 60_000);
});
