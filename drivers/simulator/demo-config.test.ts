/**
 * config/demo.yaml and the simulator must agree: every node and field the demo maps exists,
 * and every value the simulator exposes is mapped (otherwise `npm start` shows gaps).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MACHINE_SPECS, WH_ROLLOVER, opcuaNodeIds, SIMULATOR_DEFAULTS } from './index.ts';

interface DemoTag { nodeId: string; machine: string; signal: string; scale?: number; rollover?: number }
interface DemoTopic { filter: string; machine?: string; format?: string; timestamp?: { field: string; unit: string }; fields?: Record<string, string> }
interface DemoSource { id: string; type: string; endpoint?: string; url?: string; tags?: DemoTag[]; topics?: DemoTopic[] }
interface DemoMachine { id: string; product?: string; idealCycleTimeS?: number; stateMap?: Record<string, string> }
interface Demo { simulator: { enabled: boolean; opcuaPort: number; mqttPort: number; seed: number; speed: number }; sources: DemoSource[]; machines: DemoMachine[] }

const demo = parse(readFileSync(new URL('../../config/demo.yaml', import.meta.url), 'utf8')) as Demo;

describe('config/demo.yaml matches the simulator', () => {
  it('points the sources at the simulator ports', () => {
    expect(demo.simulator.enabled).toBe(true);
    const ua = demo.sources.find((s) => s.type === 'opcua');
    const mq = demo.sources.find((s) => s.type === 'mqtt');
    expect(ua?.endpoint).toBe(`opc.tcp://${SIMULATOR_DEFAULTS.host}:${demo.simulator.opcuaPort}`);
    expect(mq?.url).toBe(`mqtt://${SIMULATOR_DEFAULTS.host}:${demo.simulator.mqttPort}`);
  });

  it('maps exactly the OPC UA nodes the simulator serves', () => {
    const tags = demo.sources.flatMap((s) => s.tags ?? []);
    const served = MACHINE_SPECS.filter((m) => m.protocol === 'opcua').flatMap((m) => Object.values(opcuaNodeIds(m.id, m.energyMeter)));
    expect(tags.map((t) => t.nodeId).sort()).toEqual(served.sort());
    for (const t of tags) expect(t.nodeId.startsWith(`ns=1;s=${t.machine}.`)).toBe(true);
    const wh = tags.find((t) => t.nodeId === 'ns=1;s=cnc-1.energy_wh');
    expect(wh).toMatchObject({ signal: 'energy_kwh', scale: 0.001, rollover: WH_ROLLOVER });
  });

  it('maps the assembly telemetry fields and the order events', () => {
    const topics = demo.sources.flatMap((s) => s.topics ?? []);
    const tel = topics.find((t) => t.filter === 'plant/+/telemetry');
    expect(tel?.timestamp).toEqual({ field: 'ts', unit: 'ms' });
    expect(tel?.fields).toMatchObject({ energy_kwh: 'energy.kwh', parts_total: 'count.total', parts_scrap: 'count.scrap', state: 'state' });
    expect(topics.some((t) => t.filter === 'mes/orders' && t.format === 'order-events')).toBe(true);
  });

  it('describes the same machines, products, ideal cycles and state codes', () => {
    for (const spec of MACHINE_SPECS) {
      const m = demo.machines.find((x) => x.id === spec.id);
      expect(m, spec.id).toBeDefined();
      expect(m?.product).toBe(spec.product);
      // the agent stamps samples with real time, so at speed N a cycle lasts ideal/N real seconds:
      // the demo may state either the machine's ideal or the ideal as seen in real time
      expect([spec.idealCycleTimeS, spec.idealCycleTimeS / demo.simulator.speed]).toContain(m?.idealCycleTimeS);
      if (spec.protocol === 'opcua') expect(m?.stateMap).toEqual({ '1': 'running', '2': 'idle', '3': 'down', '4': 'planned_stop' });
    }
  });
});
