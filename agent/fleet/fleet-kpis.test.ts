import { describe, expect, it } from 'vitest';
import { ZERO_COMPONENTS, type KpiComponents } from '../kpi/index.ts';
import { fleetKpiRows, fleetSiteBenchmarkRows, type FleetKpiQuery } from './fleet-kpis.ts';
import type { HourRecord } from './store/index.ts';

const H = 3_600_000;
const c = (over: Partial<KpiComponents>): KpiComponents => ({ ...ZERO_COMPONENTS, windowS: 3600, plannedS: 3600, ...over });
const hour = (site: string, machine: string, hourStart: number, over: Partial<KpiComponents>): HourRecord => ({ instance: `i-${site}`, site, agent: 'e1', machine, hourStart, revision: 0, components: c(over) });

const plant = {
  machines: [
    { site: 'berlin', agent: 'e1', id: 'p1', name: null, line: 'additive', product: 'bracket', idealCycleTimeS: null },
    { site: 'lisbon', agent: 'e1', id: 'p9', name: null, line: 'additive', product: 'bracket', idealCycleTimeS: null },
  ],
  sites: [
    { id: 'berlin', name: null, timezone: 'Europe/Berlin' },
    { id: 'lisbon', name: null, timezone: 'Europe/Lisbon' },
  ],
};

// 22:00 and 23:00 UTC on 2 Nov: 23:00 on the 2nd and 00:00 on the 3rd in Berlin (UTC+1)
const T = Date.UTC(2026, 10, 2, 22);
const hours = [hour('berlin', 'p1', T, { energyKwh: 1, unitsGood: 2 }), hour('berlin', 'p1', T + H, { energyKwh: 3, unitsGood: 2 }), hour('lisbon', 'p9', T, { energyKwh: 5, unitsGood: 5 }), hour('lisbon', 'x', T, { energyKwh: 7, unitsGood: 1 })];
const q = (over: Partial<FleetKpiQuery>): FleetKpiQuery => ({ from: T - 24 * H, to: T + 24 * H, scope: 'site', groupBy: 'none', ...over });

describe('fleetKpiRows', () => {
  it('cuts days in each site\'s time zone, and in UTC across sites', () => {
    const bySiteDay = fleetKpiRows(q({ scope: 'site', groupBy: 'day', site: 'berlin' }), hours, plant);
    expect(bySiteDay.map((r) => [r.periodStart, r.periodEnd, r.energyKwh])).toEqual([
      ['2026-11-01T23:00:00.000Z', '2026-11-02T23:00:00.000Z', 1],
      ['2026-11-02T23:00:00.000Z', '2026-11-03T23:00:00.000Z', 3],
    ]);
    const fleetDay = fleetKpiRows(q({ scope: 'fleet', groupBy: 'day' }), hours, plant);
    expect(fleetDay.map((r) => [r.periodStart, r.energyKwh, r.unitsGood, r.hours])).toEqual([['2026-11-02T00:00:00.000Z', 16, 10, 4]]);
    expect(fleetDay[0]?.energyPerUnitKwh).toBeCloseTo(1.6, 12);
  });

  it('filters by line and product through the plant descriptions; an undescribed machine has no line', () => {
    expect(fleetKpiRows(q({ scope: 'product', product: 'bracket' }), hours, plant).map((r) => [r.product, r.energyKwh])).toEqual([['bracket', 9]]);
    expect(fleetKpiRows(q({ scope: 'line' }), hours, plant).map((r) => [r.site, r.line, r.energyKwh])).toEqual([
      ['berlin', 'additive', 4],
      ['lisbon', null, 7],
      ['lisbon', 'additive', 5],
    ]);
    expect(fleetKpiRows(q({ scope: 'machine', line: 'additive', site: 'lisbon' }), hours, plant).map((r) => [r.machine, r.agent, r.energyKwh])).toEqual([['p9', 'e1', 5]]);
    expect(fleetKpiRows(q({ scope: 'fleet', from: T + 2 * H }), [], plant)).toEqual([]);
  });
});

describe('fleetSiteBenchmarkRows', () => {
  const input = { from: T - 24 * H, to: T + 24 * H, units: [], plant, bands: {} };

  it('compares each site\'s own summed hours with the product\'s baseline', () => {
    const rows = fleetSiteBenchmarkRows({ ...input, hours, baselines: { bracket: { energyPerUnitKwh: 1 } } });
    const epu = rows.filter((r) => r.kpi === 'energyPerUnit').map((r) => [r.site, r.product, r.value, r.verdict]);
    // berlin: (1 + 3) / (2 + 2) = 1 kWh/unit, +0 % (better than +20–40 %); lisbon's bracket machine p9 only: 5 / 5
    expect(epu).toEqual([['berlin', 'bracket', 1, 'better'], ['lisbon', 'bracket', 1, 'better']]);
    expect(rows.every((r) => r.scope === 'product:bracket')).toBe(true);
  });

  it('gives a site no product it does not make, and no rows before its plant says what it makes', () => {
    const more = [...hours, hour('porto', 'z1', T, { energyKwh: 2, unitsGood: 1 })];
    const rows = fleetSiteBenchmarkRows({ ...input, hours: more, baselines: { bracket: { energyPerUnitKwh: 1 }, housing: { energyPerUnitKwh: 2 } } });
    expect([...new Set(rows.map((r) => r.site))]).toEqual(['berlin', 'lisbon']);
    expect(rows.some((r) => r.product === 'housing')).toBe(false);
    // porto sent no plant yet: no machine has a product, so no comparison to make
    expect(rows.filter((r) => r.site === 'porto')).toEqual([]);
    expect(fleetSiteBenchmarkRows({ ...input, site: 'lisbon', hours: more, baselines: {} }).map((r) => r.site)).toEqual(Array(5).fill('lisbon'));
  });
});
