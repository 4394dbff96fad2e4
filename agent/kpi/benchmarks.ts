/**
 * The brief's figures (DESIGN.md §5) and how this site compares with them. The bands and their
 * sources are the brief's; config may override them. Baselines are the plant's own (config
 * `benchmarks.baselines.<product>`); without one a comparison says `no-baseline` and invents
 * nothing. Without a measurement (no QA counters, no completed order) it says `no-data`.
 */
import { leadTimeStats } from './lead-time.ts';
import { ratiosFromComponents, type KpiComponents } from './components.ts';

export type BenchmarkKpi = 'energyPerUnit' | 'leadTime' | 'scrapRate' | 'qaAccuracy' | 'productLineVolume';
export type Verdict = 'better' | 'within' | 'worse' | 'no-baseline' | 'no-data';

export interface Band {
  band: readonly [number, number];
  source: string;
}

/** The research brief's bands, each with the source the brief cites. */
export const BRIEF_BANDS: Readonly<Record<BenchmarkKpi, Band>> = {
  // micro-factories use 20–40 % more energy per unit than centralized plants
  energyPerUnit: { band: [0.2, 0.4], source: 'IEA Industry Report, 2023' },
  // additive manufacturing cuts lead times by 50–90 %
  leadTime: { band: [0.5, 0.9], source: 'McKinsey Global Institute, 2022' },
  // AI quality assurance cuts scrap rates by up to 25 %
  scrapRate: { band: [0, 0.25], source: 'Deloitte Manufacturing Survey, 2023' },
  // AI inspection detects defects with 90–99 % accuracy
  qaAccuracy: { band: [0.9, 0.99], source: 'Deloitte Manufacturing Survey, 2023' },
  // unit costs competitive below 10,000 units per product line
  productLineVolume: { band: [0, 10_000], source: 'McKinsey Global Institute, 2022' },
};

/** What each row compares, in the order the rows come. */
export const BENCHMARK_KPIS: readonly BenchmarkKpi[] = ['energyPerUnit', 'leadTime', 'scrapRate', 'qaAccuracy', 'productLineVolume'];

export const BENCHMARK_MEANING: Readonly<Record<BenchmarkKpi, string>> = {
  energyPerUnit: 'extra energy per good unit vs the baseline: epu / baselineEpu − 1',
  leadTime: 'lead-time reduction: 1 − p50 / baselineLeadTime',
  scrapRate: 'scrap-rate reduction: 1 − scrapRate / baselineScrapRate',
  qaAccuracy: 'AI inspection accuracy: (inspected − escaped − false rejects) / inspected',
  productLineVolume: 'cumulative units of the product (below the threshold additive is cost-competitive)',
};

export interface Baseline {
  energyPerUnitKwh?: number | undefined;
  leadTimeS?: number | undefined;
  scrapRate?: number | undefined;
}

export interface BenchmarkRow {
  kpi: BenchmarkKpi;
  /** `product:<id>` */
  scope: string;
  product: string;
  /** the site's figure: kWh/unit, p50 lead time s, scrap rate, accuracy, units */
  value: number | null;
  baseline: number | null;
  /** the compared figure (see `meaning`); null without a baseline or a value */
  change: number | null;
  band: [number, number];
  verdict: Verdict;
  source: string;
  meaning: string;
}

export interface ProductFigures {
  product: string;
  /** the product's machines summed over the window (lead times: its orders completed in it) */
  components: KpiComponents;
  /** units made since the buffer began (good + scrap), null when no counter */
  cumulativeUnits: number | null;
}

/** `lowerIsBetter`: beyond the low end is better (extra energy); otherwise beyond the high end. */
function verdictOf(value: number, band: readonly [number, number], lowerIsBetter: boolean): Verdict {
  const [lo, hi] = band;
  // 1.2 / 1 − 1 is 0.19999999999999996: a figure on the band's edge is on the edge
  const x = Math.round(value * 1e9) / 1e9;
  if (lowerIsBetter) return x < lo ? 'better' : x <= hi ? 'within' : 'worse';
  return x > hi ? 'better' : x >= lo ? 'within' : 'worse';
}

/** One row per KPI of DESIGN.md §5 and product. */
export function benchmarkRows(
  products: readonly ProductFigures[],
  baselines: Readonly<Record<string, Baseline>>,
  bands: Partial<Record<BenchmarkKpi, Band>> = {},
): BenchmarkRow[] {
  const band = (k: BenchmarkKpi): Band => bands[k] ?? BRIEF_BANDS[k];
  const rows: BenchmarkRow[] = [];
  for (const p of products) {
    const r = ratiosFromComponents(p.components);
    const lt = leadTimeStats(p.components);
    const base = baselines[p.product] ?? {};
    const row = (kpi: BenchmarkKpi, value: number | null, baseline: number | null, change: number | null, verdict: Verdict): BenchmarkRow => {
      const b = band(kpi);
      return { kpi, scope: `product:${p.product}`, product: p.product, value, baseline, change, band: [b.band[0], b.band[1]], verdict, source: b.source, meaning: BENCHMARK_MEANING[kpi] };
    };
    const relative = (kpi: BenchmarkKpi, value: number | null, baseline: number | undefined, change: (v: number, b: number) => number, lowerIsBetter: boolean): BenchmarkRow => {
      if (baseline === undefined) return row(kpi, value, null, null, 'no-baseline');
      if (value === null) return row(kpi, null, baseline, null, 'no-data');
      // a zero baseline (no scrap before): no relative change exists; any scrap now is worse
      if (baseline === 0) return row(kpi, value, baseline, null, value > 0 ? 'worse' : 'within');
      const c = change(value, baseline);
      return row(kpi, value, baseline, c, verdictOf(c, band(kpi).band, lowerIsBetter));
    };
    rows.push(relative('energyPerUnit', r.energyPerUnitKwh, base.energyPerUnitKwh, (v, b) => v / b - 1, true));
    rows.push(relative('leadTime', lt.p50S, base.leadTimeS, (v, b) => 1 - v / b, false));
    rows.push(relative('scrapRate', r.scrapRate, base.scrapRate, (v, b) => 1 - v / b, false));
    rows.push(
      r.qaAccuracy === null
        ? row('qaAccuracy', null, null, null, 'no-data')
        : row('qaAccuracy', r.qaAccuracy, null, r.qaAccuracy, verdictOf(r.qaAccuracy, band('qaAccuracy').band, false)),
    );
    const vol = p.cumulativeUnits;
    const volBand = band('productLineVolume').band;
    rows.push(
      vol === null
        ? row('productLineVolume', null, null, null, 'no-data')
        : row('productLineVolume', vol, null, vol, vol <= volBand[1] ? 'within' : 'worse'),
    );
  }
  return rows;
}
