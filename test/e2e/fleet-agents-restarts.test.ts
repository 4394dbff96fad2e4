/**
 * The central pieces restarted under real agents and real fleet processes, each ending with
 * every sample stored exactly once (ids 1..n of each agent's instance, none twice) and no
 * unconfirmed sample deleted by the agents' retention:
 *   (c) the central broker (a Mosquitto of the test's own, without persistence) is killed while
 *       batches are in flight (the fleets paused with SIGSTOP for a moment, so it holds a queue)
 *       and started again: what it had acknowledged and lost, the agents resend from their
 *       confirmed id (`confirmTimeoutS: 2`);
 *   (d) PostgreSQL (a private cluster on a free port, not the shared server) is stopped
 *       (`-m immediate`) mid-stream and started again: the fleets' commits fail, nothing is
 *       confirmed meanwhile, and everything lands once it is back (the agents may resend
 *       after confirmTimeoutS; the fleet stores a batch twice without effect).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquitto, MOSQUITTO_URL, postgres, uniqueTopicPrefix } from '../helpers/index.ts';
import { dropSchema, PG_TEST_URL, testSchema } from '../helpers/fleet-messages.ts';
import { agentHealth } from './fleet-agents-helpers.ts';
import { Rig } from './fleet-agents-rig.ts';
import { mosquittoBinary, startOwnMosquitto, type OwnMosquitto } from './own-mosquitto.ts';
import { privatePostgresMissing, startPrivatePostgres, type PrivatePostgres } from './private-postgres.ts';

const ci = process.env.CI === 'true';

describe('(c) the central broker restarted without persistence while batches are in flight', () => {
  let broker: OwnMosquitto | undefined;
  let rig: Rig | undefined;
  let ready = false;
  const schema = testSchema('brk');

  beforeAll(async () => {
    ready = mosquittoBinary() && (await mosquitto()).available && (await postgres()).available;
    if (!ready) {
      if (ci) throw new Error('mosquitto and PostgreSQL are required in CI');
      return;
    }
    broker = await startOwnMosquitto();
    rig = new Rig({ dir: mkdtempSync(join(tmpdir(), 'sfa-fleet-brk-')), brokerUrl: broker.url, dbUrl: PG_TEST_URL, schema, prefix: uniqueTopicPrefix('fleet-brk'), sourcePrefix: uniqueTopicPrefix('fleet-brk-src'), fleetId: `fb-${process.pid}`, fleetMaxPending: 4 });
    await rig.start();
  }, 90_000);

  afterAll(async () => {
    await rig?.close();
    await broker?.close();
    if (ready) await dropSchema(schema);
  });

  it('ends with every sample stored exactly once', { timeout: 60_000 }, async ({ skip }) => {
    if (!ready || !rig || !broker) skip();
    const r = rig as Rig;
    const b = broker as OwnMosquitto;
    const flowing = r.publish(120, 20);
    await new Promise((res) => setTimeout(res, 1200));
    // the fleets stop reading for a moment (Receive Maximum 4: the rest waits at the broker):
    // the broker acknowledges the agents' batches and queues them, then dies with its queue
    for (const f of r.fleets) f.proc.kill('SIGSTOP');
    await new Promise((res) => setTimeout(res, 800));
    await b.kill();
    for (const f of r.fleets) f.proc.kill('SIGCONT');
    await new Promise((res) => setTimeout(res, 1000));
    await b.start();
    await flowing;
    await r.expectAllOnce();
    // what the broker had acknowledged to the agents and queued for the fleets was lost with
    // it, and came back only by a resend from the confirmed id
    expect(r.rewinds()).toBeGreaterThan(0);
  });
});

describe('(d) PostgreSQL restarted mid-stream', () => {
  let db: PrivatePostgres | undefined;
  let rig: Rig | undefined;
  let ready = false;

  beforeAll(async () => {
    const missing = privatePostgresMissing();
    ready = missing === undefined && (await mosquitto()).available;
    if (!ready) {
      if (ci) throw new Error(`a private PostgreSQL cluster and Mosquitto are required in CI (${missing ?? 'no mosquitto'})`);
      return;
    }
    db = await startPrivatePostgres();
    rig = new Rig({ dir: mkdtempSync(join(tmpdir(), 'sfa-fleet-pg-')), brokerUrl: MOSQUITTO_URL, dbUrl: db.url, schema: 'fleet', prefix: uniqueTopicPrefix('fleet-pg'), sourcePrefix: uniqueTopicPrefix('fleet-pg-src'), fleetId: `fp-${process.pid}` });
    await rig.start();
  }, 90_000);

  afterAll(async () => {
    await rig?.close();
    db?.close();
  });

  it('ends with every sample stored exactly once', { timeout: 60_000 }, async ({ skip }) => {
    if (!ready || !rig || !db) skip();
    const r = rig as Rig;
    const pgc = db as PrivatePostgres;
    const flowing = r.publish(120, 20);
    await new Promise((res) => setTimeout(res, 1200));
    pgc.stop();
    const confirmedWhileDown = await Promise.all(r.agents.map(async (a) => (await agentHealth(a.port)).upstream.confirmedId ?? 0));
    await new Promise((res) => setTimeout(res, 2000));
    // nothing is confirmed while the database is down
    expect(await Promise.all(r.agents.map(async (a) => (await agentHealth(a.port)).upstream.confirmedId ?? 0))).toEqual(confirmedWhileDown);
    pgc.start();
    await flowing;
    await r.expectAllOnce();
  });
});
