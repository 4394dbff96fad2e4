/**
 * The hand check of samples messages and `samplesMessageSchema` (zod) give the same verdict and
 * the same output: on messages breaking each rule, and on valid messages with one field replaced
 * by an arbitrary value (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { samplesMessage } from '../../test/helpers/fleet-messages.ts';
import { samplesMessageSchema } from './messages.ts';
import { checkSamplesFast, parseSamplesMessage } from './samples-check.ts';

type Json = Record<string, unknown>;

function base(): Json {
  return JSON.parse(JSON.stringify(samplesMessage({ instance: 'i-1', prevLastId: 10, firstId: 11, lastId: 20 }))) as Json;
}

function samplesOf(m: Json): Json[] {
  return m.samples as Json[];
}

function agree(json: unknown): void {
  const z = samplesMessageSchema.safeParse(json);
  const fast = checkSamplesFast(json);
  expect(fast !== undefined, JSON.stringify(json).slice(0, 300)).toBe(z.success);
  if (z.success) expect(fast).toEqual(z.data);
  const p = parseSamplesMessage(json);
  if (z.success) expect(p).toEqual(z.data);
  else expect(typeof p).toBe('string');
}

const edits: [string, (m: Json) => void][] = [
  ['valid', () => undefined],
  ['no instance, no prevLastId (a legacy agent)', (m) => { delete m.instance; delete m.prevLastId; }],
  ['extra keys are dropped', (m) => { m.extra = 1; (samplesOf(m)[0] as Json).extra = 'x'; }],
  ['boolean, null and empty string values', (m) => { const s = samplesOf(m); (s[0] as Json).value = true; (s[1] as Json).value = null; (s[2] as Json).value = ''; }],
  ['not an object', (m) => { m.samples = 'x'; }],
  ['no samples', (m) => { m.samples = []; }],
  ['a sample is an array', (m) => { samplesOf(m)[3] = [] as unknown as Json; }],
  ['a sample is null', (m) => { samplesOf(m)[3] = null as unknown as Json; }],
  ['site with a slash', (m) => { m.site = 'a/b'; }],
  ['agent empty', (m) => { m.agent = ''; }],
  ['agent with a control character', (m) => { m.agent = 'a\u0001'; }],
  ['instance null', (m) => { m.instance = null; }],
  ['instance too long', (m) => { m.instance = 'x'.repeat(65); }],
  ['firstId 0', (m) => { m.firstId = 0; }],
  ['lastId below firstId', (m) => { m.lastId = 10; }],
  ['prevLastId equal to firstId', (m) => { m.prevLastId = 11; }],
  ['prevLastId negative', (m) => { m.prevLastId = -1; }],
  ['fractional id', (m) => { (samplesOf(m)[2] as Json).id = 13.5; }],
  ['id out of range', (m) => { (samplesOf(m)[9] as Json).id = 21; }],
  ['ids not increasing', (m) => { (samplesOf(m)[2] as Json).id = 12; }],
  ['id as a string', (m) => { (samplesOf(m)[2] as Json).id = '13'; }],
  ['machine with #', (m) => { (samplesOf(m)[4] as Json).machine = 'm#'; }],
  ['machine too long', (m) => { (samplesOf(m)[4] as Json).machine = 'm'.repeat(129); }],
  ['signal empty', (m) => { (samplesOf(m)[4] as Json).signal = ''; }],
  ['signal missing', (m) => { delete (samplesOf(m)[4] as Json).signal; }],
  ['ts negative', (m) => { (samplesOf(m)[5] as Json).ts = -1; }],
  ['ts too large', (m) => { (samplesOf(m)[5] as Json).ts = 8.64e15 + 1; }],
  ['value an object', (m) => { (samplesOf(m)[6] as Json).value = {}; }],
  ['value too long', (m) => { (samplesOf(m)[6] as Json).value = 'v'.repeat(65_537); }],
  ['value infinite', (m) => { (samplesOf(m)[6] as Json).value = Infinity; }],
  ['value missing', (m) => { delete (samplesOf(m)[6] as Json).value; }],
  ['quality unknown', (m) => { (samplesOf(m)[7] as Json).quality = 'ok'; }],
];

describe('checkSamplesFast', () => {
  it.each(edits)('agrees with zod: %s', (_name, edit) => {
    const m = base();
    edit(m);
    agree(m);
  });

  it('refuses a message whose first sample has no machine (found by the property below)', () => {
    const m = JSON.parse(JSON.stringify(samplesMessage({ instance: 'i-1', prevLastId: 10, firstId: 11, lastId: 20 }))) as { samples: Record<string, unknown>[] };
    delete m.samples[0]?.machine;
    expect(checkSamplesFast(m)).toBeUndefined();
    expect(samplesMessageSchema.safeParse(m).success).toBe(false);
  });

  it('agrees with zod when one field of a valid message holds an arbitrary value', () => {
    const tricky = fc.oneof(
      fc.constantFrom(0, -0, 1, 10, 11, 20, 21, 1.5, -1, 8.64e15, 8.64e15 + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, NaN, Infinity, '', 'a/b', 'a+', '#', '\u0000', 'good', 'bad', 'x'.repeat(129), null, true, false, [], {}, undefined),
      fc.integer(),
      fc.double(),
      fc.string({ maxLength: 70 }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const envelope = ['agent', 'site', 'instance', 'firstId', 'lastId', 'prevLastId', 'samples'];
    const sample = ['id', 'machine', 'signal', 'ts', 'value', 'quality'];
    fc.assert(
      fc.property(fc.boolean(), fc.nat(9), fc.constantFrom(...envelope), fc.constantFrom(...sample), tricky, (inSample, index, ek, sk, v) => {
        const m = base();
        const target = inSample ? (samplesOf(m)[index] as Json) : m;
        const key = inSample ? sk : ek;
        if (v === undefined) delete target[key];
        else target[key] = v;
        agree(m);
      }),
      { numRuns: 2000 },
    );
  });
});
