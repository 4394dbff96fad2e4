import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fleetSchemaJsonPath, renderFleetSchemaJson } from './generate-fleet-schema.ts';
import { loadFleetConfigText } from './fleet-schema.ts';

const example = readFileSync(new URL('./fleet-example.yaml', import.meta.url), 'utf8');
const env = { FLEET_BROKER_PASSWORD: 'pw', FLEET_DATABASE_URL: 'postgres://fleet@db.example/fleet', FLEET_HTTP_TOKEN: 'a-token-of-sixteen-chars' };

function problems(text: string, e: Record<string, string> = {}): { path?: string; message: string; code: string }[] {
  const r = loadFleetConfigText(text, { env: e });
  return r.ok ? [] : r.problems;
}

describe('fleet config', () => {
  it('config/fleet-schema.json is not stale', () => {
    if (readFileSync(fleetSchemaJsonPath, 'utf8') !== renderFleetSchemaJson()) expect.fail('config/fleet-schema.json is stale: run `npm run schema` and commit the result');
  });

  it('config/fleet-example.yaml is valid and substitutes ${ENV}', () => {
    const r = loadFleetConfigText(example, { env, cwd: '/srv' });
    if (!r.ok) expect.fail(JSON.stringify(r.problems));
    expect(r.config.database.url).toBe(env.FLEET_DATABASE_URL);
    expect(r.config.broker.password).toBe('pw');
    expect(r.config.fleet.dataDir).toBe('/srv/fleet-data');
    expect(r.config.benchmarks.baselines['bracket-a']?.scrapRate).toBe(0.06);
  });

  it('fills the defaults of a minimal config (SQLite store, shared group, loopback HTTP)', () => {
    const r = loadFleetConfigText('fleet: { id: f1 }\nbroker: { url: mqtt://127.0.0.1:1883 }\n');
    if (!r.ok) expect.fail(JSON.stringify(r.problems));
    expect(r.config.database).toEqual({ schema: 'fleet' });
    expect(r.config.broker).toMatchObject({ topicPrefix: 'shopfloor', group: 'shopfloor-fleet', rejectUnauthorized: true });
    expect(r.config.http).toEqual({ host: '127.0.0.1', port: 8090, allowedHosts: [] });
  });

  it('names the path of every problem', () => {
    expect(problems('fleet: { id: f1 }\nbroker: { url: "mqtt://a:1883,mqtt://b:1883" }\n')).toEqual([
      expect.objectContaining({ path: 'broker.url', message: expect.stringMatching(/seed list/) }),
    ]);
    expect(problems('fleet: { id: f1 }\nbroker: { url: mqtt://h }\nhttp: { host: 0.0.0.0 }\n')).toEqual([expect.objectContaining({ path: 'http.token' })]);
    expect(problems('fleet: { id: f1 }\nbroker: { url: mqtt://h }\ndatabase: { url: "${DB}" }\n')).toEqual([
      expect.objectContaining({ path: 'database.url', code: 'SFA_ERR_CONFIG_ENV' }),
    ]);
    expect(problems('fleet: { id: f1 }\nbroker: { url: mqtt://h, topicPrefix: "a/#" }\ndatabase: { schema: "Drop Table" }\n').map((p) => p.path)).toEqual([
      'broker.topicPrefix',
      'database.schema',
    ]);
    expect(problems('')[0]?.message).toMatch(/fleet\.id and broker\.url/);
  });

  it('nats:// (JetStream): a seed list, the jetstream defaults, and the keys of the other transport refused', () => {
    const r = loadFleetConfigText('fleet: { id: f1 }\nbroker: { url: "nats://n1:4222,nats://n2:4222", jetstream: { replicas: 3 } }\n');
    if (!r.ok) expect.fail(JSON.stringify(r.problems));
    expect(r.config.broker.jetstream).toEqual({
      stream: 'SHOPFLOOR_UPSTREAM',
      stateStream: 'SHOPFLOOR_STATE',
      replicas: 3,
      storage: 'file',
      retention: 'limits',
      maxAgeS: 604_800,
      maxBytes: -1,
      duplicateWindowS: 120,
      ackWaitS: 30,
      maxAckPending: 1000,
    });
    expect(problems('fleet: { id: f1 }\nbroker: { url: "nats://n1:4222", mqttVersion: 4, shared: false, sessionExpiryS: 60 }\n').map((p) => p.path).sort()).toEqual([
      'broker.mqttVersion',
      'broker.sessionExpiryS',
      'broker.shared',
    ]);
    expect(problems('fleet: { id: f1 }\nbroker: { url: mqtt://h, jetstream: {} }\n')).toEqual([expect.objectContaining({ path: 'broker.jetstream', message: expect.stringMatching(/nats:\/\/ broker only/) })]);
    expect(problems('fleet: { id: f1 }\nbroker: { url: nats://h:4222, topicPrefix: a.b, group: g.1 }\n').map((p) => p.path)).toEqual(['broker.topicPrefix', 'broker.group']);
    expect(problems('fleet: { id: f1 }\nbroker: { url: nats://h:4222, jetstream: { stream: S, stateStream: S, maxAgeS: 60, duplicateWindowS: 120 } }\n')).toEqual([
      expect.objectContaining({ path: 'broker.jetstream.stateStream', message: expect.stringMatching(/must differ/) }),
      expect.objectContaining({ path: 'broker.jetstream.duplicateWindowS', message: expect.stringMatching(/duplicateWindowS/) }),
    ]);
    // the group's in-flight window must hold at least one worker's batch
    expect(problems('fleet: { id: f1 }\nbroker: { url: nats://h:4222, jetstream: { maxAckPending: 50 } }\ningest: { maxPending: 100 }\n')).toEqual([
      expect.objectContaining({ path: 'broker.jetstream.maxAckPending', message: expect.stringMatching(/below ingest.maxPending \(100/) }),
    ]);
  });
});
