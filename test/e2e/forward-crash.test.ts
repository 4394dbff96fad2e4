/**
 * At-least-once across crashes: the agent runs as a child process (`shopfloor-agent run`),
 * ingesting from an MQTT source (persistent session, ack after commit) and forwarding to
 * Mosquitto, and is SIGKILLed 5 times at random points. Afterwards the ids received upstream
 * cover every id committed, and every message the source published is in the buffer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { mosquitto, MOSQUITTO_URL, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { Recorder, startUplink, type Uplink } from './forward-helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const req = await mosquitto();

function startAgent(configPath: string): { child: ChildProcess; running: Promise<void> } {
  const child = spawn(process.execPath, [join(ROOT, 'agent/cli/shopfloor-agent.mjs'), 'run', '-c', configPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const running = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (out.includes('"msg":"source connected"')) resolve();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    child.once('exit', (code) => reject(new Error(`agent exited (${code}) before its source connected:\n${out.slice(-2000)}`)));
  });
  return { child, running };
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  await exited;
}

describe.skipIf(!req.available)('at-least-once across SIGKILL', () => {
  let dir: string;
  let recorder: Recorder;
  let current: ChildProcess | undefined;
  let publisher: mqtt.MqttClient;
  let uplink: Uplink | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-crash-'));
  });

  afterAll(async () => {
    if (current) await kill(current, 'SIGKILL');
    await publisher?.endAsync();
    await recorder?.stop();
    await uplink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards every committed id after 5 SIGKILLs at random points; nothing a source had acknowledged is lost', async () => {
    const prefix = uniqueTopicPrefix('forward-crash');
    const src = uniqueTopicPrefix('forward-crash-src');
    const dataDir = join(dir, 'data');
    const configPath = join(dir, 'agent.yaml');
    // upstream goes through a link the test can stall: batches published just before a crash
    // are then never acknowledged, and must be sent again after the restart
    const broker = new URL(MOSQUITTO_URL);
    uplink = await startUplink({ host: broker.hostname, port: Number(broker.port || 1883) }, true);
    writeFileSync(
      configPath,
      `
site: { id: plant-k }
agent: { id: edge-k, dataDir: ${dataDir}, logLevel: info }
http: { port: 0 }
machines:
  - { id: m1 }
sources:
  - id: cell
    type: mqtt
    url: ${MOSQUITTO_URL}
    clientId: sfa-crash-${process.pid}-${Date.now().toString(36)}
    clean: false
    qos: 1
    topics:
      - filter: "${src}/+/telemetry"
        machine: "{1}"
        format: json
        timestamp: { field: ts, unit: ms }
        fields: { parts_total: n, temp_c: t, power_kw: p, state: s }
upstream: { url: "mqtt://127.0.0.1:${uplink.port}", topicPrefix: ${prefix}, batchSize: 200, inFlight: 4, kpiIntervalS: 0 }
`,
    );
    recorder = new Recorder(MOSQUITTO_URL, prefix);
    await recorder.start();
    publisher = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `pub-${process.pid}-${Date.now().toString(36)}`, clean: true });

    // first start creates the persistent session, so the broker keeps messages while the agent is dead
    let agent = startAgent(configPath);
    current = agent.child;
    await agent.running;

    // the source publishes ~50 messages/s (4 samples each) throughout; the broker queues them
    // while the agent is down (Mosquitto keeps up to 1000 per persistent session by default,
    // 20 s of this rate: more than a restart takes on a loaded machine)
    const t0 = Date.now() - 86_400_000;
    let published = 0;
    let publishing = true;
    const pump = (async () => {
      while (publishing) {
        const burst: Promise<unknown>[] = [];
        for (let k = 0; k < 5; k++) {
          const n = published++;
          const payload = JSON.stringify({ ts: t0 + n * 100, n, t: 20 + (n % 7), p: 3.5, s: n % 50 < 40 ? 'running' : 'idle' });
          burst.push(publisher.publishAsync(`${src}/m1/telemetry`, payload, { qos: 1 }));
        }
        await Promise.all(burst);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const killedAt: number[] = [];
    for (let kill5 = 0; kill5 < 5; kill5++) {
      await new Promise((r) => setTimeout(r, 800 + Math.random() * 2500));
      // the link goes silent for a moment (batches in flight are lost), then the box dies
      uplink.stall();
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 500));
      killedAt.push(published);
      await kill(agent.child, 'SIGKILL');
      uplink.down();
      uplink.up();
      agent = startAgent(configPath);
      current = agent.child;
      await agent.running;
    }
    await new Promise((r) => setTimeout(r, 1000));
    publishing = false;
    await pump;

    // every published message reaches the buffer (4 samples each, possibly twice after a kill
    // between commit and PUBACK), and every committed id reaches the central broker
    const dbPath = join(dataDir, 'buffer.db');
    const committed = (): { maxId: number; count: number; messages: number } => {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      try {
        const r = db.prepare('SELECT MAX(id) AS maxId, COUNT(*) AS count FROM samples').get() as { maxId: number; count: number };
        const m = db.prepare("SELECT COUNT(DISTINCT ts) AS n FROM samples JOIN series ON series.id = samples.series WHERE signal = 'parts_total'").get() as { n: number };
        return { ...r, messages: m.n };
      } finally {
        db.close();
      }
    };
    await waitFor(() => committed().messages === published, 60_000, `all ${published} published messages in the buffer`).catch((e: unknown) => {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      const have = new Set((db.prepare("SELECT DISTINCT value FROM samples JOIN series ON series.id = samples.series WHERE signal = 'parts_total'").pluck().all() as number[]));
      db.close();
      const missing = Array.from({ length: published }, (_, n) => n).filter((n) => !have.has(n));
      throw new Error(`${String(e)}; the buffer holds ${have.size}; missing message numbers ${missing.slice(0, 20).join(', ')}; kills after message ${killedAt.join(', ')}`);
    });
    const { maxId } = committed();
    await waitFor(() => recorder.distinct('edge-k').size >= maxId, 60_000, `ids 1..${maxId} upstream`);
    await kill(agent.child, 'SIGTERM');
    current = undefined;

    const final = committed();
    expect(final.messages).toBe(published);
    expect(final.count).toBe(final.maxId); // ids are contiguous: no gap, nothing skipped
    expect(final.count).toBeGreaterThanOrEqual(published * 4);
    const ids = recorder.distinct('edge-k');
    const missing: number[] = [];
    for (let id = 1; id <= final.maxId; id++) if (!ids.has(id)) missing.push(id);
    expect(missing).toEqual([]);
    expect(published).toBeGreaterThan(300);
    // in order per agent after de-duplication
    const first = recorder.firstArrivals('edge-k');
    expect(first.every((id, i) => i === 0 || id > (first[i - 1] as number))).toBe(true);
  }, 120_000);
});
