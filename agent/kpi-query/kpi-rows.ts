/**
 * From summed components to the rows a user sees: a machine's row gets the lead times of its
 * orders completed in its window, every ratio is computed from the sums, and line and site rows
 * (`scope`) sum their machines' components, never average ratios (DESIGN.md §4).
 */
import { figuresFromComponents, mergeComponents, mergeLeadTime, ZERO_COMPONENTS, type Cut, type EnergySource, type KpiComponents, type OrderRecord } from '../kpi/index.ts';
import { addLeadTimes } from './order-keeper.ts';
import type { KpiPlant } from './ports.ts';
import type { KpiQuery, KpiRow, KpiRowBody, MachineCut, RollupRow, WindowComponents } from './query-types.ts';

/** Every figure of a row from its components (`currency`: the tariff's, for the cost fields). */
export function rowBody(product: string | null, cut: Cut, c: KpiComponents, source: EnergySource | 'mixed', currency: string): KpiRowBody {
  const f = figuresFromComponents(c);
  return {
    product,
    ...(cut.label !== undefined ? { period: cut.label } : {}),
    periodStart: new Date(cut.start).toISOString(),
    periodEnd: new Date(cut.end).toISOString(),
    energyKwh: c.energyKwh,
    energySource: source,
    unitsTotal: c.unitsTotal,
    unitsGood: c.unitsGood,
    unitsScrap: c.unitsScrap,
    energyPerUnitKwh: f.energyPerUnitKwh,
    scrapRate: f.scrapRate,
    plannedS: c.plannedS,
    runningS: c.runningS,
    unknownS: c.unknownS,
    availability: f.availability,
    coverage: f.coverage,
    performance: f.performance,
    performanceOver1: f.performanceOver1,
    quality: f.quality,
    oee: f.oee,
    qaAccuracy: f.qaAccuracy,
    energyCost: c.energyCost,
    costPerUnit: f.costPerUnit,
    currency,
    co2eKg: c.co2eKg,
    co2ePerUnitKg: f.co2ePerUnitKg,
    leadTime: f.leadTime,
    components: c,
  };
}

export interface MachineRowsInput {
  ids: readonly string[];
  cutsByMachine: ReadonlyMap<string, MachineCut[]>;
  components: ReadonlyMap<string, WindowComponents[]>;
  q: KpiQuery;
  /** a machine's orders, sorted by completion */
  ordersOf: (machine: string) => readonly OrderRecord[];
}

/** Rows of `ids` in their windows, machine by machine. */
export function machineRows(plant: KpiPlant, input: MachineRowsInput): KpiRow[] {
  const { q } = input;
  const currency = plant.energy.currency;
  const rows: KpiRow[] = [];
  for (const id of input.ids) {
    const m = plant.machine(id);
    const cuts = input.cutsByMachine.get(id) ?? [];
    const comps = input.components.get(id) ?? [];
    const orders = input.ordersOf(id);
    cuts.forEach((c, i) => {
      const entry = comps[i] ?? { components: { ...ZERO_COMPONENTS, energyKwh: null }, source: 'none' as EnergySource };
      // an order row holds its own order's lead time when it completed in the queried range
      const withOrders =
        q.groupBy === 'order'
          ? addLeadTimes(entry.components, orders, q.from, q.to, (o) => o.orderId === c.label)
          : addLeadTimes(entry.components, orders, c.start, c.end, () => true);
      rows.push({ scope: 'machine', machine: id, line: m.line, ...rowBody(m.product, c, withOrders, entry.source, currency) });
    });
  }
  return rows;
}

interface RollupGroup {
  line: string | null;
  cut: Cut;
  c: KpiComponents;
  sources: Set<string>;
  products: Set<string | null>;
}

/**
 * Line or site rows: Σ machine components per period. `unassigned`: orders of no machine (MES
 * events naming none, never seen on an order_id tag), counted on a whole-site query only.
 */
export function rollUp(rows: readonly KpiRow[], cuts: readonly Cut[], scope: 'line' | 'site', q: KpiQuery, unassigned: readonly OrderRecord[], currency: string): RollupRow[] {
  const groups = new Map<string, RollupGroup>();
  rows.forEach((r, i) => {
    const line = scope === 'line' ? r.line : null;
    const { start, end } = cuts[i] as Cut;
    const key = `${line ?? ''}\u0000${q.groupBy === 'order' ? (r.period ?? '') : `${start}|${end}|${r.period ?? ''}`}`;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { line, cut: { start, end, ...(r.period !== undefined ? { label: r.period } : {}) }, c: r.components, sources: new Set([r.energySource]), products: new Set([r.product]) });
    } else {
      g.c = mergeComponents(g.c, r.components);
      g.cut = { ...g.cut, start: Math.min(g.cut.start, start), end: Math.max(g.cut.end, end) };
      g.sources.add(r.energySource);
      g.products.add(r.product);
    }
  });
  if (scope === 'site' && q.machine === undefined && q.line === undefined && q.groupBy !== 'order') {
    for (const g of groups.values()) {
      const extra = addLeadTimes({ ...ZERO_COMPONENTS }, unassigned, g.cut.start, g.cut.end, () => true);
      if (extra.orders > 0) g.c = { ...g.c, ...mergeLeadTime(g.c, extra) };
    }
  }
  const ordered = [...groups.values()].sort((a, b) => a.cut.start - b.cut.start || (a.line ?? '').localeCompare(b.line ?? ''));
  const out: RollupRow[] = [];
  for (const g of ordered) {
    const sources = [...g.sources].filter((s) => s !== 'none');
    const source = sources.length === 0 ? 'none' : sources.length === 1 ? (sources[0] as EnergySource) : 'mixed';
    const products = [...g.products];
    out.push({ scope, machine: null, line: g.line, ...rowBody(products.length === 1 ? (products[0] ?? null) : null, g.cut, g.c, source, currency) });
  }
  return out;
}
