/**
 * No secret reaches the output at any log level: the agent runs at `debug` (a child process,
 * stdout and stderr captured) with a secret in every secret-bearing field and in every URL,
 * through connection failures (nothing listening), bad credentials (a broker that checks user
 * names and passwords) and config errors (`check` and `run` with an invalid config), and none of
 * the secret strings, nor their URL- or JSON-encoded forms, appears in what it wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestBroker } from '../../drivers/mqtt/test-broker.ts';
import { waitFor } from '../helpers/index.ts';
import { AgentChild } from './agent-child.ts';

const CLI = fileURLToPath(new URL('../../agent/cli/shopfloor-agent.mjs', import.meta.url));

const SECRETS = {
  mqttUrl: 'URLPASS-mqtt-1a',
  mqttField: 'PW-mqtt-field-2b',
  badCredUrl: 'URLPASS-bad-cred-4d',
  badCredField: 'PW-mqtt-wrong-3c',
  opcua: 'PW-opcua-env-5e',
  upstreamUrl: 'URLPASS-up-6f',
  upstreamField: 'PW-upstream-file-7g',
  token: 'TOKEN-http-8h-0123456789',
  checkUrl: 'URLPASS-check-9i',
  shortToken: 'TOKEN-shrt-9j',
  numeric: '987654321',
  specialChars: 'p@ss:w/rd"%x\\y',
};

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function leaks(output: string): string[] {
  const found: string[] = [];
  for (const s of Object.values(SECRETS)) {
    for (const form of new Set([s, encodeURIComponent(s), JSON.stringify(s).slice(1, -1)])) if (output.includes(form)) found.push(form);
  }
  return found;
}

describe('secrets never reach the output', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-secrets-'));
  const broker = new TestBroker();
  let brokerUrl = '';
  let nothing = 0;
  const env = { SFA_TEST_OPCUA_PASSWORD: SECRETS.opcua };

  beforeAll(async () => {
    // a broker that accepts only user `agent` with password `right`
    brokerUrl = (await broker.start({ users: { agent: 'right' } })).mqtt;
    nothing = await closedPort();
    writeFileSync(join(dir, 'upstream-password'), `${SECRETS.upstreamField}\n`);
  });
  afterAll(async () => {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const brokerPort = (): string => new URL(brokerUrl).port;
  const config = (extra = ''): string => `site: { id: secret-site }
agent: { id: secret-agent, dataDir: ${join(dir, 'data')}, logLevel: debug }
http: { port: 0, token: ${SECRETS.token} }
machines: [{ id: m1 }]
sources:
  - id: mqtt-down
    type: mqtt
    url: mqtt://someone:${SECRETS.mqttUrl}@127.0.0.1:${nothing}
    username: someone
    password: ${SECRETS.mqttField}
    topics: [{ filter: "x/+", format: plain, machine: m1, signal: a }]
  - id: mqtt-badcred
    type: mqtt
    url: mqtt://agent:${SECRETS.badCredUrl}@127.0.0.1:${brokerPort()}
    username: agent
    password: '${SECRETS.specialChars}'
    topics: [{ filter: "y/+", format: plain, machine: m1, signal: b }]
  - id: opcua-down
    type: opcua
    endpoint: opc.tcp://127.0.0.1:${nothing}
    auth: { type: username, username: agent, password: \${SFA_TEST_OPCUA_PASSWORD} }
    tags: [{ nodeId: "ns=2;s=A", machine: m1, signal: c }]
upstream:
  url: mqtt://up:${SECRETS.upstreamUrl}@127.0.0.1:${brokerPort()}
  username: agent
  password: \${file:${join(dir, 'upstream-password')}}
${extra}`;

  it('runs at debug through connection failures and bad credentials without writing a secret', async () => {
    writeFileSync(join(dir, 'agent.yaml'), config());
    const agent = new AgentChild(['run', '-c', join(dir, 'agent.yaml')], env);
    try {
      await agent.httpPort();
      // the failures happened and were logged: the broker refused both clients, nothing answered the others
      const tried = (clientId: string): boolean => broker.connects.some((c) => c.clientId === clientId);
      await waitFor(() => tried('sfa-secret-agent-mqtt-badcred') && tried('sfa-secret-site-secret-agent'), 20_000, 'the broker refusing the source and the upstream');
      await agent.waitForLine((l) => l.source === 'mqtt-down' && typeof l.msg === 'string' && /source (error|disconnected)/.test(l.msg), 20_000, 'mqtt-down failing');
      await agent.waitForLine((l) => l.source === 'opcua-down' && typeof l.msg === 'string' && /source (error|disconnected)/.test(l.msg), 30_000, 'opcua-down failing');
      await new Promise((r) => setTimeout(r, 2000));
      const exit = await agent.exitAfter('SIGTERM');
      expect(exit.code).toBe(0);
    } finally {
      agent.kill();
    }
    expect(agent.lines().some((l) => l.level === 20)).toBe(true); // debug lines were written
    expect(agent.lines().filter((l) => (l.level ?? 0) >= 40).length).toBeGreaterThan(0);
    expect(leaks(agent.output)).toEqual([]);
  }, 90_000);

  it('check and run with an invalid config print the problems without a secret', () => {
    // a URL that fails its pattern, a token too short, a password that is a number, not text
    const bad = config()
      .replace(`url: mqtt://someone:${SECRETS.mqttUrl}@`, `url: notmqtt://someone:${SECRETS.checkUrl}@`)
      .replace(`token: ${SECRETS.token}`, `token: ${SECRETS.shortToken}`)
      .replace(`password: ${SECRETS.mqttField}`, `password: ${SECRETS.numeric}`);
    writeFileSync(join(dir, 'bad.yaml'), bad);
    for (const verb of ['check', 'run']) {
      const r = spawnSync(process.execPath, [CLI, verb, '-c', join(dir, 'bad.yaml')], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
      expect(r.status).toBe(2);
      const out = r.stdout + r.stderr;
      // the problems were reported
      for (const path of [/sources\[0\]\.url/, /http\.token/, /sources\[0\]\.password/]) expect(out).toMatch(path);
      expect(leaks(out)).toEqual([]);
    }
  }, 60_000);
});
