/**
 * A small, realistic fleet in a PostgreSQL schema for the Grafana dashboards' test: three sites
 * of one agent each (two lines, four machines), eight whole hours of KPI components with orders
 * and lead times, raw samples every 30 s, one agent offline. Stored through the real PgStore,
 * so the tables are the migrations' and the rows the ingest's. Seeded: the same every run.
 */
import { leadTimeComponents, type KpiComponents } from '../../agent/kpi/index.ts';
import type { HoursMessage, PlantMessage, SamplesMessage } from '../../agent/fleet/messages.ts';
import type { FleetStore } from '../../agent/fleet/store/index.ts';
import { batch, components, T0 } from './fleet-messages.ts';

export const FLEET_HOURS = 8;
export const FLEET_SITES = ['site-north', 'site-south', 'site-east'] as const;
const MACHINES = [
  { id: 'press-1', name: 'Press 1', line: 'Line A', product: 'bracket', idealCycleTimeS: 20 },
  { id: 'mill-1', name: 'Mill 1', line: 'Line A', product: 'bracket', idealCycleTimeS: 45 },
  { id: 'printer-1', name: 'Printer 1', line: 'Line B', product: 'housing', idealCycleTimeS: 120 },
  { id: 'printer-2', name: 'Printer 2', line: 'Line B', product: 'housing', idealCycleTimeS: 120 },
];
const H = 3_600_000;
const SAMPLE_EVERY_MS = 30_000;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function hourComponents(r: () => number, idealCycleTimeS: number, kw: number): KpiComponents {
  const unknownS = Math.round(r() * 60);
  const downS = Math.round(r() * 400);
  const runningS = Math.round(2400 + r() * 700);
  const idleS = 3600 - unknownS - downS - runningS;
  const unitsTotal = Math.floor((runningS / idealCycleTimeS) * (0.8 + r() * 0.15));
  const unitsScrap = Math.round(unitsTotal * (0.01 + r() * 0.05));
  const lead = leadTimeComponents(Array.from({ length: 1 + Math.floor(r() * 4) }, () => ({ leadTimeS: 7200 + r() * 100_000, fromRelease: true })));
  return components({
    runningS,
    idleS,
    downS,
    unknownS,
    energyKwh: (runningS * kw + idleS * kw * 0.2) / 3600,
    unitsTotal,
    unitsGood: unitsTotal - unitsScrap,
    unitsScrap,
    idealS: unitsTotal * idealCycleTimeS,
    energyCost: ((runningS * kw) / 3600) * 0.21,
    co2eKg: ((runningS * kw) / 3600) * 0.38,
    ...lead,
  });
}

/** What was stored, for the test to recompute the dashboards' figures from. */
export interface FleetFixture {
  hours: HoursMessage[];
  from: number;
  to: number;
}

export async function feedFleet(store: FleetStore): Promise<FleetFixture> {
  const hours: HoursMessage[] = [];
  for (const [si, site] of FLEET_SITES.entries()) {
    const r = rng(1000 + si);
    const who = { site, agent: 'edge-1', instance: `${site}-edge-1-boot1` };
    const plant: PlantMessage = { ...who, siteName: site.replace('site-', 'Site ').replace(/\b\w/g, (c) => c.toUpperCase()), timezone: 'Europe/Berlin', machines: MACHINES };
    const status = si === 2 ? 'offline' : 'online';
    await store.commit(batch({ plants: [plant], statuses: [{ site, agent: who.agent, status, at: T0 + FLEET_HOURS * H }], at: T0 + FLEET_HOURS * H }));
    const siteHours: HoursMessage[] = [];
    for (let h = 0; h < FLEET_HOURS; h++) {
      for (const [mi, m] of MACHINES.entries()) {
        siteHours.push({ ...who, machine: m.id, hourStart: T0 + h * H, revision: 1, components: hourComponents(r, m.idealCycleTimeS * (1 + si * 0.1), 6 + mi * 2 + si) });
      }
    }
    hours.push(...siteHours);
    await store.commit(batch({ hours: siteHours, at: T0 + FLEET_HOURS * H }));
    let id = 0;
    let prevLastId = 0;
    for (let h = 0; h < FLEET_HOURS; h++) {
      const samples: SamplesMessage['samples'] = [];
      for (let t = T0 + h * H; t < T0 + (h + 1) * H; t += SAMPLE_EVERY_MS) {
        for (const [mi, m] of MACHINES.entries()) {
          samples.push({ id: ++id, machine: m.id, signal: 'power_kw', ts: t, value: 4 + mi * 2 + r() * 3, quality: 'good' });
          if (t % (5 * 60_000) === 0) samples.push({ id: ++id, machine: m.id, signal: 'state', ts: t, value: r() < 0.8 ? 'running' : 'idle', quality: 'good' });
        }
      }
      const first = samples[0]?.id ?? 1;
      await store.commit(batch({ samples: [{ ...who, firstId: first, lastId: id, prevLastId, samples }], at: T0 + (h + 1) * H }));
      prevLastId = id;
    }
  }
  return { hours, from: T0, to: T0 + FLEET_HOURS * H };
}
