/**
 * A Mosquitto of a test's own (tests that restart the broker must not restart the shared one):
 * a free loopback port, no persistence, killed and started again on the same port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpReachable, waitFor } from '../helpers/index.ts';

export const MOSQUITTO_BIN = process.env.SFA_TEST_MOSQUITTO ?? 'mosquitto';

/** True when the broker binary can be started here. */
export function mosquittoBinary(): boolean {
  return spawnSync(MOSQUITTO_BIN, ['-h'], { stdio: 'ignore' }).error === undefined;
}

export interface OwnMosquitto {
  url: string;
  port: number;
  /** SIGKILL: whatever it held in memory (queued QoS 1 messages, sessions) is gone */
  kill(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startOwnMosquitto(): Promise<OwnMosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sfa-mosq-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n`);
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const c = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: 'ignore' });
    child = c;
    await waitFor(() => tcpReachable('127.0.0.1', port, 200), 10_000, `mosquitto on port ${port}`, 50);
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    kill,
    start,
    close: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
