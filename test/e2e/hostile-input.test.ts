/**
 * Hostile plant input through a whole agent, against Mosquitto: timestamps out of range
 * (1e17, negative, a day ahead, not a number), names with wildcards, control characters, 10 kB
 * and empty, MES orders naming `evil/#`, and 10,000 distinct topic captures. The agent keeps
 * running, its routes answer 200, dead letters say why, the series cap is counted in /healthz,
 * the real machine's latest value is its real one — and all of it holds after a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import mqtt from 'mqtt';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { MOSQUITTO_URL, mosquitto, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';

const mosq = await mosquitto();
const CAPTURES = 10_000;
const MAX_SERIES = 1000;

describe.skipIf(!mosq.available)('hostile plant input (Mosquitto)', () => {
  const prefix = uniqueTopicPrefix('hostile-input');
  let dir: string;
  let agent: Agent;
  let base: string;
  let pub: mqtt.MqttClient;

  const config = (): string => `
site: { id: hostile-site }
agent: { id: hostile-test, dataDir: ${join(dir, 'data')} }
http: { port: 0 }
machines: [{ id: press-1 }]
sources:
  - id: plant
    type: mqtt
    url: ${MOSQUITTO_URL}
    clientId: sfa-hostile-${process.pid}-${Date.now().toString(36)}
    clean: true
    maxSeries: ${MAX_SERIES}
    topics:
      - { filter: "${prefix}/+/telemetry", machine: "{1}", timestamp: { field: ts, unit: ms }, fields: { power_kw: p, state: st } }
      - { filter: "${prefix}/mes/orders", format: order-events }
`;

  async function start(): Promise<void> {
    const res = loadConfigText(config(), { file: 'hostile.yaml' });
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    agent = new Agent(res.config, pino({ level: 'silent' }));
    base = `http://127.0.0.1:${(await agent.start()).httpPort}`;
    await waitFor(() => agent.health().sources[0]?.state === 'connected', 10_000, 'connected');
    await waitFor(
      async () => {
        await pub.publishAsync(`${prefix}/press-1/telemetry`, JSON.stringify({ ts: Date.now(), p: 7.5, st: 'running' }), { qos: 1 });
        return agent.buffer.latest('press-1').length > 0;
      },
      10_000,
      'subscription',
      200,
    );
  }

  async function routesAnswer(): Promise<void> {
    for (const route of ['/healthz', '/api/machines', '/api/overview', '/api/diagnostics', '/api/kpis', '/api/site', `/api/series?machine=press-1&signal=power_kw`]) {
      const res = await fetch(base + route);
      expect(res.status, route).toBe(200);
      await res.arrayBuffer();
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-hostile-'));
    pub = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `sfa-hostile-pub-${process.pid}-${Date.now().toString(36)}` });
    await start();
  });

  afterAll(async () => {
    await pub?.endAsync();
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad timestamps and names to dead letters with reasons, and keeps the real machine real', async () => {
    const now = Date.now();
    const hostile: [string, unknown][] = [
      ['press-1', { ts: 1e17, p: 1, st: 'down' }],
      ['press-1', { ts: -1, p: 2 }],
      ['press-1', { ts: now + 86_400_000, p: 3, st: 'idle' }],
      ['press-1', { ts: 'soon', p: 4 }],
      ['x'.repeat(10_000), { ts: now, p: 6 }],
      ['', { ts: now, p: 7 }],
    ];
    const before = agent.health().sources[0]?.deadLetters ?? 0;
    for (const [machine, body] of hostile) await pub.publishAsync(`${prefix}/${machine}/telemetry`, JSON.stringify(body), { qos: 1 });
    // control characters cannot even travel in a topic name (Mosquitto disconnects the publisher): they come in payloads
    for (const machine of ['evil/#', 'evil+', 'nul\u0000l', 'ctl\u0001name']) {
      await pub.publishAsync(`${prefix}/mes/orders`, JSON.stringify({ orderId: 'O-1', event: 'started', machine }), { qos: 1 });
    }
    await pub.publishAsync(`${prefix}/mes/orders`, JSON.stringify({ orderId: 'O\u0007' + 'o'.repeat(300), event: 'started' }), { qos: 1 });
    const all = ['topic gives no machine name', 'order event "orderId" of 302 chars exceeds 256'];
    await waitFor(() => all.every((r) => agent.buffer.deadLetters(50).some((d) => d.reason === r)), 10_000, 'dead letters');
    expect((agent.health().sources[0]?.deadLetters ?? 0) - before).toBeGreaterThanOrEqual(hostile.length + 5);
    const reasons = agent.buffer.deadLetters(50).map((d) => d.reason);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^timestamp 100000000000000000 is 3\.2e\+6 years ahead of arrival \(maxFutureS 300\)$/),
        expect.stringMatching(/^timestamp -1 is .* before arrival/),
        expect.stringMatching(/^timestamp \d+ is 24 h ahead of arrival/),
        'timestamp is not a number of ms',
        'machine of 10000 chars exceeds 128',
        'topic gives no machine name',
        expect.stringMatching(/^machine "evil\/#" holds "\/", "\+" or "#"/),
        expect.stringMatching(/^machine "evil\+" holds/),
        expect.stringMatching(/^machine "nul\\u0000l" holds a control character/),
        expect.stringMatching(/^machine "ctl\\u0001name" holds a control character/),
        'order event "orderId" of 302 chars exceeds 256',
      ]),
    );
    for (const d of agent.buffer.deadLetters(50)) expect(d.reason.length).toBeLessThanOrEqual(512);
    expect(agent.buffer.machines()).not.toContain('evil/#');
    const latest = agent.buffer.latest('press-1');
    expect(latest.find((l) => l.signal === 'state')).toMatchObject({ value: 'running' });
    expect(latest.every((l) => l.ts <= Date.now())).toBe(true);
    await routesAnswer();
  });

  it(`caps ${CAPTURES} distinct topic captures at maxSeries, counted in /healthz`, async () => {
    const ts = Date.now();
    for (let i = 0; i < CAPTURES; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, k) => pub.publishAsync(`${prefix}/cap-${i + k}/telemetry`, JSON.stringify({ ts, p: 1 }), { qos: 1 })));
    }
    // Mosquitto may drop some to a busy subscriber (max_queued_messages): enough arrive to pass the cap
    await waitFor(
      async () => {
        const h = (await (await fetch(`${base}/healthz`)).json()) as { sources: { seriesCapped: number }[] };
        return (h.sources[0]?.seriesCapped ?? 0) > CAPTURES / 2;
      },
      30_000,
      'seriesCapped counted',
      250,
    );
    expect(agent.buffer.machines().length).toBeLessThanOrEqual(MAX_SERIES + 1);
    expect(agent.buffer.deadLetters(1)[0]?.reason).toMatch(/reached maxSeries 1000/);
    await routesAnswer();
  }, 90_000);

  it('after a restart: routes answer, the cap still holds, the real machine is still real', async () => {
    await agent.stop();
    await start();
    await routesAnswer();
    const before = agent.health().sources[0]?.seriesCapped ?? 0;
    await pub.publishAsync(`${prefix}/after-restart/telemetry`, JSON.stringify({ ts: Date.now(), p: 1 }), { qos: 1 });
    await waitFor(() => (agent.health().sources[0]?.seriesCapped ?? 0) > before, 10_000, 'a new series past the cap is refused after the restart');
    expect(agent.buffer.latest('press-1').find((l) => l.signal === 'state')).toMatchObject({ value: 'running' });
  });
});
