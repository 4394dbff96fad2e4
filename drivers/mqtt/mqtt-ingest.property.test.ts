/**
 * Property: 10,000 random payloads at the JSON decoder and 10,000 at the Sparkplug decoder,
 * through the real ingest path into a real SQLite buffer. Nothing escapes as an exception;
 * every message has exactly one outcome; each bad one becomes exactly one dead letter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { get as tahu } from 'sparkplug-payload';
import { SqliteBuffer } from '../../agent/buffer/index.ts';
import { mqttSourceSchema } from '../../config/schema.ts';
import type { DriverContext } from '../driver.ts';
import { SparkplugCodec } from '../sparkplug/index.ts';
import { MqttIngest } from './mqtt-ingest.ts';

const RUNS = 10_000;
const MAX_BYTES = 4096;

interface Tally {
  commits: number;
  samples: number;
  deadLetters: number;
}

function harness(buffer: SqliteBuffer): { ctx: DriverContext; tally: Tally } {
  const tally: Tally = { commits: 0, samples: 0, deadLetters: 0 };
  const ctx: DriverContext = {
    emit: () => {
      throw new Error('MQTT must commit, not emit');
    },
    commit: (s) => {
      tally.commits++;
      tally.samples += s.length;
      buffer.commit(s);
    },
    deadLetter: (l) => {
      tally.deadLetters++;
      buffer.deadLetter(l.source, l.topic, l.reason, l.payload);
    },
    setState: () => undefined,
    log: pino({ level: 'silent' }),
  };
  return { ctx, tally };
}

type Case = { kind: 'good'; samples: number; payload: Buffer; topic?: string } | { kind: 'bad'; payload: Buffer; topic?: string } | { kind: 'any'; payload: Buffer; topic?: string };

const str = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });

const goodRecord = fc
  .record({ e: fc.option(fc.record({ kwh: finite }), { nil: undefined }), n: fc.option(fc.integer(), { nil: undefined }), st: fc.option(fc.string(), { nil: undefined }), extra: fc.option(fc.jsonValue(), { nil: undefined }) })
  .filter((r) => r.e !== undefined || r.n !== undefined || r.st !== undefined)
  .map((r) => ({ rec: r, samples: (r.e !== undefined ? 1 : 0) + (r.n !== undefined ? 1 : 0) + (r.st !== undefined ? 1 : 0) }));

const cases: fc.Arbitrary<Case> = fc.oneof(
  goodRecord.map((g): Case => ({ kind: 'good', samples: g.samples, payload: str(g.rec) })),
  fc.array(goodRecord, { minLength: 1, maxLength: 5 }).map((gs): Case => ({ kind: 'good', samples: gs.reduce((a, g) => a + g.samples, 0), payload: str(gs.map((g) => g.rec)) })),
  // not JSON at all
  fc.string().map((s): Case => ({ kind: 'bad', payload: str(`<${s}`) })),
  fc.constantFrom('{"n": NaN}', '{"n": Infinity}', '{"n": -Infinity}', '{"n": 1e999}', '{"e":{"kwh":-1e400}}', '', '{', '[1,', 'null').map((s): Case => ({ kind: 'bad', payload: str(s) })),
  // wrong types for mapped fields
  fc.oneof(fc.array(fc.jsonValue(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 })).map((v): Case => ({ kind: 'bad', payload: str({ n: v, st: 'x' }) })),
  // JSON that is not an object, or an object without any mapped field
  fc.oneof(fc.double(), fc.string(), fc.boolean(), fc.constant(null)).map((v): Case => ({ kind: 'bad', payload: str(v) })),
  fc.dictionary(fc.string().filter((k) => !['e', 'n', 'st', 'ts'].includes(k)), fc.jsonValue(), { maxKeys: 4 }).map((d): Case => ({ kind: 'bad', payload: str(d) })),
  // unusable timestamp
  fc.string().filter((s) => !Number.isFinite(Number(s)) || s.trim() === '').map((s): Case => ({ kind: 'bad', payload: str({ ts: s, n: 1 }) })),
  // too large, unmapped topic
  fc.integer({ min: MAX_BYTES + 1, max: MAX_BYTES * 3 }).map((n): Case => ({ kind: 'bad', payload: Buffer.alloc(n, 0x31) })),
  fc.string().map((s): Case => ({ kind: 'bad', payload: str({ n: 1 }), topic: `elsewhere/${s}` })),
  // anything at all
  fc.uint8Array({ maxLength: 600 }).map((b): Case => ({ kind: 'any', payload: Buffer.from(b) })),
);

describe('random payloads never escape as exceptions', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-prop-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`JSON decoder: ${RUNS} payloads, each bad one exactly one dead letter`, () => {
    const buffer = new SqliteBuffer({ dataDir: join(dir, 'json'), deadLetterCap: 1_000_000 });
    const { ctx, tally } = harness(buffer);
    const ingest = new MqttIngest(mqttSourceSchema.parse({ id: 'p', type: 'mqtt', url: 'mqtt://x', maxPayloadBytes: MAX_BYTES, topics: [{ filter: 'plant/+/t', machine: '{1}', timestamp: { field: 'ts', unit: 'ms' }, fields: { energy_kwh: 'e.kwh', parts_total: 'n', state: 'st' } }] }));
    const expected = { bad: 0, good: 0, samples: 0, any: 0 };
    fc.assert(
      fc.property(cases, (c) => {
        const before = { ...tally };
        ingest.ingest(ctx, c.topic ?? 'plant/m1/t', c.payload, 1_700_000_000_000);
        const commits = tally.commits - before.commits;
        const dead = tally.deadLetters - before.deadLetters;
        expect(commits + dead).toBe(1); // exactly one outcome
        if (c.kind === 'bad') {
          expected.bad++;
          expect(dead).toBe(1);
        } else if (c.kind === 'good') {
          expected.good++;
          expected.samples += c.samples;
          expect(commits).toBe(1);
          expect(tally.samples - before.samples).toBe(c.samples);
        } else expected.any++;
      }),
      { numRuns: RUNS },
    );
    const stats = buffer.stats();
    expect(stats.deadLetters).toBe(tally.deadLetters);
    expect(stats.samples).toBe(tally.samples);
    expect(tally.deadLetters).toBeGreaterThanOrEqual(expected.bad);
    expect(tally.deadLetters).toBeLessThanOrEqual(expected.bad + expected.any);
    expect(expected.bad).toBeGreaterThan(RUNS / 3);
    buffer.close();
  });

  it(`Sparkplug decoder: ${RUNS} payloads (random bytes and random well-formed messages)`, () => {
    const buffer = new SqliteBuffer({ dataDir: join(dir, 'sp'), deadLetterCap: 1_000_000 });
    const { ctx, tally } = harness(buffer);
    const ingest = new MqttIngest(mqttSourceSchema.parse({ id: 'p', type: 'mqtt', url: 'mqtt://x', maxPayloadBytes: MAX_BYTES, sparkplug: { rebirthHoldoffS: 0.001, metrics: [{ metric: '*', machine: '{device}', signal: 'm_{1}' }] } }));
    const reference = tahu('spBv1.0');
    const codec = new SparkplugCodec();
    const types = ['Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'Float', 'Double', 'Boolean', 'String', 'DateTime', 'Text'] as const;
    const metric = fc.record({
      name: fc.option(fc.constantFrom('a', 'b/c', 'Energy/Total', ''), { nil: undefined }),
      alias: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
      type: fc.constantFrom(...types),
      value: fc.oneof(fc.integer({ min: -100, max: 100 }), fc.double(), fc.boolean(), fc.string()),
      isHistorical: fc.boolean(),
    });
    const wellFormed = fc.record({
      type: fc.constantFrom('NBIRTH', 'DBIRTH', 'NDATA', 'DDATA', 'NDEATH', 'DDEATH', 'NCMD'),
      node: fc.constantFrom('n1', 'n2'),
      seq: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
      metrics: fc.array(metric, { maxLength: 6 }),
    });
    let rejectedByTahu = 0;
    let rawCount = 0;
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }).map((b) => ({ raw: Buffer.from(b) })), wellFormed.map((w) => ({ w }))), (c) => {
        const before = tally.deadLetters;
        if ('raw' in c) {
          rawCount++;
          let rejects = false;
          try {
            reference?.decodePayload(c.raw);
          } catch {
            rejects = true;
          }
          if (rejects) rejectedByTahu++;
          ingest.ingest(ctx, 'spBv1.0/g/DDATA/n1/dev', c.raw, 1);
          if (rejects) expect(tally.deadLetters - before).toBe(1);
          else expect(tally.deadLetters - before).toBeLessThanOrEqual(1);
          return;
        }
        const w = c.w;
        let payload: Uint8Array;
        try {
          payload = codec.encode({ seq: w.seq, timestamp: 5, metrics: w.metrics.map((m) => ({ ...m, value: m.value as never })) });
        } catch {
          return; // Tahu refuses to encode this combination: not a payload anyone can send
        }
        const topic = `spBv1.0/g/${w.type}/${w.node}${w.type.startsWith('D') ? '/dev' : ''}`;
        ingest.ingest(ctx, topic, Buffer.from(payload), 1);
        expect(tally.deadLetters - before).toBeLessThanOrEqual(1);
      }),
      { numRuns: RUNS },
    );
    expect(rawCount).toBeGreaterThan(RUNS / 4);
    expect(rejectedByTahu).toBeGreaterThan(rawCount / 4);
    expect(buffer.stats().deadLetters).toBe(tally.deadLetters);
    expect(buffer.stats().samples).toBe(tally.samples);
    buffer.close();
  });
});
