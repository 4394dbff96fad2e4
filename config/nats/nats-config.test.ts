/**
 * The example 3-node cluster of config/nats/ (README "Fleet on NATS JetStream") cannot rot:
 * nats-server accepts each file as it is (-t), and the three files, with only their ports and
 * store folders moved to free ones, form a cluster whose MQTT listeners put an agent's QoS 1
 * samples into a stream of 3 replicas, with the listener's own streams on 3 replicas too.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsServer, NATS_SERVER_BIN, startNatsCluster, type NatsCluster, type NatsNode } from '../../test/helpers/nats-cluster.ts';
import { wireConnect, type WireClient } from '../../test/helpers/nats-wire.ts';
import { createStream, streamInfo, streamMessages, waitStreamCount } from '../../test/helpers/jetstream-api.ts';

const need = await natsServer();
const file = (i: number): string => fileURLToPath(new URL(`./nats-${i}.conf`, import.meta.url));
const EXAMPLE = [1, 2, 3].map((i) => readFileSync(file(i), 'utf8'));

/** the example's ports of node i (0-based): client, monitoring, MQTT, route */
const examplePorts = (i: number): [number, number, number, number] => [4222 + i, 8222 + i, 1884 + i, 6222 + i];

/** node i's example file with its ports and store folder moved to the test's own */
function rewritten(node: NatsNode, all: readonly NatsNode[]): string {
  let text = EXAMPLE[node.index] as string;
  for (const n of all) {
    const want = [n.clientPort, n.httpPort, n.mqttPort, n.routePort];
    examplePorts(n.index).forEach((from, k) => {
      text = text.replaceAll(`127.0.0.1:${from}`, `127.0.0.1:${want[k] as number}`);
    });
  }
  text = text.replace(/store_dir: "[^"]*"/, `store_dir: "${node.storeDir}"`);
  return `${text}\nlog_file: "${node.logFile}"\n`;
}

describe('config/nats example files', () => {
  it('each file names its own server, listens on its own ports, and routes to all three', () => {
    EXAMPLE.forEach((text, i) => {
      const [client, http, mq, route] = examplePorts(i);
      expect(text).toMatch(new RegExp(`^server_name: nats-${i + 1}$`, 'm'));
      expect(text).toContain(`listen: 127.0.0.1:${client}`);
      expect(text).toContain(`http: 127.0.0.1:${http}`);
      expect(text).toContain(`listen: 127.0.0.1:${mq}`);
      expect(text).toContain(`listen: 127.0.0.1:${route}`);
      for (const r of [6222, 6223, 6224]) expect(text).toContain(`nats-route://127.0.0.1:${r}`);
      expect(text).toMatch(/stream_replicas: 3/);
      expect(text).toContain(`store_dir: "/var/lib/shopfloor-nats/nats-${i + 1}"`);
    });
  });

  it.skipIf(!need.available)('nats-server accepts each file as it is (-t)', () => {
    for (const i of [1, 2, 3]) {
      const r = spawnSync(NATS_SERVER_BIN, ['-t', '-c', file(i)], { encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`, `nats-${i}.conf`).toContain('is valid');
      expect(r.status).toBe(0);
    }
  });
});

describe.skipIf(!need.available)('config/nats example cluster, ports moved', () => {
  let cluster: NatsCluster;
  let nc: WireClient;
  const prefix = `sfac${process.pid}`;

  beforeAll(async () => {
    cluster = await startNatsCluster({ size: 3, name: 'nats', configText: rewritten });
    nc = await wireConnect(cluster.natsUrls[2] as string);
  }, 60_000);
  afterAll(async () => {
    nc?.close();
    await cluster?.stop();
  });

  it('forms one cluster; an agent-like QoS 1 publish on a listener lands in a stream of 3 replicas', async () => {
    const meta = await Promise.all([0, 1, 2].map(async (i) => (await cluster.jsz(i)).meta_cluster));
    expect(meta.map((m) => m?.cluster_size)).toEqual([3, 3, 3]);
    expect(new Set(meta.map((m) => m?.leader)).size).toBe(1);
    const info = await createStream(nc, { name: 'SFA_EXAMPLE', subjects: [`${prefix}.*.*.samples`], num_replicas: 3 });
    expect(info.config?.num_replicas).toBe(3);

    const c = await mqtt.connectAsync(cluster.mqttUrls[0] as string, { protocolVersion: 4, clientId: `sfa-example-${process.pid}`, clean: false, reconnectPeriod: 0 });
    await c.publishAsync(`${prefix}/site-a/edge-1/samples`, '{"firstId":1}', { qos: 1 });
    await c.endAsync();
    await waitStreamCount(nc, 'SFA_EXAMPLE', 1);
    expect((await streamMessages(nc, 'SFA_EXAMPLE')).map((m) => m.subject)).toEqual([`${prefix}.site-a.edge-1.samples`]);
    // mqtt.stream_replicas: 3 reached the listener's own streams
    for (const s of ['$MQTT_sess', '$MQTT_msgs', '$MQTT_rmsgs']) expect((await streamInfo(nc, s)).config?.num_replicas, s).toBe(3);
  }, 60_000);
});
