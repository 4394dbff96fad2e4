/**
 * A real agent (`shopfloor-agent run`, MQTT 3.1.1 QoS 1 upstream, `confirm: fleet`) whose
 * `upstream.url` is the MQTT listener of a nats-server with JetStream (README "Fleet on NATS
 * JetStream"): every sample of its buffer lands in a stream capturing `{p}.*.*.samples`, its
 * status is retained `online` while it runs and its Last Will `offline` once it is killed. And
 * what a machine id with a "." does there (nats-server 2.9 refuses such a topic and closes the
 * connection): the agent connects, says online, and forwards no sample, again and again.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquitto, MOSQUITTO_URL, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { natsServer, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.ts';
import { wireConnect, type WireClient } from '../helpers/nats-wire.ts';
import { createStream, streamMessages } from '../helpers/jetstream-api.ts';
import { AgentChild } from './agent-child.ts';
import { agentBuffer, agentHealth, agentYaml, closedHours, mqttClient, publishTelemetry, startAgent, telemetry, type SiteSetup } from './fleet-agents-helpers.ts';

const need = await natsServer();
const broker = await mosquitto();

describe.skipIf(!need.available)('an agent forwarding to the NATS MQTT listener', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-nats-agent-'));
  const prefix = `sfan${process.pid}${Math.random().toString(36).slice(2, 6)}`;
  const stream = `SFA_${prefix}`;
  let cluster: NatsCluster;
  let nc: WireClient;
  let agent: { child: AgentChild; port: number } | undefined;
  let s: SiteSetup;

  beforeAll(async () => {
    cluster = await startNatsCluster({ size: 1, name: 'agent' });
    nc = await wireConnect(cluster.natsUrls[0] as string);
    await createStream(nc, { name: stream, subjects: [`${prefix}.*.*.samples`, `${prefix}.*.*.status`, `${prefix}.*.*.hours.*`], num_replicas: 1 });
    // the agent's MQTT source reads the same listener, under a prefix of its own
    s = { site: 'site-a', agent: 'edge-1', dir: join(dir, 'a'), upstreamUrl: cluster.mqttUrls[0] as string, prefix, sourceUrl: cluster.mqttUrls[0] as string, sourcePrefix: `${prefix}src`, batchSize: 25 };
    agent = await startAgent(s);
  }, 90_000);
  afterAll(async () => {
    agent?.child.kill();
    nc?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every sample of the agent lands in the stream; status online, then offline (Last Will) when it is killed', async () => {
    const a = agent as { child: AgentChild; port: number };
    await waitFor(async () => (await agentHealth(a.port)).upstream.state === 'connected', 30_000, 'the agent connected upstream');
    const { from } = closedHours(2);
    const src = await mqttClient(s.sourceUrl);
    await publishTelemetry(src, s.sourcePrefix, s.site, 'm1', telemetry(0, 'm1', from, from + 40 * 60_000));
    await src.endAsync();
    const n = await waitFor(async () => {
      const h = await agentHealth(a.port);
      return h.buffer.samples > 0 && h.upstream.ackedId === h.buffer.samples ? h.buffer.samples : undefined;
    }, 60_000, 'the agent to have every sample acknowledged by the listener', 200);
    await new Promise((r) => setTimeout(r, 2_000)); // let the buffer settle: nothing more arrives
    const buf = agentBuffer(s.dir);
    expect(buf.count).toBe(n);

    const msgs = await streamMessages(nc, stream);
    const ids = new Set<number>();
    for (const m of msgs.filter((x) => x.subject === `${prefix}.site-a.edge-1.samples`)) {
      const body = JSON.parse(m.data.toString('utf8')) as { instance: string; site: string; agent: string; samples: { id: number }[] };
      expect(body).toMatchObject({ instance: buf.instance, site: 'site-a', agent: 'edge-1' });
      for (const x of body.samples) ids.add(x.id);
    }
    expect(ids.size).toBe(n);
    expect(Math.min(...ids)).toBe(1);
    expect(Math.max(...ids)).toBe(n);
    const status = (): string[] => msgs.filter((x) => x.subject === `${prefix}.site-a.edge-1.status`).map((x) => x.data.toString());
    expect(status()).toContain('online');

    a.child.kill(); // SIGKILL: no DISCONNECT, the listener publishes the will
    await waitFor(async () => {
      const all = await streamMessages(nc, stream);
      const st = all.filter((x) => x.subject === `${prefix}.site-a.edge-1.status`).map((x) => x.data.toString());
      return st[st.length - 1] === 'offline';
    }, 20_000, 'the Last Will offline in the stream');
    agent = undefined;
  }, 120_000);

  it.skipIf(!broker.available)('an agent with a "." in a machine id forwards nothing: the listener closes connection after connection at its first dotted topic', async () => {
    const d = join(dir, 'dotted');
    mkdirSync(d, { recursive: true });
    const sourcePrefix = uniqueTopicPrefix('nats-dotted-src');
    const yaml = agentYaml({ site: 'site-d', agent: 'edge-d', dir: d, upstreamUrl: cluster.mqttUrls[0] as string, prefix, sourceUrl: MOSQUITTO_URL, sourcePrefix }).replace('{ id: m1,', '{ id: press.1,');
    expect(yaml).toContain('id: press.1,');
    writeFileSync(join(d, 'agent.yaml'), yaml);
    const child = new AgentChild(['run', '-c', join(d, 'agent.yaml')], { SFA_FROM_SOURCE: '1' });
    try {
      const port = await child.httpPort();
      await waitFor(async () => ((await agentHealth(port)) as unknown as { sources: { state: string }[] }).sources[0]?.state === 'connected', 20_000, 'source connected', 100);
      const { from } = closedHours(2);
      const src = await mqttClient(MOSQUITTO_URL);
      await publishTelemetry(src, sourcePrefix, 'site-d', 'press.1', telemetry(0, 'm1', from, from + 20 * 60_000));
      await src.endAsync();
      await waitFor(async () => (await agentHealth(port)).buffer.samples >= 80, 20_000, 'the samples in the buffer', 100);
      // connection after connection, each closed by the listener at a dotted topic
      const refused = (): number => cluster.logTail(0, 2_000).split('\n').filter((l) => l.includes('"sfa-site-d-edge-d"') && l.includes("characters ' ' and '.' not supported for MQTT topics")).length;
      await waitFor(() => refused() >= 3, 30_000, 'the agent refused again and again');
      const online = (await streamMessages(nc, stream)).filter((m) => m.subject === `${prefix}.site-d.edge-d.status` && m.data.toString() === 'online');
      expect(online.length).toBeGreaterThanOrEqual(1);
      const h = await agentHealth(port);
      expect(h.upstream.ackedId ?? 0).toBe(0);
      expect((await streamMessages(nc, stream)).filter((m) => m.subject === `${prefix}.site-d.edge-d.samples`)).toEqual([]);
    } finally {
      child.kill();
    }
  }, 90_000);
});
