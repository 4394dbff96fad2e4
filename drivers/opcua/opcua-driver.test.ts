/**
 * The OPC UA driver against a real node-opcua server started by the test: values and their
 * types, per-tag parameters, unknown nodeIds reported per tag, the subscription watchdog.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { opcuaSourceSchema, type OpcuaSourceConfig } from '../../config/schema.ts';
import { OpcuaTestServer, tagNodeId } from '../../test/helpers/opcua-test-server.ts';
import { recordingContext } from '../../test/helpers/opcua-context.ts';
import { waitFor } from '../../test/helpers/index.ts';
import { OpcuaDriver } from './opcua-driver.ts';

function source(endpoint: string, extra: Record<string, unknown>): OpcuaSourceConfig {
  return opcuaSourceSchema.parse({ id: 'src', type: 'opcua', endpoint, samplingIntervalMs: 100, ...extra });
}

describe('OpcuaDriver against a node-opcua server', () => {
  let dir: string;
  let server: OpcuaTestServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-opcua-'));
    server = new OpcuaTestServer({ pkiDir: join(dir, 'server-pki'), tags: 100, changeEveryMs: 200 });
    await server.start();
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('100 good tags deliver and 3 unknown nodeIds are reported by id, without stopping the others', async () => {
    const unknown = ['ns=1;s=Nope.1', 'ns=1;s=Nope.2', 'ns=1;i=999999'];
    const tags = [
      ...Array.from({ length: 100 }, (_, i) => ({ nodeId: tagNodeId(i), machine: 'm', signal: `t${i}` })),
      ...unknown.map((nodeId, i) => ({ nodeId, machine: 'm', signal: `bad${i}` })),
    ].sort(() => Math.random() - 0.5);
    const rec = recordingContext();
    const driver = new OpcuaDriver(source(server.endpoint, { tags, maxItemsPerCall: 40 }), { pkiDir: join(dir, 'pki-a') });
    await driver.start(rec.ctx);
    try {
      await waitFor(() => new Set(rec.samples.filter((s) => s.quality === 'good').map((s) => s.signal)).size === 100, 20_000, '100 tags to deliver');
      expect(rec.state()).toBe('connected');
      expect(driver.tagProblems().map((p) => p.tag).sort()).toEqual([...unknown].sort());
      expect(driver.tagProblems().every((p) => p.status === 'BadNodeIdUnknown')).toBe(true);
      expect(rec.samples.some((s) => s.signal.startsWith('bad') && s.quality === 'good')).toBe(false);
      // values keep coming
      const n = rec.samples.length;
      await waitFor(() => rec.samples.length > n + 200, 10_000, 'more samples');
      expect(rec.logs.filter((l) => /cannot be monitored/.test(l.msg))).toHaveLength(1);
    } finally {
      await driver.stop();
    }
  });

  it('maps Int64/UInt64, booleans, strings and enumerations; skips arrays and structures with one warning each', async () => {
    const names = ['Int64Small', 'Int64Negative', 'UInt64Big', 'Flag', 'Text', 'Mode', 'Vector', 'Blob'];
    const rec = recordingContext();
    const driver = new OpcuaDriver(source(server.endpoint, { tags: names.map((n) => ({ nodeId: `ns=1;s=Values.${n}`, machine: 'm', signal: n.toLowerCase() })) }), { pkiDir: join(dir, 'pki-b') });
    await driver.start(rec.ctx);
    try {
      await waitFor(() => new Set(rec.samples.map((s) => s.signal)).size >= 6, 15_000, 'typed values');
      await new Promise((r) => setTimeout(r, 500));
      const by = new Map(rec.samples.map((s) => [s.signal, s]));
      expect(by.get('int64small')).toMatchObject({ value: 123456789, quality: 'good' });
      expect(by.get('int64negative')).toMatchObject({ value: -2, quality: 'good' });
      expect(by.get('uint64big')).toMatchObject({ value: 2 ** 56 - 1, quality: 'uncertain' });
      expect(by.get('flag')).toMatchObject({ value: true, quality: 'good' });
      expect(by.get('text')).toMatchObject({ value: 'job-42', quality: 'good' });
      expect(by.get('mode')).toMatchObject({ value: 2, quality: 'good' });
      expect(by.has('vector')).toBe(false);
      expect(by.has('blob')).toBe(false);
      const warns = rec.logs.filter((l) => l.level === 'warn').map((l) => String(l.obj.nodeId));
      expect(warns.filter((w) => w === 'ns=1;s=Values.Vector')).toHaveLength(1);
      expect(warns.filter((w) => w === 'ns=1;s=Values.Blob')).toHaveLength(1);
      expect(warns.filter((w) => w === 'ns=1;s=Values.UInt64Big')).toHaveLength(1);
      // timestamps are the source's
      expect(Math.abs((by.get('flag')?.ts ?? 0) - Date.now())).toBeLessThan(120_000);
    } finally {
      await driver.stop();
    }
  });
});
