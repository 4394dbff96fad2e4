import { describe, expect, it } from 'vitest';
import { mqttTopicSchema } from '../../config/schema.ts';
import { decodeMessage, decodeOrderEvent, matchTopic, prepareTopic } from './topic-mapping.ts';

const topic = (t: unknown) => prepareTopic(mqttTopicSchema.parse(t));
const NOW = 1_700_000_000_000;

describe('matchTopic', () => {
  it('captures "+" levels and honours "#"', () => {
    expect(matchTopic(['plant', '+', 'telemetry'], 'plant/cell-7/telemetry')).toEqual(['cell-7']);
    expect(matchTopic(['plant', '+', 'telemetry'], 'plant/cell-7/status')).toBeUndefined();
    expect(matchTopic(['plant', '+', 'telemetry'], 'plant/cell-7/telemetry/x')).toBeUndefined();
    expect(matchTopic(['plant', '+', '+'], 'plant/a/b')).toEqual(['a', 'b']);
    expect(matchTopic(['plant', '#'], 'plant/a/b/c')).toEqual([]);
    expect(matchTopic(['plant', '#'], 'plant')).toEqual([]);
    expect(matchTopic(['plant', '+', '#'], 'plant/a/b/c')).toEqual(['a']);
  });
});

describe('decodeMessage (json)', () => {
  const t = topic({
    filter: 'plant/+/telemetry',
    machine: '{1}',
    format: 'json',
    timestamp: { field: 'ts', unit: 'ms' },
    fields: { energy_kwh: 'energy.kwh', parts_total: 'count.total', state: 'state', power_kw: { path: 'p.w', scale: 0.001 } },
  });

  it('maps nested fields, captures, scale and the timestamp field', () => {
    const res = decodeMessage(t, ['cell-7'], Buffer.from(JSON.stringify({ ts: 1000, energy: { kwh: 5.5 }, count: { total: 3 }, state: 'running', p: { w: 2500 } })), NOW);
    expect(res).toEqual({
      ok: true,
      samples: [
        { machine: 'cell-7', signal: 'energy_kwh', ts: 1000, value: 5.5, quality: 'good' },
        { machine: 'cell-7', signal: 'parts_total', ts: 1000, value: 3, quality: 'good' },
        { machine: 'cell-7', signal: 'state', ts: 1000, value: 'running', quality: 'good' },
        { machine: 'cell-7', signal: 'power_kw', ts: 1000, value: 2.5, quality: 'good' },
      ],
    });
  });

  it('accepts arrays of samples and absent fields (report by exception)', () => {
    const res = decodeMessage(t, ['c'], Buffer.from(JSON.stringify([{ ts: 1, count: { total: 1 } }, { ts: 2, count: { total: 2 } }])), NOW);
    expect(res.ok && res.samples.map((s) => [s.ts, s.value])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('uses the receive time when the payload has no timestamp', () => {
    const res = decodeMessage(t, ['c'], Buffer.from('{"state":"idle"}'), NOW);
    expect(res.ok && res.samples[0]?.ts).toBe(NOW);
  });

  it.each([
    ['not json', /invalid JSON/],
    ['42', /not an object/],
    ['{"ts":"yesterday","state":"x"}', /timestamp/],
    ['{"count":{"total":{"a":1}}}', /count.total/],
    ['{"other":1}', /no mapped field/],
  ])('rejects %s with a reason', (payload, reason) => {
    const res = decodeMessage(t, ['c'], Buffer.from(payload), NOW);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.reason).toMatch(reason);
  });

  it('parses epoch seconds and ISO timestamps when declared', () => {
    const s = topic({ filter: 'a/+', machine: '{1}', timestamp: { field: 't', unit: 's' }, fields: { x_c: 'x' } });
    expect(decodeMessage(s, ['m'], Buffer.from('{"t":1700000000.5,"x":1}'), NOW)).toMatchObject({ ok: true, samples: [{ ts: 1_700_000_000_500 }] });
    const i = topic({ filter: 'a/+', machine: '{1}', timestamp: { field: 't', unit: 'iso' }, fields: { x_c: 'x' } });
    expect(decodeMessage(i, ['m'], Buffer.from('{"t":"2026-01-01T00:00:00Z","x":1}'), NOW)).toMatchObject({
      ok: true,
      samples: [{ ts: Date.parse('2026-01-01T00:00:00Z') }],
    });
  });
});

describe('decodeMessage (plain)', () => {
  const t = topic({ filter: 'meters/+/+', machine: '{1}', signal: '{2}', format: 'plain', scale: 2 });
  it('maps numbers (scaled), booleans and text, signal from a capture', () => {
    expect(decodeMessage(t, ['m1', 'power_kw'], Buffer.from('1.5'), NOW)).toMatchObject({ ok: true, samples: [{ machine: 'm1', signal: 'power_kw', value: 3 }] });
    expect(decodeMessage(t, ['m1', 'door'], Buffer.from('true'), NOW)).toMatchObject({ ok: true, samples: [{ value: true }] });
    expect(decodeMessage(t, ['m1', 'order_id'], Buffer.from('ORD-1'), NOW)).toMatchObject({ ok: true, samples: [{ value: 'ORD-1' }] });
  });
  it('rejects NaN, Infinity and empty payloads', () => {
    for (const p of ['NaN', 'Infinity', '-inf', '']) expect(decodeMessage(t, ['m1', 'x'], Buffer.from(p), NOW).ok).toBe(false);
  });
});

describe('decodeOrderEvent', () => {
  it('stores an order event as an order_event sample', () => {
    const res = decodeOrderEvent(Buffer.from(JSON.stringify({ orderId: 'O-1', event: 'released', ts: '2026-01-01T00:00:00Z', product: 'p', quantity: 10 })), NOW);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.samples[0]).toMatchObject({ machine: '_orders', signal: 'order_event', ts: Date.parse('2026-01-01T00:00:00Z') });
    expect(JSON.parse(String(res.samples[0]?.value))).toEqual({ orderId: 'O-1', event: 'released', product: 'p', quantity: 10 });
  });
  it('rejects events without orderId or with an unknown event', () => {
    expect(decodeOrderEvent(Buffer.from('{"event":"started"}'), NOW).ok).toBe(false);
    expect(decodeOrderEvent(Buffer.from('{"orderId":"a","event":"paused"}'), NOW).ok).toBe(false);
  });
});
