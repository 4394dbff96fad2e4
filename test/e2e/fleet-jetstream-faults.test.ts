/**
 * Issue "Fleet scale-out on NATS JetStream", the faults, each ending with every sample stored
 * exactly once in PostgreSQL (ids 1..n of each agent's instance, none twice) and every agent
 * confirmed to its last id, retention never deleting an unconfirmed sample (fleet-agents-rig.ts).
 * Three real agents publish through the MQTT listeners of a 3-node JetStream cluster, two fleet
 * worker processes share the group's durable consumer (streams with replicas 3, ackWaitS 3), and
 * PostgreSQL is a cluster of the test's own:
 *   (a) the node leading the work stream is killed with SIGKILL mid-stream and restarted;
 *   (b) a worker is killed with SIGKILL holding a batch it has not acknowledged: JetStream
 *       delivers it again, after the ack wait, to the other worker;
 *   (c) PostgreSQL is restarted mid-stream.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquitto, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { natsServer, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.ts';
import { wireConnect, type WireClient } from '../helpers/nats-wire.ts';
import { agentHealth, type FleetChild } from './fleet-agents-helpers.ts';
import { Rig } from './fleet-agents-rig.ts';
import { privatePostgresMissing, startPrivatePostgres, type PrivatePostgres } from './private-postgres.ts';

const TAG = Math.random().toString(36).slice(2, 8);
const STREAM = `W_${TAG}`;
const ACK_WAIT_S = 3;

interface ConsumerInfo {
  num_pending?: number;
  num_ack_pending?: number;
  num_redelivered?: number;
  error?: { description: string };
}

describe('faults on the JetStream fleet (3 nodes, replicas 3, two workers, own PostgreSQL)', () => {
  let ready = false;
  let cluster: NatsCluster | undefined;
  let pgsql: PrivatePostgres | undefined;
  let rig: Rig | undefined;
  let nc: WireClient | undefined;

  beforeAll(async () => {
    const missing = privatePostgresMissing();
    ready = (await mosquitto()).available && (await natsServer()).available && missing === undefined;
    if (!ready) {
      if (process.env.CI === 'true') throw new Error(`Mosquitto, a private PostgreSQL (${missing ?? 'ok'}) and nats-server are required in CI`);
      return;
    }
    cluster = await startNatsCluster({ size: 3, name: `jsf${TAG}`, mqtt: { streamReplicas: 3 } });
    pgsql = await startPrivatePostgres();
    const c = cluster;
    rig = new Rig({
      dir: mkdtempSync(join(tmpdir(), 'sfa-fleet-js-faults-')),
      brokerUrl: c.natsUrls.join(','),
      dbUrl: pgsql.url,
      schema: `jsf_${TAG}`,
      prefix: uniqueTopicPrefix('fleet-js-faults'),
      sourcePrefix: uniqueTopicPrefix('fleet-js-faults-src'),
      fleetId: `jsf-${process.pid}`,
      sites: ['site-1', 'site-2', 'site-3'],
      // each agent on another node's listener
      upstreamUrl: (i) => c.mqttUrls[i % 3],
      fleetJetstream: `stream: ${STREAM}, stateStream: S_${TAG}, replicas: 3, ackWaitS: ${ACK_WAIT_S}`,
      // a worker holds what it received this long before its COMMIT and ack
      fleetBatchMs: 400,
    });
    await rig.start();
  }, 120_000);

  afterAll(async () => {
    nc?.close();
    try {
      await rig?.close();
    } finally {
      // the servers go even when the rig never started
      await cluster?.stop();
      pgsql?.close();
    }
  });

  /** a worker's messages received and not yet acknowledged (its /metrics) */
  const held = async (f: FleetChild): Promise<number> => {
    const text = await fetch(`http://127.0.0.1:${f.s.port}/metrics`)
      .then((res) => res.text())
      .catch(() => '');
    return Number(/^shopfloor_fleet_pending_messages(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
  };
  /** the group's consumer, asked through a node that runs (the one asked before may have been killed) */
  const consumer = async (): Promise<ConsumerInfo> => {
    const c = cluster as NatsCluster;
    if (!nc || nc.closed()) {
      nc?.close();
      const at = c.nodes.findIndex((n) => c.running(n.index));
      nc = await wireConnect(c.natsUrls[at] as string);
    }
    return nc.api<ConsumerInfo>(`$JS.API.CONSUMER.INFO.${STREAM}.${(rig as Rig).group}`, undefined, 3_000);
  };

  it('(a) the work stream\'s leader node killed mid-stream and restarted', { timeout: 90_000 }, async ({ skip }) => {
    if (!ready) skip();
    const r = rig as Rig;
    const c = cluster as NatsCluster;
    await r.publish(20);
    const leader = await c.waitStreamLeader(STREAM);
    const before = r.published;
    const publishing = r.publish(150, 20);
    // killed while the fleet stores and confirms the new samples, and the agents still publish
    await waitFor(async () => ((await agentHealth(r.agents[0]?.port as number)).upstream.confirmedId ?? 0) > before, 30_000, 'the new samples confirmed as they flow', 20);
    await c.kill(leader);
    expect(r.published, 'still publishing at the kill').toBeLessThan(before + 8 * 150);
    // the two others elect a new leader and the work goes on
    const next = await waitFor(async () => {
      const l = await c.streamLeader(STREAM);
      return l !== undefined && l !== leader ? l : undefined;
    }, 20_000, 'a new leader of the work stream');
    expect(next).not.toBe(leader);
    await publishing;
    await c.restart(leader);
    await c.waitStreamCurrent(STREAM);
    await r.expectAllOnce(60_000);
  });

  it('(b) a worker killed with SIGKILL holding an unacknowledged batch: it is delivered again to the other', { timeout: 240_000 }, async ({ skip }) => {
    if (!ready) skip();
    const r = rig as Rig;
    let redelivered = 0;
    const poll = setInterval(() => {
      void consumer()
        .then((ci) => (redelivered = Math.max(redelivered, ci.num_redelivered ?? 0)))
        .catch(() => undefined);
    }, 50);
    try {
      // /metrics may show messages held a moment before their COMMIT and ack: a kill that lands
      // just after them leaves nothing to deliver again, so the kill is tried again (at most 3 times)
      for (let attempt = 1; attempt <= 3 && redelivered === 0; attempt++) {
        const victim = r.fleets[0] as FleetChild;
        const publishing = r.publish(150, 5);
        try {
          // killed the moment it holds messages it received and has not committed (nor acknowledged)
          await waitFor(async () => (await held(victim)) > 0, 20_000, `${victim.s.id} holding unacknowledged messages`, 5);
          await victim.kill('SIGKILL');
          await publishing;
          // the survivor alone stores everything, the killed one's share included
          await r.expectAllOnce(60_000);
          expect(await r.fleets[1]?.healthy()).toBe(true);
        } finally {
          await publishing.catch(() => undefined);
          await r.restartFleet(0);
        }
      }
      expect(redelivered, 'messages JetStream delivered again after the ack wait').toBeGreaterThan(0);
    } finally {
      clearInterval(poll);
    }
  });

  it('(c) PostgreSQL restarted mid-stream', { timeout: 90_000 }, async ({ skip }) => {
    if (!ready) skip();
    const r = rig as Rig;
    const db = pgsql as PrivatePostgres;
    const publishing = r.publish(150, 10);
    await waitFor(async () => ((await consumer()).num_ack_pending ?? 0) > 0, 20_000, 'batches flowing', 10);
    db.stop();
    await new Promise((res) => setTimeout(res, 3_000));
    db.start();
    await publishing;
    await r.expectAllOnce(60_000);
    for (const f of r.fleets) await waitFor(() => f.healthy(), 30_000, `${f.s.id} healthy again`, 200);
  });
});
