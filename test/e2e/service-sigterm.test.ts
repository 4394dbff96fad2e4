/**
 * SIGTERM while a source is receiving: the agent (a child process, MQTT source with a persistent
 * QoS 1 session, so acknowledged means committed) exits 0 within 10 s, publishes `offline`
 * upstream, and loses no message it acknowledged: every number the broker accepted is either in
 * the buffer or still queued by the broker for the agent's session (the agent never acknowledged
 * it). An agent that acknowledged before committing, or dropped its pending batch at exit,
 * would lose numbers from both.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { MOSQUITTO_URL, mosquitto, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { AgentChild } from './agent-child.ts';

const broker = await mosquitto();
const TOTAL = 800;

describe.skipIf(!broker.available)('SIGTERM', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-sigterm-'));
  const prefix = uniqueTopicPrefix('sigterm');
  const clientId = `sfa-sigterm-${process.pid}-${Date.now().toString(36)}`;
  let agent: AgentChild | undefined;

  afterAll(async () => {
    agent?.kill();
    const c = await mqtt.connectAsync(MOSQUITTO_URL, { clientId, clean: true });
    await c.endAsync();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops within 10 s with exit 0, offline published, no acknowledged sample lost', async () => {
    writeFileSync(
      join(dir, 'agent.yaml'),
      `site: { id: term-site }
agent: { id: term-agent, dataDir: ${join(dir, 'data')}, logLevel: info }
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
upstream: { url: ${MOSQUITTO_URL}, topicPrefix: ${prefix}/up }
`,
    );
    agent = new AgentChild(['run', '-c', join(dir, 'agent.yaml')]);
    await agent.httpPort();
    await agent.waitForLine((l) => l.source === 'seq' && l.msg === 'source connected', 30_000, 'the source to connect');
    const pub = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `${clientId}-pub`, clean: true });
    let accepted = 0;
    const sends: Promise<unknown>[] = [];
    let exit: Awaited<ReturnType<AgentChild['exitAfter']>> | undefined;
    try {
      for (let i = 1; i <= TOTAL; i++) {
        sends.push(pub.publishAsync(`${prefix}/seq`, String(i), { qos: 1 }).then(() => accepted++));
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
        // mid-stream: the agent is receiving, committing and acknowledging
        if (i === TOTAL / 2) {
          await waitFor(() => accepted >= TOTAL / 4, 10_000, 'the broker accepting a quarter');
          exit = await agent.exitAfter('SIGTERM');
        }
      }
      await Promise.all(sends);
    } finally {
      await pub.endAsync();
    }
    expect(exit?.code, agent.output.slice(-2000)).toBe(0);
    expect(exit?.at).toBeLessThan(10_000);
    expect(agent.output).toContain('agent stopped; all pending samples flushed');

    const db = new Database(join(dir, 'data', 'buffer.db'), { readonly: true });
    const stored = new Set((db.prepare("SELECT CAST(s.value AS INTEGER) AS v FROM samples s JOIN series x ON x.id = s.series WHERE x.machine = 'counter'").all() as { v: number }[]).map((r) => r.v));
    db.close();
    expect(stored.size).toBeGreaterThan(0);

    // what the agent did not acknowledge, the broker still holds for its session
    const queued = new Set<number>();
    // the handler is in place before the CONNACK: the broker sends the queue right after it
    const session = mqtt.connect(MOSQUITTO_URL, { clientId, clean: false });
    session.on('message', (_t, p) => queued.add(Number(p.toString())));
    await new Promise((r) => session.once('connect', r));
    await new Promise((r) => setTimeout(r, 1500));
    const status = await retained(`${prefix}/up/term-site/term-agent/status`);
    await session.endAsync();

    const lost: number[] = [];
    for (let i = 1; i <= TOTAL; i++) if (!stored.has(i) && !queued.has(i)) lost.push(i);
    expect(lost).toEqual([]);
    expect(status).toBe('offline');
  }, 90_000);

  async function retained(topic: string): Promise<string | undefined> {
    const c = await mqtt.connectAsync(MOSQUITTO_URL, { clean: true });
    let value: string | undefined;
    c.on('message', (_t, p) => (value ??= p.toString()));
    await c.subscribeAsync(topic, { qos: 1 });
    await new Promise((r) => setTimeout(r, 500));
    await c.publishAsync(topic, '', { qos: 1, retain: true }); // leave no retained message behind
    await c.endAsync();
    return value;
  }
});
