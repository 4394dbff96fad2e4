import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent } from './agent.ts';
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

describe('Agent.reload', () => {
  it('machines take effect through the parts that hold the Plant (HTTP, KPIs); the status shows in health', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfa-reload-'));
    const at = (machines: string, port = 0): Config => {
      const res = loadConfigText(`site: { id: s, timezone: Europe/Berlin }\nagent: { id: a, dataDir: ${dir} }\nhttp: { port: ${port} }\nmachines: ${machines}\n`);
      if (!res.ok) throw new Error(JSON.stringify(res.problems));
      return res.config;
    };
    const agent = new Agent(at('[{ id: m1, idealCycleTimeS: 30 }]'), pino({ level: 'silent' }));
    try {
      const base = `http://127.0.0.1:${(await agent.start()).httpPort}`;
      const ids = async (): Promise<string[]> => ((await (await fetch(`${base}/api/machines`)).json()) as { id: string }[]).map((m) => m.id);
      expect(await ids()).toEqual(['m1']);
      // the KPI rows come from the query worker (its own Plant): it must follow a reload too
      const kpiMachines = async (): Promise<string[]> => {
        for (let i = 0; ; i++) {
          const r = await fetch(`${base}/api/kpis`);
          if (r.status === 200) return ((await r.json()) as { rows: { machine: string }[] }).rows.map((x) => x.machine).sort();
          if (r.status !== 503 || i > 100) throw new Error(`/api/kpis answered ${r.status}`);
          await new Promise((res) => setTimeout(res, 100)); // the worker restarting with the new config
        }
      };
      expect(await kpiMachines()).toEqual(['m1']);
      expect(agent.health().config?.lastReload).toBeNull();
      const d = await agent.reload(at('[{ id: m1, idealCycleTimeS: 20 }, { id: m2 }]', 18_098));
      expect(d.machines).toEqual({ added: ['m2'], removed: [], changed: ['m1'] });
      expect(await ids()).toEqual(['m1', 'm2']);
      expect(await kpiMachines()).toEqual(['m1', 'm2']);
      expect(agent.plant.machine('m1').idealCycleTimeS).toBe(20);
      // the listener keeps its port until a restart, and health says so
      expect(agent.plant.http.port).toBe(0);
      expect(agent.health().config?.lastReload).toMatchObject({ ok: true, needsRestart: ['http'] });
      agent.reloadRejected('sources[0].type: unknown');
      expect(agent.health().config?.lastReload).toMatchObject({ ok: false, error: 'sources[0].type: unknown' });
    } finally {
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
