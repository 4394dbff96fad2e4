/**
 * Property: whatever a plant sends, each decoder followed by the input boundary either yields
 * samples that are valid by an independent definition (an integer timestamp inside the window,
 * names safe as topic levels, a finite number, a bounded text, a boolean or null) or a
 * rejection with a reason, and never throws. 10,000 runs per decoder and for the boundary alone.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DataType, DataValue, StatusCodes, Variant, VariantArrayType } from 'node-opcua-client';
import { SourceBoundary, type BoundaryPolicy } from '../../agent/plant/index.ts';
import type { Sample } from '../../agent/model/index.ts';
import { mqttSourceSchema } from '../../config/schema.ts';
import { decodeMessage, decodeOrderEvent, matchTopic, prepareTopic } from '../../drivers/mqtt/topic-mapping.ts';
import { SparkplugCodec, SparkplugHost } from '../../drivers/sparkplug/index.ts';
import { convertDataValue } from '../../drivers/opcua/opcua-values.ts';
import { decodeRegister, planBlocks } from '../../drivers/modbus/register-plan.ts';
import { modbusSourceSchema } from '../../drivers/modbus/modbus-schema.ts';

const RUNS = 10_000;
const NOW = Date.UTC(2026, 11, 3, 12);
const POLICY: BoundaryPolicy = { maxFutureMs: 300_000, retainMs: 14 * 86_400_000, badTimestamp: 'deadLetter', maxSeries: 10_000 };
const LO = NOW - POLICY.retainMs;
const HI = NOW + POLICY.maxFutureMs;

/** Valid by the issue's definition, written independently of the boundary's code. */
function validSample(s: Sample): boolean {
  const okName = (n: unknown): boolean =>
    typeof n === 'string' && n.length >= 1 && n.length <= 128 && !/[/+#\u0000-\u001f\u007f-\u009f\ufffd]/.test(n) && Buffer.from(n, 'utf8').toString('utf8') === n;
  const v = s.value;
  const okValue = v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 4096);
  return Number.isInteger(s.ts) && s.ts >= LO && s.ts <= HI && okName(s.machine) && okName(s.signal) && okValue && ['good', 'uncertain', 'bad'].includes(s.quality);
}

/**
 * Runs samples through a boundary; every one is admitted valid or rejected with a reason (a
 * series past the source's cap is rejected once, its later samples are only counted).
 */
/** per test: a property over inputs that all pass (or all fail) would prove nothing */
const tally = { admitted: 0, rejected: 0 };

function throughBoundary(b: SourceBoundary, samples: readonly Sample[]): void {
  const rejected: string[] = [];
  const capped = b.seriesCapped;
  const out = b.admit(samples, NOW, (_s, reason) => rejected.push(reason));
  tally.admitted += out.length;
  tally.rejected += rejected.length;
  if (capped === 0 && b.seriesCapped === 0) expect(out.length + rejected.length).toBe(samples.length);
  else expect(out.length + rejected.length).toBeLessThanOrEqual(samples.length);
  for (const s of out) expect(validSample(s), JSON.stringify(s)?.slice(0, 300)).toBe(true);
  for (const r of rejected) expect(r.length).toBeGreaterThan(0);
}

const hostileTs = fc.oneof(
  { arbitrary: fc.integer({ min: LO, max: HI }), weight: 3 },
  fc.constantFrom(1e17, -1, 0, Number.NaN, Infinity, -Infinity, 18446744073709551615, Number.MAX_SAFE_INTEGER, HI + 1, LO - 1, NOW + 0.5),
  fc.double(),
);
const hostileName = fc.oneof(
  { arbitrary: fc.constantFrom('m1', 'm2', 'press-3', 'energy_kwh'), weight: 3 },
  fc.constantFrom('m1', 'evil/#', 'a+b', '#', '', 'nul\u0000', '\ud800', 'x'.repeat(10_000), 'tab\t', 'ok-name.1', 'Presse 1'),
  fc.string({ maxLength: 140 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const hostileValue = fc.oneof(fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 50 }), fc.constant('y'.repeat(5000)), fc.constant(undefined), fc.object({ maxDepth: 1 }));

describe(`plant input: ${RUNS} hostile inputs per decoder, through the boundary`, () => {
  beforeEach(() => {
    tally.admitted = 0;
    tally.rejected = 0;
  });
  afterEach(() => {
    expect(tally.admitted).toBeGreaterThan(RUNS / 50);
    expect(tally.rejected).toBeGreaterThan(10);
  });

  it('the boundary alone: any sample is admitted valid or rejected with a reason', () => {
    const b = new SourceBoundary({ ...POLICY, maxSeries: 500 });
    const sample = fc.record({ machine: hostileName, signal: hostileName, ts: hostileTs, value: hostileValue, quality: fc.constantFrom('good', 'uncertain', 'bad') });
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 5 }), (samples) => throughBoundary(b, samples as Sample[])),
      { numRuns: RUNS },
    );
    expect(b.seriesCapped).toBeGreaterThan(0);
  });

  it('MQTT JSON and plain topics: any topic level and payload', () => {
    const b = new SourceBoundary(POLICY);
    const src = mqttSourceSchema.parse({
      id: 'p', type: 'mqtt', url: 'mqtt://x',
      topics: [
        { filter: 'plant/+/+/t', machine: '{1}', timestamp: { field: 'ts', unit: 'ms' }, fields: { energy_kwh: 'e.kwh', parts_total: 'n', state: 'st' } },
        { filter: 'plain/+/+', machine: '{1}', signal: '{2}', format: 'plain' },
        { filter: 'iso/+', machine: '{1}', timestamp: { field: 't', unit: 'iso' }, fields: { power_kw: 'p' } },
      ],
    });
    const topics = src.topics.map(prepareTopic);
    const record = fc.record({ ts: fc.option(fc.oneof(hostileTs, fc.string({ maxLength: 30 })), { nil: undefined }), e: fc.option(fc.record({ kwh: fc.oneof(fc.double(), fc.jsonValue()) }), { nil: undefined }), n: fc.option(fc.jsonValue({ maxDepth: 1 }), { nil: undefined }), st: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }), t: fc.option(fc.oneof(fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'nope' : d.toISOString())), fc.string()), { nil: undefined }), p: fc.option(fc.double(), { nil: undefined }) });
    const payload = fc.oneof(
      record.map((r) => Buffer.from(JSON.stringify(r) ?? '')),
      fc.array(record, { maxLength: 3 }).map((r) => Buffer.from(JSON.stringify(r))),
      fc.constantFrom('{"ts":1e17,"n":1}', '{"ts":-1,"n":1}', '{"ts":"abc","n":1}', '{"n":1e999}', 'NaN', '12', '', 'true', 'x'.repeat(300)).map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
    );
    const topic = fc.tuple(fc.constantFrom('plant', 'plain', 'iso'), hostileName.filter((n) => !n.includes('/')), hostileName.filter((n) => !n.includes('/'))).map(([a, m, s]) => (a === 'plant' ? `plant/${m}/${s}/t` : a === 'plain' ? `plain/${m}/${s}` : `iso/${m}`));
    fc.assert(
      fc.property(topic, payload, (t, p) => {
        for (const pt of topics) {
          const captures = matchTopic(pt.levels, t);
          if (!captures) continue;
          const res = decodeMessage(pt, captures, p, NOW);
          if (res.ok) throughBoundary(b, res.samples);
          else expect(res.reason.length).toBeGreaterThan(0);
          return;
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('MES order events: any JSON with any machine, orderId, product, ts', () => {
    const b = new SourceBoundary(POLICY);
    const ev = fc.record({ orderId: fc.option(fc.oneof({ arbitrary: fc.string({ minLength: 1, maxLength: 20 }), weight: 4 }, hostileName, fc.integer()), { nil: undefined, freq: 10 }), event: fc.option(fc.oneof({ arbitrary: fc.constantFrom('released', 'started', 'completed'), weight: 6 }, fc.string()), { nil: undefined, freq: 10 }), machine: fc.option(hostileName, { nil: undefined }), product: fc.option(fc.oneof(hostileName, fc.integer()), { nil: undefined }), quantity: fc.option(fc.oneof(fc.double(), fc.string()), { nil: undefined }), ts: fc.option(fc.oneof(hostileTs, fc.string({ maxLength: 25 })), { nil: undefined }) });
    const payload = fc.oneof(ev.map((e) => JSON.stringify(e)), fc.array(ev, { maxLength: 3 }).map((e) => JSON.stringify(e)), fc.string({ maxLength: 50 }), fc.jsonValue().map((j) => JSON.stringify(j) ?? ''));
    fc.assert(
      fc.property(payload, fc.option(fc.constantFrom('m1', 'evil/#'), { nil: undefined }), (p, machine) => {
        const res = decodeOrderEvent(Buffer.from(p), NOW, machine);
        if (res.ok) {
          throughBoundary(b, res.samples);
          for (const s of res.samples) {
            const v = JSON.parse(s.value as string) as { orderId: string; product?: string };
            expect(v.orderId.length).toBeLessThanOrEqual(256);
            expect(/[\u0000-\u001f]/.test(v.orderId + (v.product ?? ''))).toBe(false);
          }
        } else expect(res.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('Sparkplug B: random bytes and well-formed payloads with hostile names and UInt64 timestamps', () => {
    const b = new SourceBoundary(POLICY);
    const host = new SparkplugHost({ groups: ['+'], rebirth: true, rebirthHoldoffS: 0.001, metrics: [{ group: '*', node: '*', device: '*', metric: '*', machine: '{device}', signal: 'm_{1}' }] });
    const codec = new SparkplugCodec();
    const u64 = fc.constantFrom(18446744073709551615n, 2n ** 63n, 0n, BigInt(NOW), BigInt(NOW) * 1000n, 1n).map((n) => ({ low: Number(n & 0xffffffffn) | 0, high: Number((n >> 32n) & 0xffffffffn) | 0, unsigned: true }));
    const metric = fc.record({
      name: fc.oneof(fc.constantFrom('a', 'Energy/Total', ''), hostileName.filter((n) => n.length < 300)),
      type: fc.constantFrom('Int64', 'UInt64', 'Double', 'Float', 'String', 'Boolean', 'DateTime'),
      value: fc.oneof(fc.double(), fc.boolean(), fc.string({ maxLength: 20 }), u64),
      timestamp: fc.option(u64, { nil: undefined }),
    });
    const msg = fc.record({ type: fc.constantFrom('NBIRTH', 'DBIRTH', 'NDATA', 'DDATA', 'DDEATH'), device: hostileName.filter((n) => n !== '' && !n.includes('/') && n.length < 300), ts: fc.option(u64, { nil: undefined }), metrics: fc.array(metric, { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((raw) => ({ raw })), msg.map((m) => ({ m }))), (c) => {
        let topic = 'spBv1.0/g/DDATA/n1/dev';
        let payload: Uint8Array;
        if ('raw' in c) payload = c.raw;
        else {
          topic = `spBv1.0/g/${c.m.type}/n1${c.m.type.startsWith('D') ? `/${c.m.device}` : ''}`;
          try {
            payload = codec.encode({ timestamp: c.m.ts as never, seq: 0, metrics: c.m.metrics.map((m) => ({ ...m, value: m.value as never, timestamp: m.timestamp as never })) });
          } catch {
            return; // Tahu refuses to encode it: nobody can send it
          }
        }
        const out = host.handle(topic, Buffer.from(payload), NOW);
        throughBoundary(b, out.samples);
        if (out.deadLetter !== undefined) expect(out.deadLetter.length).toBeGreaterThan(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('OPC UA: any scalar value, status and source timestamp', () => {
    const b = new SourceBoundary(POLICY);
    const variant = fc.oneof(
      fc.double().map((v) => new Variant({ dataType: DataType.Double, value: v })),
      fc.float().map((v) => new Variant({ dataType: DataType.Float, value: v })),
      fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })).map((w) => new Variant({ dataType: DataType.UInt64, arrayType: VariantArrayType.Scalar, value: w })),
      fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })).map((w) => new Variant({ dataType: DataType.Int64, arrayType: VariantArrayType.Scalar, value: w })),
      fc.string({ maxLength: 30 }).map((v) => new Variant({ dataType: DataType.String, value: v })),
      fc.boolean().map((v) => new Variant({ dataType: DataType.Boolean, value: v })),
      fc.date({ noInvalidDate: true }).map((v) => new Variant({ dataType: DataType.DateTime, value: v })),
    );
    const status = fc.constantFrom(StatusCodes.Good, StatusCodes.UncertainLastUsableValue, StatusCodes.BadNodeIdUnknown);
    const when = fc.oneof(fc.integer({ min: LO, max: HI }), fc.constantFrom(1e15, 8.64e15, -1, 1, Date.UTC(1601, 0, 1), NOW + 86_400_000)).map((t) => new Date(t));
    fc.assert(
      fc.property(variant, status, fc.option(when, { nil: undefined }), fc.option(fc.double({ noNaN: true }), { nil: undefined }), (value, statusCode, sourceTimestamp, scale) => {
        const dv = new DataValue({ value, statusCode, ...(sourceTimestamp ? { sourceTimestamp } : {}) });
        const { sample } = convertDataValue({ machine: 'm1', signal: 'temp_c', scale }, dv, NOW);
        throughBoundary(b, [sample]);
      }),
      { numRuns: RUNS },
    );
  });

  it('Modbus: any register bytes for every type, word and byte order, scale and offset', () => {
    const b = new SourceBoundary(POLICY);
    const types = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as const;
    const reg = fc.record({ type: fc.constantFrom(...types), wordOrder: fc.constantFrom('big', 'little'), byteOrder: fc.constantFrom('big', 'little'), scale: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }), offset: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }) });
    fc.assert(
      fc.property(reg, fc.uint8Array({ minLength: 0, maxLength: 8 }), (r, bytes) => {
        const src = modbusSourceSchema.parse({ id: 'mb', type: 'modbus', host: 'h', registers: [{ machine: 'm1', signal: 'power_kw', table: 'holding', address: 0, ...r }] });
        const planned = planBlocks(src.registers)[0]?.registers[0];
        if (planned === undefined) return;
        const value = decodeRegister(planned, Buffer.from(bytes));
        throughBoundary(b, [{ machine: 'm1', signal: 'power_kw', ts: NOW, value, quality: value === null ? 'bad' : 'good' }]);
      }),
      { numRuns: RUNS },
    );
  });
});
