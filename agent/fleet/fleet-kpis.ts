/**
 * Fleet KPIs from the agents' hourly components (DESIGN.md §4, §6): a machine, a line, a site,
 * a product or the whole fleet over a period is the SUM of its machine-hours' components, and
 * every ratio is computed from those sums by the KPI engine — never an average of ratios.
 * Pure: the HTTP route hands in the stored hours and the plant descriptions.
 */
import { DateTime } from 'luxon';
import { accumulate, benchmarkRows, figuresFromComponents, ZERO_COMPONENTS, type Baseline, type Band, type BenchmarkKpi, type BenchmarkRow, type KpiComponents, type KpiFigures, type ProductFigures } from '../kpi/index.ts';
import type { HourRecord, MachineRecord, SiteRecord, UnitsRecord } from './store/index.ts';

export const HOUR_MS = 3_600_000;

export type FleetScope = 'machine' | 'line' | 'site' | 'product' | 'fleet';
export type FleetGroupBy = 'none' | 'hour' | 'day' | 'site';

export interface FleetKpiQuery {
  /** whole hours: from ≤ hourStart < to */
  from: number;
  to: number;
  scope: FleetScope;
  groupBy: FleetGroupBy;
  site?: string | undefined;
  line?: string | undefined;
  product?: string | undefined;
  machine?: string | undefined;
}

export interface FleetKpiRow extends Omit<KpiFigures, never> {
  scope: FleetScope;
  site: string | null;
  agent: string | null;
  machine: string | null;
  line: string | null;
  product: string | null;
  periodStart: string;
  periodEnd: string;
  /** machine-hours summed into the row */
  hours: number;
  energyKwh: number | null;
  unitsTotal: number | null;
  unitsGood: number | null;
  unitsScrap: number | null;
  plannedS: number;
  runningS: number;
  unknownS: number;
  energyCost: number | null;
  co2eKg: number | null;
  components: KpiComponents;
}

export interface FleetPlant {
  machines: readonly MachineRecord[];
  sites: readonly SiteRecord[];
}

interface Meta {
  line: string | null;
  product: string | null;
}

function machineIndex(plant: FleetPlant): (h: { site: string; agent: string; machine: string }) => Meta {
  const byKey = new Map(plant.machines.map((m) => [`${m.site}\u0000${m.agent}\u0000${m.id}`, { line: m.line, product: m.product }]));
  return (h) => byKey.get(`${h.site}\u0000${h.agent}\u0000${h.machine}`) ?? { line: null, product: null };
}

interface Group {
  key: Omit<FleetKpiRow, keyof KpiFigures | 'periodStart' | 'periodEnd' | 'hours' | 'energyKwh' | 'unitsTotal' | 'unitsGood' | 'unitsScrap' | 'plannedS' | 'runningS' | 'unknownS' | 'energyCost' | 'co2eKg' | 'components'>;
  start: number;
  end: number;
  hours: number;
  slot: number;
}

/** The period an hour falls in: the whole range, the hour, or its day in the site's zone (UTC across sites). */
function periodOf(q: FleetKpiQuery, h: HourRecord, zoneOf: (site: string) => string): [number, number] {
  if (q.groupBy === 'hour') return [h.hourStart, h.hourStart + HOUR_MS];
  if (q.groupBy === 'day') {
    const zone = q.scope === 'product' || q.scope === 'fleet' ? 'UTC' : zoneOf(h.site);
    const d = DateTime.fromMillis(h.hourStart, { zone }).startOf('day');
    return [d.toMillis(), d.plus({ days: 1 }).toMillis()];
  }
  return [q.from, q.to];
}

export function fleetKpiRows(q: FleetKpiQuery, hours: readonly HourRecord[], plant: FleetPlant): FleetKpiRow[] {
  const meta = machineIndex(plant);
  const zones = new Map(plant.sites.map((s) => [s.id, s.timezone ?? 'UTC']));
  const zoneOf = (site: string): string => zones.get(site) ?? 'UTC';
  const groups = new Map<string, Group>();
  const sums: (KpiComponents | undefined)[] = [];
  for (const h of hours) {
    const m = meta(h);
    if (q.site !== undefined && h.site !== q.site) continue;
    if (q.machine !== undefined && h.machine !== q.machine) continue;
    if (q.line !== undefined && m.line !== q.line) continue;
    if (q.product !== undefined && m.product !== q.product) continue;
    const bySite = q.scope === 'machine' || q.scope === 'line' || q.scope === 'site' || q.groupBy === 'site';
    const key: Group['key'] = {
      scope: q.scope,
      site: bySite ? h.site : null,
      agent: q.scope === 'machine' ? h.agent : null,
      machine: q.scope === 'machine' ? h.machine : null,
      line: q.scope === 'machine' || q.scope === 'line' ? m.line : null,
      product: q.scope === 'machine' || q.scope === 'product' ? m.product : null,
    };
    const [start, end] = periodOf(q, h, zoneOf);
    const k = `${start}\u0000${key.site}\u0000${key.agent}\u0000${key.machine}\u0000${key.line}\u0000${key.product}`;
    let g = groups.get(k);
    if (!g) {
      g = { key, start, end, hours: 0, slot: groups.size };
      groups.set(k, g);
    }
    g.hours++;
    accumulate(sums, g.slot, h.components);
  }
  const rows = [...groups.values()].map((g) => toRow(g, sums[g.slot] ?? { ...ZERO_COMPONENTS }));
  const s = (x: string | null): string => x ?? '';
  return rows.sort((a, b) => a.periodStart.localeCompare(b.periodStart) || s(a.site).localeCompare(s(b.site)) || s(a.line).localeCompare(s(b.line)) || s(a.product).localeCompare(s(b.product)) || s(a.agent).localeCompare(s(b.agent)) || s(a.machine).localeCompare(s(b.machine)));
}

function toRow(g: Group, c: KpiComponents): FleetKpiRow {
  return {
    ...g.key,
    periodStart: new Date(g.start).toISOString(),
    periodEnd: new Date(g.end).toISOString(),
    hours: g.hours,
    energyKwh: c.energyKwh,
    unitsTotal: c.unitsTotal,
    unitsGood: c.unitsGood,
    unitsScrap: c.unitsScrap,
    plannedS: c.plannedS,
    runningS: c.runningS,
    unknownS: c.unknownS,
    energyCost: c.energyCost,
    co2eKg: c.co2eKg,
    ...figuresFromComponents(c),
    components: c,
  };
}

export interface FleetBenchmarkInput {
  from: number;
  to: number;
  site?: string | undefined;
  hours: readonly HourRecord[];
  units: readonly UnitsRecord[];
  plant: FleetPlant;
  baselines: Readonly<Record<string, Baseline>>;
  bands: Partial<Record<BenchmarkKpi, Band>>;
}

const UNMEASURED: Readonly<KpiComponents> = { ...ZERO_COMPONENTS, energyKwh: null, unitsTotal: null, unitsGood: null, unitsScrap: null, qaInspected: null, qaRejected: null, qaEscaped: null, qaFalseReject: null, idealS: null };

/** The brief's comparisons per product over the fleet (or one site): the product's machine-hours summed. */
export function fleetBenchmarkRows(input: FleetBenchmarkInput): BenchmarkRow[] {
  const meta = machineIndex(input.plant);
  const inSite = (site: string): boolean => input.site === undefined || site === input.site;
  const products: string[] = [];
  for (const m of input.plant.machines) if (m.product !== null && inSite(m.site) && !products.includes(m.product)) products.push(m.product);
  for (const p of Object.keys(input.baselines)) if (!products.includes(p)) products.push(p);
  const figures: ProductFigures[] = products.map((product) => {
    const sums: (KpiComponents | undefined)[] = [];
    for (const h of input.hours) if (inSite(h.site) && meta(h).product === product) accumulate(sums, 0, h.components);
    let volume: number | null = null;
    let any = false;
    for (const u of input.units) {
      if (!inSite(u.site) || meta(u).product !== product) continue;
      volume = !any ? u.unitsTotal : volume === null || u.unitsTotal === null ? null : volume + u.unitsTotal;
      any = true;
    }
    return { product, components: sums[0] ?? { ...UNMEASURED }, cumulativeUnits: any ? volume : null };
  });
  return benchmarkRows(figures, input.baselines, input.bands);
}

/** A benchmark row of one site (`/api/benchmarks?groupBy=site`). */
export interface SiteBenchmarkRow extends BenchmarkRow {
  site: string;
}

/**
 * The brief's comparisons per site and product: each site's own machine-hours summed, against
 * the product's baseline, so central teams can rank sites. Sites come from the plant
 * descriptions and from the stored hours (a site whose plant message is still to come).
 */
export function fleetSiteBenchmarkRows(input: FleetBenchmarkInput): SiteBenchmarkRow[] {
  const sites = new Set<string>();
  for (const s of input.plant.sites) if (input.site === undefined || s.id === input.site) sites.add(s.id);
  for (const h of input.hours) if (input.site === undefined || h.site === input.site) sites.add(h.site);
  const rows: SiteBenchmarkRow[] = [];
  for (const site of [...sites].sort()) {
    const plant: FleetPlant = { machines: input.plant.machines.filter((m) => m.site === site), sites: input.plant.sites };
    // a site reports the products it makes; the fleet's other baselines are not its products
    const baselines = Object.fromEntries(Object.entries(input.baselines).filter(([p]) => plant.machines.some((m) => m.product === p)));
    for (const r of fleetBenchmarkRows({ ...input, site, plant, baselines })) rows.push({ ...r, site });
  }
  return rows;
}
