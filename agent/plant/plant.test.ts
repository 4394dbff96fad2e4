import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../config/index.ts';
import { Plant } from './plant.ts';

function plantOf(yaml: string): Plant {
  const res = loadConfigText(yaml, { file: 't.yaml' });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return new Plant(res.config);
}

const FEEDS = `
site: { id: s }
agent: { id: a }
machines: [{ id: p1, stateMap: { "1": running, "3": down } }, { id: p2, line: l2, maxHoldS: 60 }, { id: c1 }]
sources:
  - id: ua
    type: opcua
    endpoint: opc.tcp://127.0.0.1:4840
    tags:
      - { nodeId: "ns=1;s=a", machine: p1, signal: state, staleAfterS: 30 }
      - { nodeId: "ns=1;s=b", machine: p2, signal: energy_kwh, scale: 0.001, rollover: 65536 }
  - id: mq
    type: mqtt
    url: mqtt://127.0.0.1:1883
    topics:
      - { filter: "c1/t", machine: c1, format: plain, signal: power_kw, staleAfterS: 20 }
      - filter: "plant/+/t"
        machine: "{1}"
        rollover: 1000
        scale: 2
        staleAfterS: 90
        fields: { parts_total: count.total, parts_scrap: { path: count.scrap, rollover: 100, staleAfterS: 5 } }
  - id: mb
    type: modbus
    devices:
      - id: d1
        host: 127.0.0.1
        groups: [{ intervalMs: 100, registers: [{ machine: c1, signal: parts_good, address: 0, rollover: 65536, scale: 0.5 }] }]
  - id: sp
    type: mqtt
    url: mqtt://127.0.0.1:1883
    sparkplug:
      metrics:
        - { metric: "Count/*", machine: "press-{node}", signal: "parts_{1}", rollover: 4294967296, staleAfterS: 15 }
`;

describe('Plant', () => {
  it('maps machines to the sources naming them, and collects staleAfterS per series', () => {
    const p = plantOf(FEEDS);
    expect([...p.feeds('p1')]).toEqual(['ua']);
    expect([...p.feeds('p2')]).toEqual(['ua']);
    expect([...p.feeds('c1')].sort()).toEqual(['mb', 'mq']);
    expect(p.series('p1', 'state').staleAfterMs).toBe(30_000);
    expect(p.series('p2', 'energy_kwh').staleAfterMs).toBeUndefined();
    expect(p.series('c1', 'power_kw').staleAfterMs).toBe(20_000);
  });

  it('resolves rollover in stored units for every way of declaring it, captured machines included', () => {
    const p = plantOf(FEEDS);
    expect(p.rollover('p2', 'energy_kwh')).toBeCloseTo(65.536, 12); // OPC UA tag: 65536 × 0.001
    expect(p.rollover('press-7', 'parts_total')).toBe(2000); // MQTT topic, captured machine: 1000 × 2
    expect(p.rollover('press-7', 'parts_scrap')).toBe(200); // MQTT field's own rollover × the topic's scale
    expect(p.series('press-7', 'parts_scrap').staleAfterMs).toBe(5000);
    expect(p.series('press-7', 'parts_total').staleAfterMs).toBe(90_000);
    expect(p.rollover('c1', 'parts_good')).toBe(32768); // Modbus devices[].groups[]: 65536 × 0.5
    expect(p.rollover('press-line1', 'parts_good')).toBe(4294967296); // Sparkplug rule, templated machine and signal
    expect(p.series('press-line1', 'parts_good').staleAfterMs).toBe(15_000);
    expect(p.rollover('other', 'parts_good')).toBe(0);
    expect(p.rollover('p2', 'power_kw')).toBe(0); // only counters wrap
  });

  it('gives machines seen only in data the defaults, configured ones their own', () => {
    const p = plantOf(FEEDS);
    expect(p.machineIds()).toEqual(['p1', 'p2', 'c1']);
    expect(p.machine('p2')).toMatchObject({ line: 'l2', maxHoldMs: 60_000, configured: true });
    expect(p.machine('press-7')).toMatchObject({ name: 'press-7', line: 'default', product: null, maxHoldMs: 3_600_000, configured: false });
  });

  it('maps raw state codes once, at the normaliser; names and unknown codes pass as they are', () => {
    const p = plantOf(FEEDS);
    const s = { machine: 'p1', signal: 'state', ts: 1, quality: 'good' as const };
    expect(p.normalise({ ...s, value: 3 }).value).toBe('down');
    expect(p.normalise({ ...s, value: '1' }).value).toBe('running');
    expect(p.normalise({ ...s, value: 9 }).value).toBe(9);
    expect(p.normalise({ ...s, value: 'idle' }).value).toBe('idle');
    expect(p.normalise({ ...s, machine: 'p2', value: 3 }).value).toBe(3);
    expect(p.mapsStates).toBe(true);
  });

  it('resolves a captured series among the templates of the source that delivered it', () => {
    const p = plantOf(`
site: { id: s }
agent: { id: a }
sources:
  - id: line-a
    type: mqtt
    url: mqtt://127.0.0.1:1883
    topics: [{ filter: "lineA/+/t", machine: "{1}", fields: { parts_total: n }, rollover: 65536, staleAfterS: 30 }]
  - id: line-b
    type: mqtt
    url: mqtt://127.0.0.1:1883
    topics: [{ filter: "lineB/+/t", machine: "{1}", fields: { parts_total: n }, rollover: 4294967296 }]
    sparkplug: { metrics: [{ metric: "Count", machine: "{node}", signal: PartsGood, rollover: 1000 }] }
`);
    expect(p.rollover('b-7', 'parts_total')).toBe(65536); // not bound yet: the first template that fits
    expect(p.bindSeries('line-b', 'b-7', 'parts_total')).toBe(true);
    expect(p.bindSeries('line-b', 'b-7', 'parts_total')).toBe(false);
    expect(p.series('b-7', 'parts_total')).toEqual({ rollover: 4294967296, staleAfterMs: undefined });
    expect(p.origin('b-7', 'parts_total')).toBe('line-b: lineB/+/t n');
    p.bindSeries('line-a', 'a-1', 'parts_total');
    expect(p.series('a-1', 'parts_total')).toEqual({ rollover: 65536, staleAfterMs: 30_000 });
    expect(p.origin('a-1', 'parts_total')).toBe('line-a: lineA/+/t n');
    expect(p.origin('p9', 'nothing')).toBeUndefined();
    // the Sparkplug host stores "PartsGood" as parts_good: the rule's settings follow it
    p.bindSeries('line-b', 'press', 'parts_good');
    expect(p.rollover('press', 'parts_good')).toBe(1000);
  });
});
