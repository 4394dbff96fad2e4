/**
 * The samples message's check on the ingest path. `samplesMessageSchema` (zod) stays the
 * definition; validating 1000 samples with it costs ~3 µs each, more than storing them, so a
 * message is first checked by hand against the same rules (agent/fleet/samples-check.test.ts
 * holds both to the same verdicts and outputs). Only a message this check refuses goes through
 * zod, which names the reason for its dead letter.
 */
import { reasonOf, samplesMessageSchema, type SamplesMessage } from './messages.ts';

const LEVEL = /^[^/+#\u0000-\u001f]+$/;
const QUALITY = new Set(['good', 'uncertain', 'bad']);

function isLevel(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= 128 && LEVEL.test(v);
}

function isId(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isValue(v: unknown): v is number | string | boolean | null {
  if (v === null || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  return typeof v === 'string' && v.length <= 65_536;
}

/** The samples, or undefined when one breaks a rule (then zod tells which). */
function samplesOf(raw: unknown[], prevLastId: number, firstId: number, lastId: number): SamplesMessage['samples'] | undefined {
  const out = new Array<SamplesMessage['samples'][number]>(raw.length);
  let prev = prevLastId;
  // machines repeat from sample to sample: the topic-level pattern runs once per change
  let machineOk: unknown = UNCHECKED;
  for (let i = 0; i < raw.length; i++) {
    const x = raw[i];
    if (!isRecord(x)) return undefined;
    const { id, machine, signal, ts, value, quality } = x;
    if (!isId(id, 1) || id < firstId || id > lastId || id <= prev) return undefined;
    if (machine !== machineOk) {
      if (!isLevel(machine)) return undefined;
      machineOk = machine;
    }
    if (typeof signal !== 'string' || signal.length < 1 || signal.length > 128) return undefined;
    if (!isId(ts, 0) || ts > 8.64e15) return undefined;
    if (!isValue(value) || typeof quality !== 'string' || !QUALITY.has(quality)) return undefined;
    prev = id;
    out[i] = { id, machine: machine as string, signal, ts, value, quality: quality as 'good' | 'uncertain' | 'bad' };
  }
  return out;
}

/** What `samplesMessageSchema.parse` returns for a message that passes every rule, else undefined. */
/** no machine checked yet: not `undefined`, which a sample without a machine would equal */
const UNCHECKED = Symbol('unchecked');

export function checkSamplesFast(json: unknown): SamplesMessage | undefined {
  if (!isRecord(json)) return undefined;
  const { agent, site, instance, firstId, lastId, prevLastId, samples } = json;
  if (!isLevel(agent) || !isLevel(site)) return undefined;
  if (instance !== undefined && (typeof instance !== 'string' || instance.length < 1 || instance.length > 64)) return undefined;
  if (!isId(firstId, 1) || !isId(lastId, 1) || (prevLastId !== undefined && !isId(prevLastId, 0))) return undefined;
  if (!Array.isArray(samples) || samples.length === 0) return undefined;
  const prev = prevLastId ?? firstId - 1;
  if (prev >= firstId || firstId > lastId) return undefined;
  const checked = samplesOf(samples, prev, firstId, lastId);
  if (!checked) return undefined;
  return { agent, site, instance: instance ?? `legacy:${site}/${agent}`, firstId, lastId, prevLastId: prev, samples: checked };
}

/** The parsed message, or the reason it is refused (zod's first issue). */
export function parseSamplesMessage(json: unknown): SamplesMessage | string {
  const fast = checkSamplesFast(json);
  if (fast) return fast;
  const r = samplesMessageSchema.safeParse(json);
  // the hand check is stricter than zod nowhere by design; should it be, zod's verdict counts
  return r.success ? r.data : reasonOf(r.error);
}
