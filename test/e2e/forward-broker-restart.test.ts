/**
 * The central broker is killed (SIGKILL) and restarted without persistence while it holds
 * batches it acknowledged to the agent and queued for the fleet: with `confirm: fleet` the
 * agent kept them (retention, ticking with a tiny retainDays, deletes only confirmed samples),
 * notices that the confirmation stalls behind its acknowledged cursor and resends from the
 * confirmed id; the fleet (played by the test) ends with every sample, contiguous, and with
 * the agent's components of every hour (hour messages lost with the broker are sent again).
 * A Mosquitto of the test's own (own-mosquitto.ts): the shared one is not restarted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import type { Sample } from '../../agent/model/index.ts';
import { IN_CI, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { FakeFleet } from './fake-fleet.ts';
import { mosquittoBinary, startOwnMosquitto, type OwnMosquitto } from './own-mosquitto.ts';

const available = mosquittoBinary();
if (!available && IN_CI) throw new Error('mosquitto is required in CI (apt-get install mosquitto)');
if (!available) console.warn('skipping: no mosquitto binary (apt-get install mosquitto)');

describe.skipIf(!available)('the central broker restarted without persistence, confirm: fleet', () => {
  let dir: string | undefined;
  let broker: OwnMosquitto | undefined;
  let agent: Agent | undefined;
  let fleet: FakeFleet | undefined;

  afterAll(async () => {
    await agent?.stop();
    await fleet?.stop().catch(() => undefined);
    await broker?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('resends from the confirmed id what the broker acknowledged and lost; nothing unconfirmed is deleted', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-brestart-'));
    broker = await startOwnMosquitto();
    const prefix = uniqueTopicPrefix('forward-broker-restart');
    const base = `${prefix}/plant-r/edge-r`;
    fleet = new FakeFleet(broker.url, base, true);
    await fleet.start();
    const res = loadConfigText(
      `
site: { id: plant-r }
agent: { id: edge-r, dataDir: ${join(dir, 'data')} }
http: { port: 0 }
machines: [{ id: m1 }]
buffer: { retainDays: 0.0001 }
upstream: { url: "${broker.url}", topicPrefix: ${prefix}, batchSize: 500, kpiIntervalS: 0, confirm: fleet, confirmTimeoutS: 1 }
`,
      { file: 'restart.yaml' },
    );
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    const a = new Agent(res.config, pino({ level: 'silent' }));
    agent = a;
    const fwd = a.forwarder;
    if (!fwd) throw new Error('no forwarder');
    const violations: string[] = [];
    const watch = setInterval(() => {
      const confirmed = fwd.confirmation.confirmedId;
      const last = a.buffer.stats().lastId;
      if (a.buffer.countAfter(confirmed) !== last - confirmed) violations.push(`confirmed ${confirmed}, last ${last}`);
    }, 5);
    await a.start();
    // the scenario: confirmed samples deleted, the fleet away, the broker killed with what it queued
    try {
      await scenario(a, fwd, fleet, broker);
    } finally {
      clearInterval(watch);
    }
    expect(violations).toEqual([]);
  }, 120_000);
});

async function scenario(a: Agent, fwd: NonNullable<Agent['forwarder']>, fleet: FakeFleet, broker: OwnMosquitto): Promise<void> {
  const old = Date.now() - 2 * 86_400_000;
  let n = 0;
  const commit = (count: number): void => {
    // a counter and a state: the hours' components change as samples arrive
    const batch: Sample[] = Array.from({ length: count }, () => {
      const i = n++;
      return i % 2 ? { machine: 'm1', signal: 'parts_total', ts: old + i * 1000, value: i, quality: 'good' } : { machine: 'm1', signal: 'state', ts: old + i * 1000, value: i % 6 ? 'running' : 'idle', quality: 'good' };
    });
    a.buffer.commit(batch);
  };

  commit(2000);
  await waitFor(() => fwd.confirmation.confirmedId === 2000, 20_000, 'the first 2000 confirmed');
  await waitFor(() => a.buffer.stats().samples === 0, 10_000, 'retention to delete the confirmed samples');
  // the hours from the oldest sample on are published (and acknowledged) before the fleet goes away
  await waitFor(() => (fwd.hours?.recorded ?? 0) > 0 && a.buffer.publishedHours.unsentCount() === 0, 20_000, 'the first hours published');
  const firstRound = fwd.hours?.recorded ?? 0;
  // the fleet is away; the broker acknowledges and queues 3000 samples for it …
  await fleet.pause();
  commit(3000);
  await waitFor(() => fwd.cursor === 5000, 20_000, 'the broker to acknowledge 5000');
  // those samples revise hours already published: the broker acknowledges the revisions too
  await waitFor(() => (fwd.hours?.recorded ?? 0) > firstRound && a.buffer.publishedHours.unsentCount() === 0, 20_000, 'the revised hours acknowledged');
  // … and dies with them
  await broker.kill();
  await waitFor(() => fwd.state === 'disconnected', 10_000, 'the agent to notice');
  await broker.start();
  await fleet.start();
  commit(1000);
  await waitFor(() => fwd.rewinds >= 1, 20_000, 'a rewind to the confirmed id');
  await waitFor(() => fleet?.contiguous(fwd.instance) === 6000, 30_000, 'the fleet to hold every sample');
  await waitFor(() => fwd.confirmation.confirmedId === 6000, 10_000, 'the last id confirmed');
  const ids = fleet.stored.get(fwd.instance) ?? new Set<number>();
  expect(ids.size).toBe(6000);
  for (let id = 1; id <= 6000; id++) if (!ids.has(id)) expect.fail(`id ${id} missing in the fleet`);
  // the resend links to the confirmed id the agent rewound to
  expect(fleet.batches.some((b) => b.prevLastId === 2000 && b.firstId === 2001)).toBe(true);
  expect(a.health().upstream).toMatchObject({ confirm: 'fleet', ackedId: 6000, confirmedId: 6000 });
  // every hour in the fleet as the agent has it now
  const H = 3_600_000;
  const from = Math.floor(old / H) * H;
  const to = Math.floor((Date.now() - 180_000) / H) * H;
  const rows = a.kpis.kpis({ from, to, machine: 'm1', groupBy: 'hour' });
  const matches = (): boolean => rows.every((r) => JSON.stringify(fleet.hours.get(`${fwd.instance} m1 ${Date.parse(r.periodStart)}`)?.components) === JSON.stringify(r.components));
  await waitFor(() => matches(), 20_000, 'the fleet to hold the components of every hour');
  expect(rows.length).toBeGreaterThan(40);
}
