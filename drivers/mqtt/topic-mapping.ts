/**
 * Maps MQTT messages to samples. Prepared once per topic at start-up (the hot path only
 * matches and walks pre-split paths). Pure: no I/O; bad payloads are returned as reasons.
 */
import { encodeOrderEventValue, isOrderEventKind, quote, textProblem, type OrderEvent, type Sample, type SampleValue } from '../../agent/model/index.ts';
import type { MqttTopicConfig } from './mqtt-schema.ts';

export type DecodeResult = { ok: true; samples: Sample[] } | { ok: false; reason: string };

interface FieldPlan {
  signal: string;
  path: string[];
  scale: number | undefined;
}

export interface PreparedTopic {
  filter: string;
  levels: string[];
  config: MqttTopicConfig;
  fields: FieldPlan[];
  tsPath: string[] | undefined;
}

export function prepareTopic(config: MqttTopicConfig): PreparedTopic {
  const fields: FieldPlan[] = Object.entries(config.fields ?? {}).map(([signal, m]) =>
    typeof m === 'string'
      ? { signal, path: m.split('.'), scale: config.scale }
      : { signal, path: m.path.split('.'), scale: m.scale ?? config.scale },
  );
  return {
    filter: config.filter,
    levels: config.filter.split('/'),
    config,
    fields,
    tsPath: config.timestamp ? config.timestamp.field.split('.') : undefined,
  };
}

/** Returns the "+" captures when the topic matches the filter, else undefined. */
export function matchTopic(levels: readonly string[], topic: string): string[] | undefined {
  const parts = topic.split('/');
  const captures: string[] = [];
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i];
    if (l === '#') return captures;
    const p = parts[i];
    if (p === undefined) return undefined;
    if (l === '+') captures.push(p);
    else if (l !== p) return undefined;
  }
  return parts.length === levels.length ? captures : undefined;
}

export function fillCaptures(template: string, captures: readonly string[]): string {
  return template.replace(/\{(\d+)\}/g, (_, n: string) => captures[Number(n) - 1] ?? '');
}

function walk(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** A timestamp field as epoch ms, or a reason why it is unusable. */
function parseTs(raw: unknown, unit: 'ms' | 's' | 'iso'): number | string {
  if (unit === 'iso') {
    if (typeof raw !== 'string') return `timestamp is not an ISO 8601 string`;
    const t = Date.parse(raw);
    return Number.isFinite(t) ? t : `timestamp ${quote(raw)} is not ISO 8601`;
  }
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isFinite(n)) return `timestamp is not a number of ${unit}`;
  return unit === 's' ? Math.round(n * 1000) : Math.round(n);
}

function toValue(raw: unknown, scale: number | undefined): SampleValue | undefined {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return undefined;
    return scale === undefined ? raw : raw * scale;
  }
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') return raw;
  if (raw === null) return null;
  return undefined;
}

/** Decode one message of a JSON or plain topic. `now` is the receive time. */
export function decodeMessage(t: PreparedTopic, captures: readonly string[], payload: Buffer, now: number): DecodeResult {
  const machine = fillCaptures(t.config.machine ?? '', captures);
  if (!machine) return { ok: false, reason: 'topic gives no machine name' };
  if (t.config.format === 'plain') {
    const text = payload.toString('utf8').trim();
    const signal = fillCaptures(t.config.signal ?? '', captures);
    let value: SampleValue;
    if (text === 'true' || text === 'false') value = text === 'true';
    else if (text !== '' && Number.isFinite(Number(text))) value = Number(text) * (t.config.scale ?? 1);
    else if (text === '' || /^(nan|-?inf(inity)?)$/i.test(text)) return { ok: false, reason: `plain payload ${quote(text)} is not a usable value` };
    else value = text;
    return { ok: true, samples: [{ machine, signal, ts: now, value, quality: 'good' }] };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `invalid JSON: ${(e as Error).message}` };
  }
  const records = Array.isArray(doc) ? doc : [doc];
  const samples: Sample[] = [];
  for (const rec of records) {
    if (rec === null || typeof rec !== 'object') return { ok: false, reason: 'JSON payload is not an object (or an array of objects)' };
    let ts = now;
    if (t.tsPath && t.config.timestamp) {
      const raw = walk(rec, t.tsPath);
      if (raw !== undefined) {
        const parsed = parseTs(raw, t.config.timestamp.unit);
        if (typeof parsed === 'string') return { ok: false, reason: parsed };
        ts = parsed;
      }
    }
    for (const f of t.fields) {
      const raw = walk(rec, f.path);
      if (raw === undefined) continue; // report by exception: a field may be absent
      const value = toValue(raw, f.scale);
      if (value === undefined) return { ok: false, reason: `field "${f.path.join('.')}" (${f.signal}) has an unusable value: ${quote(raw)}` };
      samples.push({ machine, signal: fillCaptures(f.signal, captures), ts, value, quality: 'good' });
    }
  }
  if (samples.length === 0) return { ok: false, reason: 'no mapped field present in payload' };
  return { ok: true, samples };
}

/** Order events (DESIGN.md §3) are stored as samples of signal `order_event`, value = the event as JSON. */
export function decodeOrderEvent(payload: Buffer, now: number, machine?: string): DecodeResult {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `invalid JSON: ${(e as Error).message}` };
  }
  const list = Array.isArray(doc) ? doc : [doc];
  const samples: Sample[] = [];
  for (const d of list) {
    if (d === null || typeof d !== 'object') return { ok: false, reason: 'order event is not an object' };
    const o = d as Record<string, unknown>;
    if (typeof o.orderId !== 'string' || o.orderId === '') return { ok: false, reason: 'order event without "orderId"' };
    const idProblem = textProblem('order event "orderId"', o.orderId) ?? (typeof o.product === 'string' && o.product !== '' ? textProblem('order event "product"', o.product) : undefined);
    if (idProblem !== undefined) return { ok: false, reason: idProblem };
    if (!isOrderEventKind(o.event)) {
      return { ok: false, reason: `order event "event" must be released, started or completed, got ${quote(o.event)}` };
    }
    let ts = now;
    if (o.ts !== undefined) {
      const parsed = parseTs(o.ts, typeof o.ts === 'string' && !/^\d+(\.\d+)?$/.test(o.ts) ? 'iso' : 'ms');
      if (typeof parsed === 'string') return { ok: false, reason: parsed };
      ts = parsed;
    }
    if (o.quantity !== undefined && (typeof o.quantity !== 'number' || !Number.isFinite(o.quantity))) {
      return { ok: false, reason: '"quantity" is not a number' };
    }
    const ev: OrderEvent = { orderId: o.orderId, event: o.event };
    if (typeof o.product === 'string') ev.product = o.product;
    if (typeof o.quantity === 'number') ev.quantity = o.quantity;
    const m = typeof o.machine === 'string' && o.machine !== '' ? o.machine : machine;
    samples.push({ machine: m ?? '_orders', signal: 'order_event', ts, value: encodeOrderEventValue(ev), quality: 'good' });
  }
  return { ok: true, samples };
}
