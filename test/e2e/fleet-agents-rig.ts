/**
 * Two real agents (live telemetry, `confirm: fleet`, a tiny retainDays, their retention
 * watched) and two real fleet processes sharing a subscription, on a broker and a database the
 * test chooses: the set-up of the fault tests that restart the broker or the database.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { expect } from 'vitest';
import { MOSQUITTO_URL, waitFor } from '../helpers/index.ts';
import type { AgentChild } from './agent-child.ts';
import { agentBuffer, agentHealth, expectExactlyOnce, FleetChild, mqttClient, RetentionWatch, startAgent, waitConfirmed, type SiteSetup } from './fleet-agents-helpers.ts';
import { freePort } from './fleet-agents-ports.ts';

export interface RigOptions {
  dir: string;
  /** the central broker (agents' upstream and fleets) */
  brokerUrl: string;
  dbUrl: string;
  schema: string;
  prefix: string;
  sourcePrefix: string;
  fleetId: string;
  /** the fleets' ingest batch time (a long one keeps messages queued at the broker) */
  fleetBatchMs?: number;
  fleetMaxPending?: number;
  /** site i's upstream URL, when not the central broker (a proxy the test cuts, a NATS MQTT listener) */
  upstreamUrl?: (i: number) => string | undefined;
  /** the sites, one agent each (default site-1, site-2) */
  sites?: string[];
  /** with a nats:// brokerUrl: the fleets' `broker.jetstream` block, inside the braces */
  fleetJetstream?: string;
}

export interface RigAgent {
  s: SiteSetup;
  child: AgentChild;
  port: number;
  watch: RetentionWatch;
  instance: string;
}

const SITES = ['site-1', 'site-2'];

export class Rig {
  readonly agents: RigAgent[] = [];
  readonly fleets: FleetChild[] = [];
  /** samples published into each agent so far */
  published = 0;
  private tick = 0;

  readonly sites: string[];
  readonly group = `g${Math.random().toString(36).slice(2, 10)}`;

  constructor(readonly o: RigOptions) {
    this.sites = o.sites ?? SITES;
  }

  async start(): Promise<void> {
    const group = this.group;
    for (const w of ['a', 'b']) {
      this.fleets.push(new FleetChild({ id: `${this.o.fleetId}-${w}`, brokerUrl: this.o.brokerUrl, prefix: this.o.prefix, group, dataDir: join(this.o.dir, `fleet-${w}`), dbUrl: this.o.dbUrl, schema: this.o.schema, port: await freePort(), batchMs: this.o.fleetBatchMs ?? 50, ...(this.o.fleetMaxPending ? { maxPending: this.o.fleetMaxPending } : {}), ...(this.o.fleetJetstream ? { jetstream: this.o.fleetJetstream } : {}) }));
    }
    await waitFor(async () => (await this.fleets[0]?.healthy()) && (await this.fleets[1]?.healthy()), 60_000, 'both fleets healthy', 200).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.fleets.map((f) => `--- ${f.s.id} ---\n${f.output.slice(-3000)}`).join('\n')}`);
    });
    const started = await Promise.all(
      this.sites.map((site, i) => {
        const s: SiteSetup = { site, agent: `edge-${site}`, dir: join(this.o.dir, site), upstreamUrl: this.o.upstreamUrl?.(i) ?? this.o.brokerUrl, prefix: this.o.prefix, sourceUrl: MOSQUITTO_URL, sourcePrefix: this.o.sourcePrefix, confirmTimeoutS: 2, retainDays: 0.00005, batchSize: 20 };
        return startAgent(s).then((r) => ({ s, ...r }));
      }),
    );
    for (const a of started) {
      await waitFor(async () => ((await agentHealth(a.port)) as unknown as { sources: { state: string }[] }).sources[0]?.state === 'connected', 20_000, 'source connected', 100);
      const watch = new RetentionWatch(a.s.dir);
      watch.start();
      this.agents.push({ ...a, watch, instance: agentBuffer(a.s.dir).instance });
    }
  }

  /** `n` live readings (dated now: a tiny retainDays refuses older ones) of two machines into every agent, `pauseMs` between them */
  async publish(n: number, pauseMs = 0): Promise<void> {
    const src = await mqttClient(MOSQUITTO_URL);
    try {
      for (let k = 0; k < n; k++, this.tick++) {
        const t = this.tick;
        for (const site of this.sites) {
          for (const m of ['m1', 'm2']) {
            const reading = { ts: Date.now(), energy: t / 10, total: t, scrap: Math.floor(t / 9), state: t % 30 < 20 ? 'running' : 'idle' };
            await src.publishAsync(`${this.o.sourcePrefix}/${site}/${m}/telemetry`, JSON.stringify(reading), { qos: 1 });
          }
        }
        this.published += 8; // per agent: 2 machines × 4 fields
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    } finally {
      await src.endAsync();
    }
  }

  /** Every agent confirmed to its last id; the database holds ids 1..n of each once; retention deleted no unconfirmed sample. */
  async expectAllOnce(timeoutMs = 40_000): Promise<void> {
    for (const a of this.agents) await waitFor(() => agentBuffer(a.s.dir).lastId === this.published, 20_000, `${a.s.site} committed ${this.published}`, 100);
    for (const a of this.agents) await waitConfirmed(a.port, this.published, timeoutMs, `${a.s.site} confirmed ${this.published}`);
    const db = new pg.Client({ connectionString: this.o.dbUrl });
    await db.connect();
    try {
      for (const a of this.agents) await expectExactlyOnce(db, this.o.schema, a.instance, this.published, a.s.site);
    } finally {
      await db.end();
    }
    for (const a of this.agents) expect(a.watch.violations, a.s.site).toEqual([]);
    // retention deletes confirmed samples once they are older than retainDays (~4 s)
    for (const a of this.agents) await waitFor(() => a.watch.deletedUpTo > 0, 15_000, `${a.s.site}: retention deleted confirmed samples`, 100);
    for (const a of this.agents) expect(a.watch.violations, a.s.site).toEqual([]);
  }

  /** Starts fleet process i again with its id, port and session (after a kill). */
  async restartFleet(i: number): Promise<void> {
    const old = this.fleets[i] as FleetChild;
    await old.kill('SIGKILL');
    const f = new FleetChild(old.s);
    this.fleets[i] = f;
    await waitFor(() => f.healthy(), 60_000, `fleet ${old.s.id} healthy again`, 200);
  }

  /** Rows the database holds of every agent. */
  async storedRows(): Promise<number> {
    const db = new pg.Client({ connectionString: this.o.dbUrl });
    await db.connect();
    try {
      const r = await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${this.o.schema}".samples`);
      return Number(r.rows[0]?.n ?? 0);
    } finally {
      await db.end();
    }
  }

  /** How many times the agents resent from their confirmed id (their log). */
  rewinds(): number {
    return this.agents.reduce((n, a) => n + a.child.lines().filter((l) => typeof l.msg === 'string' && l.msg.includes('resending from the confirmed id')).length, 0);
  }

  async close(): Promise<void> {
    for (const a of this.agents) {
      a.watch.stop();
      await a.child.exitAfter('SIGTERM');
    }
    for (const f of this.fleets) await f.kill('SIGTERM');
    // a NATS cluster of the test's own goes with the test: nothing retained to clear, no sessions
    const c = this.o.brokerUrl.startsWith('nats://') ? undefined : await mqttClient(this.o.brokerUrl).catch(() => undefined);
    if (c) {
      for (const site of this.sites) for (const t of ['status', 'plant', 'confirm']) await c.publishAsync(`${this.o.prefix}/${site}/edge-${site}/${t}`, '', { qos: 1, retain: true });
      await c.endAsync();
      // the fleets' persistent sessions end with the test
      for (const f of this.fleets) await (await mqtt.connectAsync(this.o.brokerUrl, { clientId: `shopfloor-fleet-${f.s.id}`, clean: true, protocolVersion: 5 })).endAsync();
    }
    rmSync(this.o.dir, { recursive: true, force: true });
  }
}
