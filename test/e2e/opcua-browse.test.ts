/**
 * `shopfloor-agent browse`: lists variables with nodeId, browse path and data type; the
 * `--emit-config` block, pasted into a config, passes `check` and delivers data. Browsing is
 * read-only (the server records no Write, Call, AddNodes or DeleteNodes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../agent/cli/main.ts';
import { OpcuaTestServer } from '../helpers/opcua-test-server.ts';
import { startAgentWith, type AgentRun } from '../helpers/opcua-agent.ts';
import { waitFor } from '../helpers/index.ts';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('shopfloor-agent browse', () => {
  let dir: string;
  let server: OpcuaTestServer;
  let run: AgentRun | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-opcua-browse-'));
    server = new OpcuaTestServer({ pkiDir: join(dir, 'server-pki'), tags: 6, tagsPerMachine: 3, changeEveryMs: 200 });
    await server.start();
  });

  afterAll(async () => {
    await run?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists variables with nodeId, browse path and data type', async () => {
    const r = await cli(['browse', server.endpoint, '--pki', join(dir, 'pki')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/ns=1;s=Tag\.0\s+TestPlant\/Press1\/Tag0\s+Double/);
    expect(r.out).toMatch(/ns=1;s=Tag\.5\s+TestPlant\/Press2\/Tag5\s+Double/);
    expect(r.out).toMatch(/ns=1;s=Values\.Int64Small\s+TestPlant\/Values\/Int64Small\s+Int64/);
    expect(r.out).toMatch(/ns=1;s=Values\.Mode\s+TestPlant\/Values\/Mode\s+MessageSecurityMode/);
    expect(r.out).toMatch(/ns=1;s=Values\.Vector\s+TestPlant\/Values\/Vector\s+Double\[\]/);
    // --depth bounds the walk
    const shallow = await cli(['browse', server.endpoint, '--depth', '2', '--pki', join(dir, 'pki')]);
    expect(shallow.out).not.toMatch(/Tag\.0/);
  });

  it('--emit-config prints a tags: block that, pasted into a config, passes check and delivers data', async () => {
    const r = await cli(['browse', server.endpoint, '--emit-config', '--security', 'SignAndEncrypt/Aes256_Sha256_RsaPss', '--user', 'agent', '--password', 'secret', '--pki', join(dir, 'pki')]);
    // the server's certificate is not trusted yet: the same clear error as the agent gives
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/SFA_ERR_OPCUA_CERT_UNTRUSTED/);
    const accept = /shopfloor-agent (trust accept \S+ --pki \S+)/.exec(r.err)?.[1];
    expect((await cli((accept ?? '').split(' '))).code).toBe(0);

    const ok = await cli(['browse', server.endpoint, '--emit-config', '--security', 'SignAndEncrypt/Aes256_Sha256_RsaPss', '--user', 'agent', '--password', 'secret', '--pki', join(dir, 'pki')]);
    expect(ok.code, ok.err).toBe(0);
    const block = ok.out;
    expect(block).toMatch(/^ {4}tags:$/m);
    expect(block).not.toMatch(/nodeId: "ns=1;s=Values\.(Vector|Blob)"/); // arrays and structures are left out
    expect(block).toMatch(/# skipped 2 arrays\/structures/);
    const machines = /machines referenced \(add them under machines\[\]\): (.+)$/m.exec(block)?.[1]?.split(', ') ?? [];
    expect(machines).toEqual(['press1', 'press2', 'values']);

    const sourceYaml = ['  - id: browsed', '    type: opcua', `    endpoint: ${server.endpoint}`, '    samplingIntervalMs: 100', block].join('\n');
    const file = join(dir, 'agent.yaml');
    writeFileSync(
      file,
      ['site: { id: s }', `agent: { id: a, dataDir: ${JSON.stringify(join(dir, 'data'))} }`, `machines: [${machines.map((m) => `{ id: ${m} }`).join(', ')}]`, 'sources:', sourceYaml, ''].join('\n'),
    );
    const check = await cli(['check', '-c', file]);
    expect(check.code, check.err).toBe(0);

    run = await startAgentWith(dir, sourceYaml, machines);
    await waitFor(() => (run?.agent.buffer.latest('press1').filter((l) => l.quality === 'good').length ?? 0) === 3, 20_000, 'press1 tags');
    await waitFor(() => (run?.agent.buffer.latest('press2').filter((l) => l.quality === 'good').length ?? 0) === 3, 20_000, 'press2 tags');
    const values = new Map(run.agent.buffer.latest('values').map((l) => [l.signal, l.value]));
    expect(values.get('int64_small')).toBe(123456789);
    expect(values.get('text')).toBe('job-42');
    expect((await run.healthz()).sources[0]?.problems).toEqual([]);
  }, 60_000);

  it('never sent a Write, Call, AddNodes or DeleteNodes', () => {
    expect(server.requests.get('BrowseRequest')).toBeGreaterThan(0);
    expect(server.writeRequests()).toEqual([]);
  });
});
