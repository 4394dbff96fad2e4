/**
 * A fleet worker (`shopfloor-agent fleet`, `broker.url: nats://…`) started while the JetStream
 * cluster cannot answer (two of three nodes down: no quorum) keeps trying, as its transport says
 * ("else it keeps trying in the background", "reconnects forever"), and becomes healthy once the
 * quorum is back: the whole process, where fleet-jetstream-boot.test.ts checks the transport
 * (before 7231b4c the process exited with code 1 on the first JetStream API timeout).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgres, waitFor } from '../helpers/index.ts';
import { dropSchema, PG_TEST_URL, testSchema } from '../helpers/fleet-messages.ts';
import { natsServer, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.ts';
import { FleetChild } from './fleet-agents-helpers.ts';
import { freePort } from './fleet-agents-ports.ts';

describe('a JetStream fleet worker started without a JetStream quorum', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-fleet-js-start-'));
  const schema = testSchema('js_start');
  const tag = Math.random().toString(36).slice(2, 8);
  let ready = false;
  let cluster: NatsCluster | undefined;
  let fleet: FleetChild | undefined;

  beforeAll(async () => {
    ready = (await postgres()).available && (await natsServer()).available;
    if (!ready && process.env.CI === 'true') throw new Error('PostgreSQL and nats-server are required in CI');
  });
  afterAll(async () => {
    await fleet?.kill('SIGKILL');
    await cluster?.stop();
    if (ready) await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps trying and becomes healthy once the quorum is back', { timeout: 90_000 }, async ({ skip }) => {
    if (!ready) skip();
    const c = await startNatsCluster({ size: 3, name: `jss${tag}` });
    cluster = c;
    await c.kill(0);
    await c.kill(1);
    const f = new FleetChild({ id: `jss-${tag}`, brokerUrl: c.natsUrls.join(','), prefix: `pjss${tag}`, group: `g${tag}`, dataDir: join(dir, 'fleet'), dbUrl: PG_TEST_URL, schema, port: await freePort(), jetstream: `stream: W_${tag}, stateStream: S_${tag}, replicas: 3, ackWaitS: 5` });
    fleet = f;
    // long enough for its JetStream requests to time out against the one node left
    await new Promise((r) => setTimeout(r, 10_000));
    await c.restart(0);
    await c.restart(1);
    await waitFor(() => f.proc.exitCode !== null || f.healthy(), 40_000, 'the worker healthy (or gone)', 250).catch(() => undefined);
    expect(f.proc.exitCode, `the worker exited:\n${f.output.slice(-1500)}`).toBeNull();
    expect(await f.healthy()).toBe(true);
  });
});
