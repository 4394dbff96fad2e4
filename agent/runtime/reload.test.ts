import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../config/index.ts';
import type { Config } from '../../config/schema.ts';
import { Plant } from '../plant/index.ts';
import { PlantHolder } from './plant-holder.ts';
import { effectiveConfig } from './reload.ts';

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

describe('reload', () => {
  it('a reload keeps restart-only settings as they run', () => {
    const running = config(src('a'));
    const next = config(src('a'), 'http: { port: 9999 }\n', '[{ id: m1, idealCycleTimeS: 20 }]');
    const eff = effectiveConfig(running, next);
    expect(eff.http.port).toBe(running.http.port);
    expect(eff.machines[0]?.idealCycleTimeS).toBe(20);
  });
});

describe('PlantHolder', () => {
  it('its view reads the current Plant, methods included, and stays a Plant', () => {
    const holder = new PlantHolder(new Plant(config(src('a'))));
    const view = holder.view;
    const ideal = view.machine.bind(view);
    expect(view.machine('m1').idealCycleTimeS).toBe(30);
    holder.swap(new Plant(config(src('a') + src('b'), '', '[{ id: m1, idealCycleTimeS: 12 }]')));
    expect(view.machine('m1').idealCycleTimeS).toBe(12);
    expect(ideal('m1').idealCycleTimeS).toBe(12);
    expect(view.sources.map((s) => s.id)).toEqual(['a', 'b']);
    expect(view instanceof Plant).toBe(true);
  });
});
