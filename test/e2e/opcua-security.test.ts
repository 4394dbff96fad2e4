/**
 * OPC UA security end to end: SignAndEncrypt / Basic256Sha256 with username auth delivers data
 * once the server certificate is trusted; an untrusted server certificate and a wrong password
 * each give one clear error saying what to do — and doing what it says works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../agent/cli/main.ts';
import { thumbprintOf } from '../../drivers/opcua/opcua-pki.ts';
import { OpcuaTestServer, tagNodeId } from '../helpers/opcua-test-server.ts';
import { startAgentWith, type AgentRun } from '../helpers/opcua-agent.ts';
import { waitFor } from '../helpers/index.ts';

function serverThumbprint(pkiDir: string): string {
  const dir = join(pkiDir, 'server', 'own', 'certs');
  const file = readdirSync(dir).find((f) => f.endsWith('.pem'));
  if (!file) throw new Error('no server certificate');
  const pem = readFileSync(join(dir, file), 'utf8');
  const b64 = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem)?.[1] ?? '';
  return thumbprintOf(Buffer.from(b64.replace(/\s+/g, ''), 'base64'));
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const source = (endpoint: string, password: string): string =>
  [
    '  - id: secure',
    '    type: opcua',
    `    endpoint: ${endpoint}`,
    '    securityMode: SignAndEncrypt',
    '    securityPolicy: Basic256Sha256',
    `    auth: { type: username, username: agent, password: ${JSON.stringify(password)} }`,
    '    samplingIntervalMs: 100',
    '    reconnect: { minMs: 200, maxMs: 400 }',
    '    tags:',
    ...[0, 1, 2, 3, 4].map((i) => `      - { nodeId: "${tagNodeId(i)}", machine: m, signal: t${i} }`),
  ].join('\n');

describe('OPC UA security', () => {
  let dir: string;
  let server: OpcuaTestServer;
  let run: AgentRun | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-opcua-sec-'));
    server = new OpcuaTestServer({ pkiDir: join(dir, 'server-pki'), tags: 5, changeEveryMs: 200, securityModes: ['SignAndEncrypt'], allowAnonymous: false });
    await server.start();
  }, 30_000);

  afterAll(async () => {
    await run?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an untrusted server certificate: one error naming the exact trust command; running it lets data flow over SignAndEncrypt/Basic256Sha256', async () => {
    run = await startAgentWith(dir, source(server.endpoint, 'secret'));
    const untrusted = (): Record<string, unknown>[] => run?.logs.filter((l) => l.code === 'SFA_ERR_OPCUA_CERT_UNTRUSTED') ?? [];
    await waitFor(() => untrusted().length > 0, 20_000, 'the untrusted-certificate error');
    const h = await run.healthz();
    expect(h.sources[0]).toMatchObject({ id: 'secure', state: 'error' });
    // several retries later (backoff 200–400 ms) it is still said once
    await new Promise((r) => setTimeout(r, 2500));
    expect(untrusted()).toHaveLength(1);
    const msg = String(untrusted()[0]?.msg);
    const thumbprint = serverThumbprint(server.options.pkiDir);
    expect(msg).toContain(`shopfloor-agent trust accept ${thumbprint}`);
    expect(String(untrusted()[0]?.hint)).toMatch(/trust accept/);
    expect(run.agent.buffer.latest('m').filter((l) => l.quality === 'good')).toHaveLength(0);

    // trust list shows it as rejected; the command from the message trusts it
    const pki = join(dir, 'data', 'pki');
    const list = await cli(['trust', 'list', '--pki', pki]);
    expect(list.out).toMatch(new RegExp(`rejected\\s+${thumbprint}`));
    const command = /shopfloor-agent (trust accept \S+ --pki \S+)/.exec(msg)?.[1];
    expect(command).toBeDefined();
    const accepted = await cli((command ?? '').split(' '));
    expect(accepted.code).toBe(0);
    expect((await cli(['trust', 'list', '--pki', pki])).out).toMatch(new RegExp(`trusted\\s+${thumbprint}`));

    // the running agent picks it up at its next attempt, and data flows
    await waitFor(async () => (await run?.healthz())?.sources[0]?.state === 'connected', 20_000, 'the source to connect');
    await waitFor(() => (run?.agent.buffer.latest('m').filter((l) => l.quality === 'good').length ?? 0) === 5, 15_000, 'every tag to deliver');
    expect(server.sessionCount()).toBe(1);
    await run.stop();
    run = undefined;
  }, 60_000);

  it('a wrong password: one error saying to fix auth, and no data', async () => {
    // same data folder: the server is trusted by now
    run = await startAgentWith(dir, source(server.endpoint, 'wrong-password'));
    const auth = (): Record<string, unknown>[] => run?.logs.filter((l) => l.code === 'SFA_ERR_OPCUA_AUTH') ?? [];
    await waitFor(() => auth().length > 0, 20_000, 'the auth error');
    await new Promise((r) => setTimeout(r, 2500));
    expect(auth()).toHaveLength(1);
    expect(String(auth()[0]?.msg)).toMatch(/refused user "agent" \(BadUserAccessDenied\)/);
    expect(String(auth()[0]?.hint)).toMatch(/auth\.username\/auth\.password/);
    expect((await run.healthz()).sources[0]).toMatchObject({ state: 'error' });
    expect(run.logs.filter((l) => l.code === 'SFA_ERR_OPCUA_CERT_UNTRUSTED')).toHaveLength(0);
    await run.stop();
    run = undefined;
  }, 40_000);

  it('trust accept of an unknown thumbprint is bad usage that says how to find the right one', async () => {
    const r = await cli(['trust', 'accept', 'deadbeef', '--pki', join(dir, 'data', 'pki')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SFA_ERR_OPCUA_TRUST/);
    expect(r.err).toMatch(/trust list/);
  });
});
