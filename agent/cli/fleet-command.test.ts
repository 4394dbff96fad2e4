/** `shopfloor-agent fleet`: the config is checked like the agent's (every path named, exit 2). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './main.ts';

const dir = mkdtempSync(join(tmpdir(), 'sfa-fleet-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`) });
  return { code, out, err };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('shopfloor-agent fleet', () => {
  it('--check validates the config and exits 0', async () => {
    const r = await run(['fleet', '-c', file('ok.yaml', 'fleet: { id: f1 }\nbroker: { url: mqtt://127.0.0.1:1883 }\n'), '--check']);
    expect(r).toMatchObject({ code: 0 });
    expect(r.out).toMatch(/ok — fleet f1, broker mqtt:\/\/127\.0\.0\.1:1883, store SQLite/);
  });

  it('a bad config names each path and exits 2 (also without --check)', async () => {
    const r = await run(['fleet', '-c', file('bad.yaml', 'fleet: { id: f1 }\nbroker: { url: "ftp://127.0.0.1:4222", group: "a b" }\nhttp: { host: 0.0.0.0 }\n')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broker\.url.*a broker URL like/);
    expect(r.err).toMatch(/broker\.group/);
    expect(r.err).toMatch(/http\.token/);
  });

  it('a missing file exits 2 with what to do', async () => {
    const r = await run(['fleet', '-c', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot read fleet config file .*no such file/);
  });
});
