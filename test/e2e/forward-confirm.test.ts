/**
 * `upstream.confirm: fleet` through Mosquitto, with the test playing the fleet (fake-fleet.ts):
 * retention ticks all along with a tiny retainDays and never deletes a sample the fleet has not
 * confirmed; a batch the broker acknowledged but the fleet never stored stalls the confirmation,
 * and after confirmTimeoutS the agent rewinds to the confirmed id and resends from there
 * (prevLastId = the confirmed id), so the fleet ends with every id. A confirmation of another
 * instance is ignored; /healthz and /metrics tell acknowledged from confirmed; a restart keeps
 * the confirmed id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import type { Config } from '../../config/schema.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import type { Sample } from '../../agent/model/index.ts';
import { mosquitto, MOSQUITTO_URL, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { FakeFleet } from './fake-fleet.ts';

const req = await mosquitto();
const N = 12_000;

describe.skipIf(!req.available)('upstream.confirm: fleet', () => {
  let dir: string;
  let prefix: string;
  let fleet: FakeFleet;
  let config: Config;
  let agent: Agent | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-confirm-'));
    prefix = uniqueTopicPrefix('forward-confirm');
    fleet = new FakeFleet(MOSQUITTO_URL, `${prefix}/plant-f/edge-f`);
    await fleet.start();
    const res = loadConfigText(
      `
site: { id: plant-f }
agent: { id: edge-f, dataDir: ${join(dir, 'data')} }
http: { port: 0 }
machines: [{ id: m1 }, { id: m2 }]
buffer: { retainDays: 0.0001 }
upstream: { url: "${MOSQUITTO_URL}", topicPrefix: ${prefix}, batchSize: 500, inFlight: 4, kpiIntervalS: 0, confirm: fleet, confirmTimeoutS: 1 }
`,
      { file: 'confirm.yaml' },
    );
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    config = res.config;
  }, 30_000);

  afterAll(async () => {
    await agent?.stop();
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes only confirmed samples while retention ticks, and resends from the confirmed id when confirmation stalls', async () => {
    const a = new Agent(config, pino({ level: 'silent' }));
    agent = a;
    const fwd = a.forwarder;
    if (!fwd) throw new Error('no forwarder');
    // another instance's confirmation (a wiped buffer's predecessor) must not count
    fleet.confirm('0b5e7e1e-0000-4000-8000-000000000000', 1_000_000);
    // the broker acknowledges the batch holding id 3001, and the fleet never gets it (once)
    let lost: { firstId: number; lastId: number } | undefined;
    fleet.lose = (m) => {
      if (lost || m.firstId > 3001 || m.lastId < 3001) return false;
      lost = { firstId: m.firstId, lastId: m.lastId };
      return true;
    };
    // the invariant, checked synchronously (retention runs on this thread) every few ms
    const violations: string[] = [];
    let checks = 0;
    const watch = setInterval(() => {
      const confirmed = fwd.confirmation.confirmedId;
      const last = a.buffer.stats().lastId;
      const kept = a.buffer.countAfter(confirmed);
      checks++;
      if (kept !== last - confirmed) violations.push(`confirmed ${confirmed}, last ${last}: ${last - confirmed - kept} unconfirmed samples deleted`);
    }, 5);
    await a.start();
    const old = Date.now() - 2 * 86_400_000; // far older than retainDays: retention wants them all
    for (let i = 0; i < N; i += 500) {
      const batch: Sample[] = Array.from({ length: 500 }, (_, k) => ({ machine: (i + k) % 2 ? 'm1' : 'm2', signal: 'temp_c', ts: old + (i + k) * 1000, value: i + k, quality: 'good' }));
      a.buffer.commit(batch);
      await new Promise((r) => setTimeout(r, 40));
    }
    await waitFor(() => fwd.cursor === N, 30_000, 'the broker to acknowledge everything');
    expect(lost).toBeDefined();
    // the fleet is stuck before the lost batch: nothing beyond it may go
    await waitFor(() => fwd.rewinds >= 1, 20_000, 'a rewind to the confirmed id');
    await waitFor(() => fleet.contiguous(fwd.instance) === N, 30_000, 'the fleet to hold everything contiguously');
    await waitFor(() => fwd.confirmation.confirmedId === N, 10_000, 'the confirmation of the last id');
    await waitFor(() => a.buffer.stats().samples === 0, 20_000, 'retention to delete every confirmed sample');
    clearInterval(watch);
    expect(violations).toEqual([]);
    expect(checks).toBeGreaterThan(100);

    // the resend started at the confirmed id the agent had when it rewound: the lost batch's predecessor
    const lostBatch = lost as { firstId: number; lastId: number };
    const resend = fleet.batches.find((b) => b.firstId === lostBatch.firstId);
    expect(resend?.prevLastId).toBe(lostBatch.firstId - 1);
    // every id exactly once in the store, chained batches throughout
    const ids = fleet.stored.get(fwd.instance) ?? new Set<number>();
    expect(ids.size).toBe(N);
    for (let id = 1; id <= N; id++) if (!ids.has(id)) expect.fail(`id ${id} missing in the fleet`);
    expect(fleet.batches.every((b) => b.instance === fwd.instance && typeof b.prevLastId === 'number' && b.prevLastId < b.firstId)).toBe(true);
    expect(fwd.instance).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    // the fleet may confirm the last batch before its PUBACK reaches the agent: wait for both
    await waitFor(() => fwd.cursor === N, 10_000, 'the broker to acknowledge the last batch');
    const h = a.health();
    expect(h.upstream).toMatchObject({ state: 'connected', confirm: 'fleet', ackedId: N, confirmedId: N });
    expect(Date.parse(h.upstream.confirmedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    const metrics = await a.metrics.registry.metrics();
    expect(metrics).toMatch(new RegExp(`shopfloor_agent_upstream_confirmed_id\\{[^}]*\\} ${N}\\n`));
    expect(metrics).toMatch(new RegExp(`shopfloor_agent_upstream_acked_id\\{[^}]*\\} ${N}\\n`));
    await a.stop();
    agent = undefined;
  }, 120_000);

  it('keeps the confirmed id across a restart, before any connection', async () => {
    const offline = { ...config, upstream: { ...(config.upstream as NonNullable<Config['upstream']>), url: 'mqtt://127.0.0.1:1' } };
    const a = new Agent(offline, pino({ level: 'silent' }));
    agent = a;
    expect(a.health().upstream).toMatchObject({ confirm: 'fleet', confirmedId: N, ackedId: N });
    await a.stop();
    agent = undefined;
  });
});
