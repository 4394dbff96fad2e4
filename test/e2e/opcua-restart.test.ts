/**
 * The OPC UA server is killed (SIGKILL) mid-run and restarted on the same port 10 s later:
 * every tag delivers again within 15 s of the restart, the held values were ended by one
 * bad-quality sample per tag, and the server holds exactly one session from the agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpcuaServerProcess } from '../helpers/opcua-server-process.ts';
import { tagNodeId } from '../helpers/opcua-test-server.ts';
import { startAgentWith, type AgentRun } from '../helpers/opcua-agent.ts';
import { waitFor } from '../helpers/index.ts';

const TAGS = 20;

describe('OPC UA server restart', () => {
  let dir: string;
  let server: OpcuaServerProcess;
  let run: AgentRun;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-opcua-restart-'));
    server = new OpcuaServerProcess({ pkiDir: join(dir, 'server-pki'), tags: TAGS, changeEveryMs: 250 });
    await server.start();
    run = await startAgentWith(
      dir,
      [
        '  - id: plc',
        '    type: opcua',
        `    endpoint: ${server.endpoint}`,
        '    samplingIntervalMs: 100',
        '    keepAliveMs: 2000',
        '    reconnect: { minMs: 500, maxMs: 2000 }',
        '    tags:',
        ...Array.from({ length: TAGS }, (_, i) => `      - { nodeId: "${tagNodeId(i)}", machine: m, signal: t${i} }`),
      ].join('\n'),
    );
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const goodSince = (t: number): Set<string> => {
    const rows = run.agent.buffer.machineWindow('m', t, Date.now() + 3_600_000);
    return new Set(rows.filter((r) => r.quality === 'good').map((r) => r.signal));
  };

  it('every tag delivers again within 15 s of the restart, with exactly one session on the server', async () => {
    await waitFor(() => goodSince(0).size === TAGS, 20_000, 'every tag before the kill');
    expect((await server.stats()).sessions).toBe(1);

    await server.kill();
    const killedAt = Date.now();
    await waitFor(async () => (await run.healthz()).sources[0]?.state !== 'connected', 15_000, 'the agent to notice');
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - killedAt))));
    // one bad-quality sample per tag ended the held values
    const bad = run.agent.buffer.machineWindow('m', killedAt - 1000, Date.now() + 1000).filter((r) => r.quality === 'bad');
    expect(bad).toHaveLength(TAGS);
    expect(new Set(bad.map((r) => r.signal)).size).toBe(TAGS);

    await server.start(); // same port, same certificate
    const restartedAt = Date.now();
    await waitFor(() => goodSince(restartedAt - 500).size === TAGS, 15_000, 'every tag to deliver after the restart');
    expect(Date.now() - restartedAt).toBeLessThan(15_000);
    await waitFor(async () => (await run.healthz()).sources[0]?.state === 'connected', 10_000, '/healthz to show connected');
    // a few keep-alives later, still exactly one session
    await new Promise((r) => setTimeout(r, 3000));
    expect((await server.stats()).sessions).toBe(1);
  }, 60_000);
});
