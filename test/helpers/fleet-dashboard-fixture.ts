/**
 * Three sites for the fleet dashboard's tests, built by hand (notes/fleet-protocol.md), in the
 * hours just before `now` so the dashboard's default period holds them:
 * - site-a (bracket): +30 % energy per unit (within the brief's +20–40 %), scrap cut by ~52 %
 *   (better than "up to 25 %"), median lead time well under the baseline; online.
 * - site-b (bracket): +100 % energy per unit and more scrap than the baseline (worse on both);
 *   online, with a gap in its ids: 20 stored ids held back (backlog).
 * - site-c (housing): no baseline configured; the best OEE; offline.
 * Expected rankings: energy a, b, c · scrap a, b, c · OEE c, a, b.
 */
import type { HoursMessage, PlantMessage, SamplesMessage } from '../../agent/fleet/messages.ts';
import type { IngestBatch } from '../../agent/fleet/store/index.ts';
import { batch, hoursMessage, plantMessage, samplesMessage } from './fleet-messages.ts';

const H = 3_600_000;

export const DASHBOARD_BENCHMARKS = 'benchmarks: { baselines: { bracket: { energyPerUnitKwh: 0.15, leadTimeS: 3600, scrapRate: 0.1 } } }\n';

export interface DashboardFixture {
  plants: PlantMessage[];
  hours: HoursMessage[];
  samples: SamplesMessage[];
  statuses: { site: string; agent: string; status: 'online' | 'offline' }[];
}

export function dashboardFixture(now = Date.now()): DashboardFixture {
  const h0 = Math.floor(now / H) * H - 3 * H;
  const a = { site: 'site-a', agent: 'edge-a', instance: 'ia' };
  const b = { site: 'site-b', agent: 'edge-b', instance: 'ib' };
  const c = { site: 'site-c', agent: 'edge-c', instance: 'ic' };
  const orders = { orders: 2, ordersFromRelease: 2, leadTimeSumS: 300, leadTimeMinS: 100, leadTimeMaxS: 200, leadTimeHist: { '463': 1, '533': 1 } };
  return {
    plants: [
      plantMessage({ ...a, machines: [{ id: 'a-printer-1', name: 'Printer A1', line: 'additive', product: 'bracket' }, { id: 'a-cnc-1', name: 'CNC A1', line: 'finishing', product: 'bracket' }] }),
      plantMessage({ ...b, machines: [{ id: 'b-printer-1', name: 'Printer B1', line: 'additive', product: 'bracket' }] }),
      plantMessage({ ...c, machines: [{ id: 'c-press-1', name: 'Press C1', line: 'pressing', product: 'housing' }] }),
    ],
    hours: [
      // site-a: 3.9 kWh / 20 good = 0.195 kWh/unit (+30 %); 1 scrap of 21 (−52 % vs 10 %)
      hoursMessage({ ...a, machine: 'a-printer-1', hourStart: h0, revision: 1, c: { energyKwh: 2.9, unitsTotal: 15, unitsGood: 14, unitsScrap: 1, runningS: 3000, idealS: 2400, ...orders } }),
      hoursMessage({ ...a, machine: 'a-cnc-1', hourStart: h0 + H, revision: 1, c: { energyKwh: 1, unitsTotal: 6, unitsGood: 6, unitsScrap: 0, runningS: 3000, idealS: 2400 } }),
      // site-b: 6 kWh / 20 good = 0.3 kWh/unit (+100 %); 4 scrap of 24 (16.7 % > 10 %)
      hoursMessage({ ...b, machine: 'b-printer-1', hourStart: h0, revision: 1, c: { energyKwh: 6, unitsTotal: 24, unitsGood: 20, unitsScrap: 4, runningS: 1800, idealS: 1000 } }),
      // site-c: no baseline; every planned second running at the ideal rate, no scrap
      hoursMessage({ ...c, machine: 'c-press-1', hourStart: h0 + H, revision: 1, c: { energyKwh: 2, unitsTotal: 10, unitsGood: 10, unitsScrap: 0, runningS: 3600, idealS: 3600 } }),
    ],
    samples: [
      samplesMessage({ ...a, prevLastId: 0, firstId: 1, lastId: 10 }),
      samplesMessage({ ...b, prevLastId: 0, firstId: 1, lastId: 10 }),
      // ids 11–20 never arrive: 21–30 are stored but held back
      samplesMessage({ ...b, prevLastId: 20, firstId: 21, lastId: 30 }),
      samplesMessage({ ...c, prevLastId: 0, firstId: 1, lastId: 5 }),
    ],
    statuses: [
      { site: 'site-a', agent: 'edge-a', status: 'online' },
      { site: 'site-b', agent: 'edge-b', status: 'online' },
      { site: 'site-c', agent: 'edge-c', status: 'offline' },
    ],
  };
}

/** The fixture as one store transaction (no broker). */
export function dashboardBatch(f: DashboardFixture, at = Date.now()): IngestBatch {
  return batch({ plants: f.plants, hours: f.hours, samples: f.samples, statuses: f.statuses.map((s) => ({ ...s, at })), at });
}

/** The fixture as the agents publish it: topic, payload, retained. */
export function dashboardMessages(prefix: string, f: DashboardFixture): { topic: string; payload: string; retain: boolean }[] {
  const base = (m: { site: string; agent: string }): string => `${prefix}/${m.site}/${m.agent}`;
  return [
    ...f.plants.map((m) => ({ topic: `${base(m)}/plant`, payload: JSON.stringify(m), retain: true })),
    ...f.hours.map((m) => ({ topic: `${base(m)}/hours/${m.machine}`, payload: JSON.stringify(m), retain: false })),
    ...f.samples.map((m) => ({ topic: `${base(m)}/samples`, payload: JSON.stringify(m), retain: false })),
    ...f.statuses.map((m) => ({ topic: `${base(m)}/status`, payload: m.status, retain: true })),
  ];
}
