/**
 * At-least-once ingest across a crash: a publisher sends 100,000 numbered QoS 1 messages to
 * Mosquitto; the agent (a child process, persistent session, ack-after-commit) is killed
 * with SIGKILL twice while it is receiving and restarted each time. Every number must end up
 * in SQLite (duplicates allowed, none missing).
 *
 * Mosquitto keeps at most max_queued_messages (default 1000) per client beyond those in
 * flight and drops the rest silently, online or not. So the publisher is paced: it stays at
 * most WINDOW messages ahead of what the agent has committed (read from the agent's own
 * buffer.db). That bounds what the broker holds for us, and it is also what makes the test
 * sharp: at each kill up to KILL_CHUNK messages are delivered-but-unacknowledged or queued, and
 * an agent that acknowledged before committing would lose some of them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { MOSQUITTO_URL, mosquitto, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';

const broker = await mosquitto();
const CLI = fileURLToPath(new URL('../../agent/cli/shopfloor-agent.mjs', import.meta.url));
const TOTAL = 100_000;
const WINDOW = 400;
const CHUNK = 100;
/**
 * the chunk a kill falls into: twice the pacing window, so the agent has more to receive than
 * a busy test process takes to notice the broker's acknowledgements (still below the broker's
 * 1000 queued messages: the agent has caught up before it)
 */
const KILL_CHUNK = 2 * WINDOW;
/** a kill that found nothing in flight is tried again this many messages later */
const RETRY_AFTER = 3_000;

describe.skipIf(!broker.available)('MQTT ingest survives SIGKILL (at least once)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-sigkill-'));
  const prefix = uniqueTopicPrefix('mqtt-sigkill');
  const clientId = `sfa-sigkill-${process.pid}-${Date.now().toString(36)}`;
  const dbPath = join(dir, 'data', 'buffer.db');
  let child: ChildProcess | undefined;
  let stderr = '';

  afterAll(async () => {
    child?.kill('SIGKILL');
    // leave no persistent session behind on the shared broker
    const c = await mqtt.connectAsync(MOSQUITTO_URL, { clientId, clean: true });
    await c.endAsync();
    rmSync(dir, { recursive: true, force: true });
  });

  function startAgent(): ChildProcess {
    const p = spawn(process.execPath, [CLI, 'run', '-c', join(dir, 'agent.yaml')], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODEOPCUA_LOG_LEVEL: '3' } });
    p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    return p;
  }

  let reader: Database.Database | undefined;
  function committed(): number {
    if (!reader) {
      if (!existsSync(dbPath)) return 0;
      reader = new Database(dbPath, { readonly: true, fileMustExist: true });
    }
    try {
      // the highest number stored recently (cheap; redelivered duplicates do not inflate it)
      const r = reader.prepare('SELECT MAX(value) AS n FROM samples WHERE id > (SELECT MAX(id) FROM samples) - 2000').get() as { n: number | null };
      return r.n ?? 0;
    } catch {
      return 0; // schema not created yet
    }
  }

  function hasRows(): boolean {
    try {
      return reader !== undefined && (reader.prepare('SELECT COUNT(*) AS n FROM samples').get() as { n: number }).n > 0;
    } catch {
      return false;
    }
  }

  it('stores every one of 100,000 numbered messages across two kills', async () => {
    writeFileSync(
      join(dir, 'agent.yaml'),
      `site: { id: kill-test }
agent: { id: kill-agent, dataDir: ${join(dir, 'data')}, logLevel: warn }
http: { port: 0 }
machines: [{ id: counter }]
sources:
  - id: seq
    type: mqtt
    url: ${MOSQUITTO_URL}
    clientId: ${clientId}
    clean: false
    qos: 1
    topics:
      - { filter: "${prefix}/seq", format: plain, machine: counter, signal: seq }
`,
    );
    child = startAgent();
    const pub = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `${clientId}-pub`, clean: true });
    try {
      // number 0 until it is stored: the subscription (and so the session) is in place
      await waitFor(
        async () => {
          await pub.publishAsync(`${prefix}/seq`, '0', { qos: 1 });
          committed(); // opens the reader once the agent has created its database
          return hasRows();
        },
        30_000,
        `the agent to store its first message (stderr: ${stderr})`,
        300,
      );
      const kills = [30_000, 70_000];
      const outstandingAtKill: number[] = [];
      let next = 1;
      while (next <= TOTAL) {
        const done = committed();
        if (kills[0] !== undefined && done >= kills[0]) {
          kills.shift();
          // the agent catches up first, so the broker holds at most KILL_CHUNK messages for it
          const caughtUp = next - 1;
          await waitFor(() => committed() >= caughtUp, 30_000, 'the agent catching up', 5);
          // kill in the middle of a chunk: the agent is receiving, the broker holds the rest
          const end = next + KILL_CHUNK - 1;
          // the moment of the kill does not depend on the agent's progress: when the broker
          // has acknowledged half the chunk (an agent that acknowledged before committing
          // would lose what it had acknowledged but not yet committed)
          let acked = 0;
          const batch: Promise<unknown>[] = [];
          for (let i = next; i <= end; i++) batch.push(pub.publishAsync(`${prefix}/seq`, String(i), { qos: 1 }).then(() => acked++));
          await waitFor(() => acked >= KILL_CHUNK / 2, 10_000, 'the broker taking half the chunk', 1);
          const dead = new Promise((r) => child?.once('exit', r));
          child.kill('SIGKILL');
          await dead;
          // a kill that found the agent with nothing left to receive proved nothing: kill again later
          const outstanding = end - committed();
          if (outstanding > 0) outstandingAtKill.push(outstanding);
          else if (end + RETRY_AFTER < TOTAL) kills.push(end + RETRY_AFTER);
          await Promise.all(batch);
          next = end + 1;
          child = startAgent();
          continue;
        }
        // paced: never more than WINDOW ahead of what the agent has committed
        if (next - done > WINDOW) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const end = Math.min(TOTAL, next + CHUNK - 1);
        const batch: Promise<unknown>[] = [];
        for (let i = next; i <= end; i++) batch.push(pub.publishAsync(`${prefix}/seq`, String(i), { qos: 1 }));
        await Promise.all(batch); // PUBACK from the broker: it has them
        next = end + 1;
      }
      // the kills happened while messages were on their way to the agent
      expect(outstandingAtKill).toHaveLength(2);
      for (const o of outstandingAtKill) expect(o).toBeGreaterThan(0);
      await waitFor(
        () => {
          const db = reader as Database.Database;
          if (process.env.SFA_DEBUG) console.log(db.prepare('SELECT COUNT(*) n FROM samples').get());
          const r = db.prepare("SELECT COUNT(DISTINCT s.value) AS n FROM samples s JOIN series x ON x.id = s.series WHERE x.machine = 'counter' AND x.signal = 'seq' AND s.value >= 1").get() as { n: number };
          return r.n >= TOTAL;
        },
        30_000,
        'all numbers stored',
        250,
      ).catch(() => undefined); // the assertions below say what is missing
    } finally {
      await pub.endAsync();
    }
    const db = reader as Database.Database;
    const missing = (db.prepare("WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < ?) SELECT v FROM n WHERE v NOT IN (SELECT CAST(value AS INTEGER) FROM samples WHERE value >= 1) LIMIT 20").all(TOTAL) as { v: number }[]).map((r) => r.v);
    expect(missing).toEqual([]);
    const rows = db.prepare("SELECT DISTINCT CAST(s.value AS INTEGER) AS v FROM samples s JOIN series x ON x.id = s.series WHERE x.machine = 'counter' AND s.value >= 1 ORDER BY v").all() as { v: number }[];
    expect(rows.length).toBe(TOTAL);
    expect(rows[0]?.v).toBe(1);
    expect(rows[TOTAL - 1]?.v).toBe(TOTAL);
    reader?.close();
    child.kill('SIGTERM');
    await new Promise((r) => child?.once('exit', r));
    child = undefined;
  }, 180_000);
});
