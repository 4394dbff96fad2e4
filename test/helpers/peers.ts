/**
 * Finding the real peers tests need (DESIGN.md §7). A test whose peer is absent skips with
 * a message saying what to install; in CI (CI=true) the same test fails instead.
 */
import { connect } from 'node:net';
import { existsSync } from 'node:fs';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export function tcpReachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export interface Requirement {
  available: boolean;
  /** why it is missing and what to install */
  reason: string;
}

async function requirement(available: boolean, reason: string): Promise<Requirement> {
  if (!available) {
    if (IN_CI) throw new Error(`CI requires it: ${reason}`);
    console.warn(`skipping: ${reason}`);
  }
  return { available, reason };
}

export const MOSQUITTO_URL = process.env.SFA_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

export async function mosquitto(): Promise<Requirement> {
  const u = new URL(MOSQUITTO_URL);
  return requirement(await tcpReachable(u.hostname, Number(u.port || 1883)), `no MQTT broker on ${MOSQUITTO_URL}: apt-get install mosquitto && mosquitto -d`);
}

export async function chromium(): Promise<Requirement> {
  return requirement(existsSync('/usr/bin/chromium'), 'no /usr/bin/chromium: apt-get install chromium');
}

/** the single executable (npm run build:binary) */
export async function singleBinary(file: string): Promise<Requirement> {
  return requirement(existsSync(file), `no ${file}: npm run build:binary -- --arch x64`);
}

export async function postgres(): Promise<Requirement> {
  return requirement(await tcpReachable('127.0.0.1', 5432), 'no PostgreSQL on 127.0.0.1:5432 (database test)');
}

/** A topic prefix of its own per test run, so tests can run side by side on one broker. */
export function uniqueTopicPrefix(name: string): string {
  return `sfa-test/${name}/${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function waitFor<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
