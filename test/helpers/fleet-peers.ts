/**
 * Fleet processes for tests: a config against Mosquitto (a topic prefix and a shared group of
 * their own) and PostgreSQL (a schema of its own) or SQLite, the Fleet in-process or as a
 * child process of the real CLI, and an MQTT client that publishes like an agent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { loadFleetConfigText, type FleetConfig } from '../../config/fleet-schema.ts';
import { Fleet } from '../../agent/fleet/index.ts';
import { MOSQUITTO_URL } from './peers.ts';
import { PG_TEST_URL } from './fleet-messages.ts';

const silentLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface FleetTestSetup {
  id: string;
  prefix: string;
  group: string;
  dataDir: string;
  /** a PostgreSQL schema, or undefined for SQLite */
  schema?: string | undefined;
  /** the `ingest` mapping's content (default: short batches and confirmation intervals) */
  ingest?: string;
  /** a fixed HTTP port (default 0) */
  port?: number;
  /** more top-level keys (benchmarks) */
  extra?: string;
}

export function fleetYaml(s: FleetTestSetup): string {
  const db = s.schema !== undefined ? `database: { url: "${PG_TEST_URL}", schema: ${s.schema} }\n` : '';
  return (
    `fleet: { id: ${s.id}, dataDir: "${s.dataDir}", logLevel: warn }\n` +
    `broker: { url: "${MOSQUITTO_URL}", topicPrefix: "${s.prefix}", group: ${s.group}, sessionExpiryS: 600 }\n` +
    db +
    `http: { port: ${s.port ?? 0} }\n` +
    `ingest: { ${s.ingest ?? 'batchMs: 20, confirmIntervalMs: 50'} }\n` +
    (s.extra ?? '')
  );
}

export function fleetConfig(s: FleetTestSetup): FleetConfig {
  const r = loadFleetConfigText(fleetYaml(s));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

export async function startFleet(s: FleetTestSetup): Promise<Fleet> {
  const f = new Fleet(fleetConfig(s), silentLog);
  await f.start();
  return f;
}

const cli = fileURLToPath(new URL('../../agent/cli/shopfloor-agent.mjs', import.meta.url));

/** The real `shopfloor-agent fleet` in a child process (killed by the test). */
export function spawnFleet(s: FleetTestSetup): ChildProcess {
  const file = join(s.dataDir, `${s.id}.yaml`);
  writeFileSync(file, fleetYaml(s));
  return spawn(process.execPath, [cli, 'fleet', '-c', file], { env: { ...process.env, SFA_FROM_SOURCE: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A client that publishes as agents do (QoS 1) and reads what the fleet publishes back. */
export async function agentClient(): Promise<MqttClient> {
  return mqtt.connectAsync(MOSQUITTO_URL, { clientId: `sfa-test-agent-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, clean: true });
}

/** Clears the retained messages a test left under its prefix (status, plant, confirm). */
export async function clearRetained(c: MqttClient, topics: readonly string[]): Promise<void> {
  for (const t of topics) await c.publishAsync(t, '', { qos: 1, retain: true });
}

/** Ends a fleet process's persistent session at the broker (tests leave none behind). */
export async function endSession(id: string): Promise<void> {
  const c = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `shopfloor-fleet-${id}`, clean: true });
  await c.endAsync();
}
