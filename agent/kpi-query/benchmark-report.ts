/** The brief's comparisons (DESIGN.md §5) over `[from, to)`, per product. */
import { benchmarkRows, leadTimeComponents, mergeComponents, ordersCompletedIn, ZERO_COMPONENTS, type KpiComponents, type OrderBook, type ProductFigures } from '../kpi/index.ts';
import type { KpiPlant } from './ports.ts';
import type { BenchmarkReport, KpiQuery, KpiRow } from './query-types.ts';

export interface BenchmarkInput {
  from: number;
  to: number;
  /** every machine, configured ones first */
  ids: readonly string[];
  book: OrderBook;
  /** the oldest sample's time: cumulative volume counts from there */
  oldest: number | null;
  kpis: (q: KpiQuery) => KpiRow[];
}

const UNMEASURED: Readonly<KpiComponents> = { ...ZERO_COMPONENTS, energyKwh: null, unitsTotal: null, unitsGood: null, unitsScrap: null, qaInspected: null, qaRejected: null, qaEscaped: null, qaFalseReject: null, idealS: null };

export function benchmarkReport(plant: KpiPlant, input: BenchmarkInput): BenchmarkReport {
  const { from, to, book, oldest } = input;
  const products = productMachines(plant, input.ids, book);
  const window = input.kpis({ from, to, groupBy: 'none' });
  const volume = oldest !== null && oldest < to ? input.kpis({ from: oldest, to, groupBy: 'none' }) : [];
  const figures: ProductFigures[] = [];
  for (const [product, machines] of products) {
    const sum = (rows: KpiRow[]): KpiComponents => {
      const mine = rows.filter((r) => machines.includes(r.machine));
      if (mine.length === 0) return { ...UNMEASURED };
      // lead times are taken per product below (an order's product, whichever machine)
      return mine.map((r) => ({ ...r.components, ...leadTimeComponents([]) })).reduce((a, b) => mergeComponents(a, b));
    };
    const comps = sum(window);
    const orders = ordersCompletedIn(book.orders, from, to).filter((o) => o.product === product);
    const withLead: KpiComponents = { ...comps, ...leadTimeComponents(orders.map((o) => ({ leadTimeS: o.leadTimeS as number, fromRelease: o.fromRelease }))) };
    const vol = sum(volume);
    figures.push({ product, components: withLead, cumulativeUnits: machines.length === 0 ? null : vol.unitsTotal });
  }
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    volumeSince: oldest === null ? null : new Date(oldest).toISOString(),
    rows: benchmarkRows(figures, plant.benchmarks.baselines, plant.benchmarks.bands),
  };
}

/** product → its machines: the machines' own, then those only orders or baselines name (no machines). */
function productMachines(plant: KpiPlant, ids: readonly string[], book: OrderBook): Map<string, string[]> {
  const products = new Map<string, string[]>();
  for (const id of ids) {
    const p = plant.machine(id).product;
    if (p === null) continue;
    products.set(p, [...(products.get(p) ?? []), id]);
  }
  for (const o of book.orders) if (o.product !== null && !products.has(o.product)) products.set(o.product, []);
  for (const p of Object.keys(plant.benchmarks.baselines)) if (!products.has(p)) products.set(p, []);
  return products;
}
