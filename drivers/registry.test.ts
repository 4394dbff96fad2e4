import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { descriptorOf, SOURCE_TYPES, sourceSchema, type SourceConfig } from './registry.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');

/** Each driver folder owns its example config and README; the README shows the example. */
describe('driver folders', () => {
  for (const d of [...SOURCE_TYPES, 'sparkplug']) {
    it(`drivers/${d}/example.yaml is a valid source, shown in drivers/${d}/README.md, with a mapping per tag`, () => {
      const text = read(`drivers/${d}/example.yaml`);
      const doc = parse(text) as { sources: unknown[] };
      expect(doc.sources.length).toBeGreaterThan(0);
      for (const s of doc.sources) {
        const r = sourceSchema.safeParse(s);
        expect(r.success ? 'ok' : r.error.issues).toBe('ok');
        if (r.success) expect(descriptorOf(r.data).mappings(r.data).length).toBeGreaterThan(0);
      }
      const readme = read(`drivers/${d}/README.md`);
      const body = text.split('\n').filter((l) => !l.startsWith('#') && l.trim() !== '');
      for (const line of body) expect(readme, `README shows: ${line}`).toContain(line.trim());
    });
  }

  it('every registered type has its folder, and the descriptors name their own type', () => {
    for (const t of SOURCE_TYPES) {
      expect(statSync(join(ROOT, 'drivers', t)).isDirectory()).toBe(true);
      expect(descriptorOf({ type: t } as SourceConfig).type).toBe(t);
    }
  });

  it('nothing outside drivers/ switches on a source type', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
        const rel = join(dir, e.name);
        if (e.isDirectory()) walk(rel);
        else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
          read(rel)
            .split('\n')
            .forEach((l, i) => {
              if (new RegExp(`type === '(${SOURCE_TYPES.join('|')})'|case '(${SOURCE_TYPES.join('|')})':`).test(l)) offenders.push(`${rel}:${i + 1}`);
            });
        }
      }
    };
    for (const dir of ['agent', 'config', 'dashboards']) walk(dir);
    expect(offenders).toEqual([]);
  });

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
