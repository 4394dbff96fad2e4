/**
 * The fleet bench's agent, in a process of its own as agents are: connects to Mosquitto, encodes
 * the batches the bench asks for before any clock starts, then publishes all of them (QoS 1) on
 * each `publish` message from the bench and answers once the broker has acknowledged every one.
 * Started by fleet.bench.ts with `agent/cli/run-ts.mjs` and an IPC channel.
 */
import mqtt from 'mqtt';
import { samplesMessage } from '../helpers/fleet-messages.ts';
import { MOSQUITTO_URL } from '../helpers/peers.ts';

export interface PublisherSetup {
  topic: string;
  instance: string;
  batches: number;
  perBatch: number;
}

export type PublisherRequest = { publish: true } | { end: true };
export type PublisherReply = { ready: true } | { published: true; cpuUs: number };

const setup = JSON.parse(process.argv[2] ?? '{}') as PublisherSetup;
const reply = (m: PublisherReply): void => {
  process.send?.(m);
};

const client = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `sfa-bench-agent-${process.pid}`, clean: true });
const payloads = Array.from({ length: setup.batches }, (_, i) =>
  Buffer.from(JSON.stringify(samplesMessage({ instance: setup.instance, prevLastId: i * setup.perBatch, firstId: i * setup.perBatch + 1, lastId: (i + 1) * setup.perBatch }))),
);
// an agent is a long-running process: MQTT.js's publish path is warmed (JIT) on a topic nobody
// reads before the bench's clock starts, so the first batches are not sent by cold code
for (const p of payloads.slice(0, 50)) await client.publishAsync(`${setup.topic}-warm-up/${process.pid}`, p, { qos: 1 });
process.on('message', (m: PublisherRequest) => {
  if ('end' in m) {
    void client.endAsync().then(() => process.exit(0));
    return;
  }
  const cpu = process.cpuUsage();
  void (async () => {
    // one publish per event-loop turn, as an agent's forwarder sends batch after batch: all 200
    // in one synchronous loop held the first on this side for ~65 ms while MQTT.js encoded the rest
    const acked: Promise<unknown>[] = [];
    for (const p of payloads) {
      acked.push(client.publishAsync(setup.topic, p, { qos: 1 }));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(acked);
    const used = process.cpuUsage(cpu);
    reply({ published: true, cpuUs: used.user + used.system });
  })();
});
reply({ ready: true });
