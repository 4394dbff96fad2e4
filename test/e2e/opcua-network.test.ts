/**
 * The TCP path between agent and server is cut by a proxy the test controls (connections kept
 * open but silent), then restored: data resumes by itself, /healthz shows the source leave and
 * regain `connected`, and the server is left with one session from the agent (the session
 * stranded by the cut is closed, not leaked). Also: a server that forgets the subscription
 * while the session lives has it rebuilt by the watchdog. A server recording every service
 * request sees no Write, Call, AddNodes or DeleteNodes over the whole run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpcuaTestServer, tagNodeId, WRITE_SERVICES } from '../helpers/opcua-test-server.ts';
import { BlackHoleProxy } from '../helpers/opcua-proxy.ts';
import { startAgentWith, type AgentRun } from '../helpers/opcua-agent.ts';
import { waitFor } from '../helpers/index.ts';

const TAGS = 10;

describe('OPC UA through a network that goes silent', () => {
  let dir: string;
  let server: OpcuaTestServer;
  let proxy: BlackHoleProxy;
  let run: AgentRun;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-opcua-net-'));
    server = new OpcuaTestServer({ pkiDir: join(dir, 'server-pki'), tags: TAGS, changeEveryMs: 250 });
    await server.start();
    proxy = new BlackHoleProxy({ host: '127.0.0.1', port: server.port });
    await proxy.start();
    run = await startAgentWith(
      dir,
      [
        '  - id: plc',
        '    type: opcua',
        `    endpoint: opc.tcp://127.0.0.1:${proxy.port}`,
        '    samplingIntervalMs: 100',
        '    keepAliveMs: 1000',
        '    connectTimeoutMs: 4000',
        '    reconnect: { minMs: 500, maxMs: 2000 }',
        '    tags:',
        ...Array.from({ length: TAGS }, (_, i) => `      - { nodeId: "${tagNodeId(i)}", machine: m, signal: t${i} }`),
      ].join('\n'),
    );
  }, 30_000);

  afterAll(async () => {
    await run?.stop();
    await proxy?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const goodSince = (t: number): Set<string> =>
    new Set(run.agent.buffer.machineWindow('m', t, Date.now() + 3_600_000).filter((r) => r.quality === 'good').map((r) => r.signal));

  it('data resumes by itself after a silent cut, /healthz shows connected → not connected → connected, and no session leaks', async () => {
    await waitFor(() => goodSince(0).size === TAGS, 20_000, 'every tag before the cut');
    expect((await run.healthz()).sources[0]?.state).toBe('connected');
    expect(server.sessionCount()).toBe(1);

    proxy.blackHole();
    const cutAt = Date.now();
    const down = await waitFor(async () => {
      const s = (await run.healthz()).sources[0];
      return s && s.state !== 'connected' ? s : undefined;
    }, 20_000, '/healthz to show the source not connected');
    expect(['disconnected', 'connecting']).toContain(down.state);
    // held values were ended
    await waitFor(() => run.agent.buffer.machineWindow('m', cutAt - 1000, Date.now() + 1000).filter((r) => r.quality === 'bad').length === TAGS, 5000, 'one bad sample per tag');

    await new Promise((r) => setTimeout(r, 3000)); // attempts into the black hole fail too
    expect((await run.healthz()).sources[0]?.state).not.toBe('connected');
    proxy.restore();
    const restoredAt = Date.now();
    await waitFor(async () => (await run.healthz()).sources[0]?.state === 'connected', 20_000, '/healthz to show connected again');
    await waitFor(() => goodSince(restoredAt).size === TAGS, 15_000, 'every tag after the restore');
    // the session stranded by the cut was closed: exactly one session from the agent
    await waitFor(() => server.sessionCount() === 1, 10_000, 'one session on the server');
  }, 60_000);

  it('a subscription the server forgets while the session lives is rebuilt by the watchdog', async () => {
    expect(server.dropSubscriptions()).toBeGreaterThan(0);
    const droppedAt = Date.now() + 200;
    await waitFor(() => run.logs.some((l) => /subscription silent past its keep-alive/.test(String(l.msg))), 15_000, 'the watchdog to act');
    await waitFor(() => goodSince(droppedAt).size === TAGS, 15_000, 'every tag after the rebuild');
    expect(server.sessionCount()).toBe(1);
  }, 40_000);

  it('the server saw no Write, Call, AddNodes or DeleteNodes from the agent', () => {
    // the recorder records: the agent's own services are there
    expect(server.requests.get('CreateMonitoredItemsRequest')).toBeGreaterThan(0);
    expect(server.requests.get('PublishRequest')).toBeGreaterThan(0);
    expect(server.writeRequests()).toEqual([]);
    for (const name of WRITE_SERVICES) expect(server.requests.get(name) ?? 0, name).toBe(0);
  });
});
