/**
 * Modbus TCP source through the whole agent: two devices (modbus-serial ServerTCP behind a
 * proxy that records function codes), float32 in both word orders, uint32 energy counters,
 * a device that stops answering while the other keeps its pace, and read-only traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { ModbusTestDevice, toWords } from '../../drivers/modbus/modbus-test-device.ts';
import { READ_FUNCTION_CODES } from '../../drivers/modbus/index.ts';
import { waitFor } from '../helpers/index.ts';

function put(map: Map<number, number>, address: number, words: number[]): void {
  words.forEach((w, i) => map.set(address + i, w));
}

describe('Modbus TCP source', () => {
  let dir: string;
  const meterA = new ModbusTestDevice();
  const meterB = new ModbusTestDevice();
  let agent: Agent;
  const INTERVAL = 300;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-modbus-'));
    const a = meterA.memory;
    put(a.holding, 0, toWords('float32', 1234.5, 'big'));
    put(a.holding, 10, toWords('float32', -42.25, 'little'));
    put(a.input, 20, toWords('uint32', 3_000_000_123, 'big')); // beyond int32: Wh counter
    put(a.input, 30, toWords('uint32', 4_000_000_001, 'little'));
    put(a.holding, 40, toWords('float64', 98765.4321, 'big'));
    put(a.holding, 50, toWords('int16', -7));
    a.holding.set(51, 0x3412); // byte-swapped uint16 0x1234
    a.coil.set(5, true);
    put(meterB.memory.holding, 0, toWords('uint32', 100, 'big'));
    const portA = await meterA.start();
    const portB = await meterB.start();
    const yaml = `
site: { id: test-site }
agent: { id: modbus-test, dataDir: ${join(dir, 'data')} }
http: { port: 0 }
machines: [{ id: press-1 }, { id: press-2 }]
sources:
  - id: meters
    type: modbus
    reconnect: { minMs: 200, maxMs: 1000 }
    devices:
      - id: meter-a
        host: 127.0.0.1
        port: ${portA}
        intervalMs: ${INTERVAL}
        timeoutMs: 1500
        registers:
          - { machine: press-1, signal: power_kw, address: 0, type: float32, wordOrder: big }
          - { machine: press-1, signal: temp_c, address: 10, type: float32, wordOrder: little }
          - { machine: press-1, signal: int_c, address: 50, type: int16 }
          - { machine: press-1, signal: swapped, address: 51, type: uint16, byteOrder: little }
          - { machine: press-1, signal: running, table: coil, address: 5 }
        groups:
          - name: energy
            intervalMs: 1000
            registers:
              - { machine: press-1, signal: energy_kwh, table: input, address: 20, type: uint32, scale: 0.001 }
              - { machine: press-1, signal: energy2_kwh, table: input, address: 30, type: uint32, wordOrder: little, scale: 0.001, offset: 1 }
              - { machine: press-1, signal: big_f64, address: 40, type: float64 }
      - id: meter-b
        host: 127.0.0.1
        port: ${portB}
        intervalMs: ${INTERVAL}
        timeoutMs: 1500
        registers:
          - { machine: press-2, signal: energy_kwh, address: 0, type: uint32 }
`;
    const res = loadConfigText(yaml, { file: 'modbus.yaml' });
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    agent = new Agent(res.config, pino({ level: 'silent' }));
    await agent.start();
  });

  afterAll(async () => {
    await agent?.stop();
    await meterA.stop();
    await meterB.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const latest = (machine: string): Map<string, unknown> => new Map(agent.buffer.latest(machine).map((l) => [l.signal, l.value]));

  it('reads float32 in both word orders, uint32 energy counters, float64, int16, swapped bytes and coils', async () => {
    await waitFor(() => latest('press-1').size >= 8 && latest('press-2').size >= 1, 10_000, 'all registers read');
    const a = latest('press-1');
    expect(a.get('power_kw')).toBe(1234.5);
    expect(a.get('temp_c')).toBe(-42.25);
    expect(a.get('energy_kwh')).toBeCloseTo(3_000_000.123, 6);
    expect(a.get('energy2_kwh')).toBeCloseTo(4_000_000.001 + 1, 6);
    expect(a.get('big_f64')).toBe(98765.4321);
    expect(a.get('int_c')).toBe(-7);
    expect(a.get('swapped')).toBe(0x1234);
    expect(a.get('running')).toBe(true);
    expect(latest('press-2').get('energy_kwh')).toBe(100);
    expect(agent.health().sources[0]).toMatchObject({ id: 'meters', state: 'connected' });
  });

  it('a device that stops answering delays the other by no more than one interval, and comes back', async () => {
    meterA.muted = true;
    const t0 = Date.now();
    // meter-a times out (1500 ms), is marked bad and reconnects with backoff, again and again
    await waitFor(() => agent.health().sources[0]?.state === 'error', 10_000, 'meter-a reported down');
    await new Promise((r) => setTimeout(r, 4000));
    const t1 = Date.now();
    const health = agent.health().sources[0];
    expect(health?.state).toBe('error');
    expect(health?.detail).toMatch(/^1 of 2 device\(s\) not answering — meter-a: 127\.0\.0\.1:\d+: Timed out$/);
    // meter-b kept polling at its own pace while meter-a hung
    await waitFor(() => agent.health().buffer.pending === 0, 2000, 'flush');
    const b = agent.buffer.machineWindow('press-2', t0, t1).filter((s) => s.ts >= t0 && s.quality === 'good').map((s) => s.ts);
    expect(b.length).toBeGreaterThanOrEqual(Math.floor((t1 - t0) / INTERVAL) - 2);
    const gaps = b.slice(1).map((t, i) => t - (b[i] as number));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2 * INTERVAL);
    // meter-a's signals were closed with a bad-quality sample (held values end there)
    const bad = agent.buffer.machineWindow('press-1', t0, t1 + 1).filter((s) => s.ts >= t0 && s.quality === 'bad');
    expect(new Set(bad.map((s) => s.signal))).toEqual(new Set(['power_kw', 'temp_c', 'int_c', 'swapped', 'running', 'energy_kwh', 'energy2_kwh', 'big_f64']));
    // it answers again: reconnected with backoff and read
    meterA.muted = false;
    const t2 = Date.now();
    await waitFor(() => agent.health().sources[0]?.state === 'connected', 10_000, 'meter-a back');
    await waitFor(() => agent.buffer.latest('press-1').find((l) => l.signal === 'power_kw' && l.ts >= t2 && l.quality === 'good'), 5000, 'fresh value from meter-a');
  });

  it('is read-only: only read function codes reach the devices', () => {
    const reads = new Set(Object.values(READ_FUNCTION_CODES));
    const seen = [...meterA.functionCodes, ...meterB.functionCodes];
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.filter((fc) => !reads.has(fc))).toEqual([]);
    expect(new Set(meterA.functionCodes)).toEqual(new Set([1, 3, 4]));
  });
});
