import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../config/index.ts';
import type { Config } from '../../config/schema.ts';
import { diffPlants, isEmptyDiff, Plant } from './index.ts';

const src = (id: string, topic = id): string => `  - { id: ${id}, type: mqtt, url: "mqtt://127.0.0.1:1883", topics: [{ filter: "${topic}", format: plain, machine: m1, signal: v_${id} }] }\n`;
function config(sources: string, extra = '', machines = '[{ id: m1, idealCycleTimeS: 30 }]'): Config {
  const res = loadConfigText(`site: { id: s, timezone: Europe/Berlin }
agent: { id: a, dataDir: /tmp/sfa-diff }
machines: ${machines}
sources:
${sources}${extra}`);
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return res.config;
}

describe('diffPlants', () => {
  it('names added, removed, changed and unchanged sources', () => {
    const d = diffPlants(new Plant(config(src('a') + src('b') + src('c'))), new Plant(config(src('a') + src('c', 'other') + src('d'))));
    expect(d.sources).toEqual({ added: ['d'], removed: ['b'], changed: ['c'], unchanged: ['a'] });
    expect(d.needsRestart).toEqual([]);
  });

  it('names machine and KPI setting changes, and what only a restart applies', () => {
    const prev = new Plant(config(src('a')));
    const next = new Plant(config(src('a'), 'shifts: [{ name: early, start: "06:00", end: "14:00" }]\nhttp: { port: 9999 }\n', '[{ id: m1, idealCycleTimeS: 20 }, { id: m2 }]'));
    const d = diffPlants(prev, next);
    expect(d.machines).toEqual({ added: ['m2'], removed: [], changed: ['m1'] });
    expect(d.kpiSettings).toEqual(['shifts']);
    expect(d.needsRestart).toEqual(['http']);
    expect(isEmptyDiff(diffPlants(prev, new Plant(config(src('a')))))).toBe(true);
  });
});
