/**
 * Faults between real agents and real fleet processes, each ending with every sample stored
 * exactly once in PostgreSQL (ids 1..n of each agent's instance, none twice):
 *   (a) an agent's uplink is cut for a while (a TCP proxy in front of Mosquitto refuses it),
 *       its backlog grows, and it replays the backlog when the uplink is back;
 *   (b) one of the two fleet processes sharing the subscription is killed with SIGKILL while
 *       batches flow: the other carries on storing its share; Mosquitto queues the killed
 *       one's share in its persistent session, so the confirmations (contiguous ids) wait until
 *       it is restarted with its id; what it had received and not committed comes again.
 * All along, each agent's retention (a tiny `retainDays`) deletes confirmed samples and never an
 * unconfirmed one: the agents' buffers are polled read-only for it (fleet-agents-rig.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquitto, MOSQUITTO_URL, postgres, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { dropSchema, PG_TEST_URL, testSchema } from '../helpers/fleet-messages.ts';
import { startUplink, type Uplink } from './forward-helpers.ts';
import { agentBuffer, agentHealth, waitConfirmed } from './fleet-agents-helpers.ts';
import { Rig } from './fleet-agents-rig.ts';

describe('faults between agents and fleet processes', () => {
  const schema = testSchema('faults');
  const fleetId = `ff-${process.pid}`;
  let ready = false;
  let uplink: Uplink | undefined;
  let rig: Rig | undefined;

  beforeAll(async () => {
    ready = (await mosquitto()).available && (await postgres()).available;
    if (!ready) {
      if (process.env.CI === 'true') throw new Error('Mosquitto and PostgreSQL are required in CI');
      return;
    }
    const up = await startUplink({ host: '127.0.0.1', port: Number(new URL(MOSQUITTO_URL).port || 1883) }, true);
    uplink = up;
    rig = new Rig({
      dir: mkdtempSync(join(tmpdir(), 'sfa-fleet-faults-')),
      brokerUrl: MOSQUITTO_URL,
      dbUrl: PG_TEST_URL,
      schema,
      prefix: uniqueTopicPrefix('fleet-faults'),
      sourcePrefix: uniqueTopicPrefix('fleet-faults-src'),
      fleetId,
      // site-1 forwards through the uplink the test cuts
      upstreamUrl: (i) => (i === 0 ? `mqtt://127.0.0.1:${up.port}` : undefined),
    });
    await rig.start();
  }, 90_000);

  afterAll(async () => {
    await rig?.close();
    await uplink?.close();
    if (ready) await dropSchema(schema);
  });

  it('(a) an agent replays its backlog after its uplink was down', { timeout: 60_000 }, async ({ skip }) => {
    if (!ready || !rig || !uplink) skip();
    const r = rig as Rig;
    await r.publish(60);
    uplink?.down();
    await r.publish(60);
    const [cut, other] = r.agents as [Rig['agents'][number], Rig['agents'][number]];
    await waitFor(() => agentBuffer(cut.s.dir).lastId === r.published, 20_000, 'the cut agent committed everything', 100);
    // the cut agent holds its backlog, unconfirmed, while the other is confirmed to the end
    await waitConfirmed(other.port, r.published, 20_000, 'the connected agent confirmed');
    // retention ticks while the backlog, unconfirmed, grows older than retainDays (~4 s)
    await new Promise((res) => setTimeout(res, 6000));
    const h = await agentHealth(cut.port);
    expect(h.upstream.state).not.toBe('connected');
    const confirmed = h.upstream.confirmedId ?? 0;
    expect(confirmed).toBeLessThan(r.published);
    expect(agentBuffer(cut.s.dir).count).toBeGreaterThanOrEqual(r.published - confirmed);
    uplink?.up();
    await r.expectAllOnce();
  });

  it('(b) a fleet process killed with SIGKILL mid-stream: the other carries on', { timeout: 60_000 }, async ({ skip }) => {
    if (!ready || !rig) skip();
    const r = rig as Rig;
    const before = r.published;
    const publishing = r.publish(300);
    // killed while batches flow to both
    await waitFor(async () => ((await agentHealth(r.agents[1]?.port as number)).upstream.confirmedId ?? 0) > before + 200, 20_000, 'batches flowing', 20);
    await r.fleets[0]?.kill('SIGKILL');
    const atKill = await r.storedRows();
    await publishing;
    // the other carries on: it stores its share of what the agents send meanwhile
    await waitFor(async () => (await r.storedRows()) > atKill + 500, 20_000, 'the other fleet process storing', 200);
    expect(await r.fleets[1]?.healthy()).toBe(true);
    // Mosquitto keeps queueing the killed member's share in its persistent session (until
    // broker.sessionExpiryS): it comes back, takes its queue, and the chain closes
    await r.restartFleet(0);
    await r.expectAllOnce();
  });
});
