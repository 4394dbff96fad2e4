import { describe, expect, it } from 'vitest';
import { mqttSourceSchema } from '../../config/schema.ts';
import { SparkplugCodec } from './sparkplug-decode.ts';
import { SparkplugHost } from './sparkplug-host.ts';

const codec = new SparkplugCodec();
type P = Parameters<SparkplugCodec['encode']>[0];
const enc = (p: P): Uint8Array => codec.encode(p);

function host(rebirth = true): SparkplugHost {
  const cfg = mqttSourceSchema.parse({
    id: 'sp',
    type: 'mqtt',
    url: 'mqtt://x',
    sparkplug: { rebirth, metrics: [{ metric: 'Power', machine: '{device}', signal: 'power_kw' }, { metric: 'Count/*', machine: '{node}-{device}', signal: 'Count{1}' }] },
  });
  return new SparkplugHost(cfg.sparkplug as NonNullable<typeof cfg.sparkplug>);
}

function born(h: SparkplugHost, seqAfter = 1): void {
  h.handle('spBv1.0/g/NBIRTH/n', enc({ seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 4 }] }), 1);
  h.handle('spBv1.0/g/DBIRTH/n/d1', enc({ seq: seqAfter, metrics: [{ name: 'Power', alias: 1, type: 'Double', value: 2 }, { name: 'Count/Good', alias: 2, type: 'Int64', value: -3 }] }), 1);
}

describe('SparkplugHost', () => {
  it('maps births and alias data, fills captures and snake-cases signals', () => {
    const h = host();
    born(h);
    const out = h.handle('spBv1.0/g/DDATA/n/d1', enc({ seq: 2, timestamp: 50, metrics: [{ alias: 1, type: 'Double', value: 2.5 }, { alias: 2, type: 'Int64', value: -4 }] }), 99);
    expect(out.samples).toEqual([
      { machine: 'd1', signal: 'power_kw', ts: 50, value: 2.5, quality: 'good' },
      { machine: 'n-d1', signal: 'count_good', ts: 50, value: -4, quality: 'good' },
    ]);
    expect(out.rebirth).toBeUndefined();
  });

  it('wraps seq 255 → 0 without calling it a gap', () => {
    const h = host();
    h.handle('spBv1.0/g/NBIRTH/n', enc({ seq: 254, metrics: [] }), 1);
    expect(h.handle('spBv1.0/g/DBIRTH/n/d1', enc({ seq: 255, metrics: [{ name: 'Power', alias: 1, type: 'Double', value: 2 }] }), 1).event).toBe('birth');
    expect(h.handle('spBv1.0/g/DDATA/n/d1', enc({ seq: 0, metrics: [{ alias: 1, type: 'Double', value: 3 }] }), 1).rebirth).toBeUndefined();
  });

  it('asks once per gap within the hold-off, and never when rebirth is off', () => {
    const on = host(true);
    born(on);
    const first = on.handle('spBv1.0/g/DDATA/n/d1', enc({ seq: 9, metrics: [{ alias: 1, type: 'Double', value: 1 }] }), 1000);
    expect(first.event).toBe('gap');
    expect(first.rebirth?.topic).toBe('spBv1.0/g/NCMD/n');
    expect(codec.decode(first.rebirth?.payload ?? new Uint8Array())).toMatchObject({ ok: true, payload: { metrics: [{ name: 'Node Control/Rebirth', value: true, type: 'Boolean' }] } });
    expect(first.samples).toHaveLength(1); // the data that revealed the gap is still stored
    expect(on.handle('spBv1.0/g/DDATA/n/d1', enc({ seq: 20, metrics: [] }), 2000).rebirth).toBeUndefined(); // held off
    expect(on.handle('spBv1.0/g/DDATA/n/d1', enc({ seq: 30, metrics: [] }), 12_000).rebirth).toBeDefined(); // after 10 s
    const off = host(false);
    born(off);
    const out = off.handle('spBv1.0/g/DDATA/n/d1', enc({ seq: 9, metrics: [] }), 1000);
    expect(out.event).toBe('gap');
    expect(out.rebirth).toBeUndefined();
    expect(off.handle('spBv1.0/g/NDATA/x', enc({ seq: 1, metrics: [] }), 1000)).toEqual({ samples: [], event: 'data-before-birth' });
  });

  it('DDEATH marks only that device; unknown aliases and NaN are dead-lettered, the rest kept', () => {
    const h = host();
    born(h);
    h.handle('spBv1.0/g/DBIRTH/n/d2', enc({ seq: 2, metrics: [{ name: 'Power', alias: 5, type: 'Double', value: 7 }] }), 1);
    const mixed = h.handle('spBv1.0/g/DDATA/n/d1', enc({ seq: 3, metrics: [{ alias: 77, type: 'Double', value: 1 }, { alias: 1, type: 'Double', value: Number.NaN }, { alias: 2, type: 'Int64', value: 5 }] }), 1);
    expect(mixed.samples.map((s) => s.value)).toEqual([5]);
    expect(mixed.deadLetter).toMatch(/alias 77 is not in the birth certificate; metric "Power" is NaN/);
    const death = h.handle('spBv1.0/g/DDEATH/n/d2', enc({ seq: 4, timestamp: 9 }), 1);
    expect(death.samples).toEqual([{ machine: 'd2', signal: 'power_kw', ts: 9, value: null, quality: 'bad' }]);
  });

  it('ignores commands and STATE, dead-letters non-Sparkplug topics and garbage', () => {
    const h = host();
    expect(h.handle('spBv1.0/g/NCMD/n', enc({ metrics: [] }), 1)).toEqual({ samples: [] });
    expect(h.handle('spBv1.0/STATE/host-1', Buffer.from('{"online":true}'), 1)).toEqual({ samples: [] });
    expect(h.handle('spBv1.0/g/NOPE/n', enc({}), 1).deadLetter).toMatch(/not a Sparkplug B topic/);
    expect(h.handle('spBv1.0/g/DDATA/n', enc({}), 1).deadLetter).toMatch(/not a Sparkplug B topic/);
    expect(h.handle('spBv1.0/g/DDATA/n/d', Buffer.from('garbage!'), 1).deadLetter).toMatch(/garbage protobuf/);
  });
});
