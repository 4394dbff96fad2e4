import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sourceSchema } from '../../config/schema.ts';

/** The example snippets of the MQTT, Sparkplug and Modbus folders stay valid sources. */
describe('driver example configs', () => {
  for (const d of ['mqtt', 'sparkplug', 'modbus']) {
    it(`drivers/${d}/example.yaml`, () => {
      const doc = parse(readFileSync(new URL(`../${d}/example.yaml`, import.meta.url), 'utf8')) as { sources: unknown[] };
      expect(doc.sources.length).toBeGreaterThan(0);
      for (const s of doc.sources) {
        const r = sourceSchema.safeParse(s);
        expect(r.success ? 'ok' : r.error.issues).toBe('ok');
      }
    });
  }

  it('the DESIGN.md §6 single-device modbus form is still valid', () => {
    const r = sourceSchema.safeParse({ id: 'meters', type: 'modbus', host: '10.0.0.9', port: 502, unitId: 1, intervalMs: 1000, registers: [{ machine: 'printer-1', signal: 'energy_kwh', table: 'holding', address: 3204, type: 'uint32', wordOrder: 'big', scale: 0.001 }] });
    expect(r.success).toBe(true);
  });

  it('a modbus source without host or devices, or a coil with a register type, is refused with its path', () => {
    const r = sourceSchema.safeParse({ id: 'm', type: 'modbus', registers: [{ machine: 'x', signal: 's', address: 1, table: 'coil', type: 'float32' }] });
    expect(r.success).toBe(false);
    const issues = r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(expect.arrayContaining([expect.stringMatching(/^registers\.0\.type: a coil is one bit/), expect.stringMatching(/^host: registers need a "host"/)]));
  });
});
