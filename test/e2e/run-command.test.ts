/**
 * `shopfloor-agent run` as a user starts it: the demo config with its built-in simulator,
 * a real process, SIGTERM at the end. Pending samples are flushed before exit (code 0).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { waitFor } from '../helpers/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'agent/cli/shopfloor-agent.mjs');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

describe('shopfloor-agent run (demo config, real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-run-'));
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the demo plant, serves KPIs, and flushes everything on SIGTERM', async () => {
    const [ua, mq, http] = [await freePort(), await freePort(), await freePort()];
    const config = readFileSync(join(ROOT, 'config/demo.yaml'), 'utf8')
      .replaceAll('48401', String(ua))
      .replaceAll('18831', String(mq))
      .replace('port: 8080', `port: ${http}`)
      .replace('dataDir: ./data/demo', `dataDir: ${join(dir, 'data')}`)
      .replace('speed: 10', 'speed: 30')
      .replace('agent: { id: demo-edge,', 'agent: { id: demo-edge, logLevel: debug,');
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, config);
    // the agent's output goes to a file, as under a service manager's log redirection
    const logFile = join(dir, 'agent.log');
    const fd = openSync(logFile, 'w');
    child = spawn(process.execPath, [BIN, 'run', '-c', file], { cwd: dir, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const readLog = (): string => readFileSync(logFile, 'utf8');
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));

    let last = '';
    type Kpis = { rows: { machine: string; energyPerUnitKwh: number | null; scrapRate: number | null }[] };
    const rows = await waitFor(
      async () => {
        try {
          const text = await (await fetch(`http://127.0.0.1:${http}/api/kpis`)).text();
          last = text;
          const k = JSON.parse(text) as Kpis;
          return k.rows.filter((r) => r.energyPerUnitKwh !== null && r.scrapRate !== null).length >= 4 ? k.rows : undefined;
        } catch {
          return undefined;
        }
      },
      90_000,
      '4 machines with energy per unit and scrap rate',
      500,
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}; last answer: ${last.slice(0, 1500)}; the agent's log: ${readLog().slice(-3000)}`);
    });
    expect(rows.map((r) => r.machine)).toEqual(['printer-1', 'printer-2', 'cnc-1', 'assembly-1']);
    // every line of the log is JSON (stdout is not a terminal)
    const lines = readLog().split('\n').filter((l) => l.trim() !== '');
    for (const l of lines) expect(() => JSON.parse(l) as unknown, l).not.toThrow();

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(readLog()).toContain('all pending samples flushed');
    const db = new Database(join(dir, 'data', 'buffer.db'), { readonly: true });
    const n = (db.prepare('SELECT COUNT(*) AS n FROM samples').get() as { n: number }).n;
    db.close();
    expect(n).toBeGreaterThan(50);
  }, 150_000);
});
