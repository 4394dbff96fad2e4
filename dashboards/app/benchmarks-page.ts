/**
 * Benchmarks: each KPI of the research brief drawn against its band — the band, the site's
 * value, the baseline used, the verdict and the source cited (GET /api/benchmarks).
 */
import { getJson, HttpError, type BenchmarkRow } from './api.ts';
import { clear, h, qty } from './dom.ts';
import type { Fmt } from './format.ts';
import type { Page } from './main.ts';

interface KpiInfo {
  title: string;
  /** how the compared figure (`change`) reads */
  compared: string;
  /** the compared figure and the band are ratios shown as %, or a count of units */
  kind: 'ratio' | 'units';
  value: (v: number | null, fmt: Fmt) => HTMLElement;
  band: (b: [number, number], fmt: Fmt) => string;
}

const pct = (v: number, fmt: Fmt, sign = false): string => `${sign && v > 0 ? '+' : ''}${fmt.pctNum(v, 0)} %`;

const KPIS: Record<string, KpiInfo> = {
  energyPerUnit: {
    title: 'Energy per unit',
    compared: 'extra energy per good unit vs the baseline',
    kind: 'ratio',
    value: (v, fmt) => qty(fmt.num(v, 3), 'kWh/unit'),
    band: (b, fmt) => `${pct(b[0], fmt, true)} to ${pct(b[1], fmt, true)} extra energy`,
  },
  leadTime: {
    title: 'Order lead time',
    compared: 'lead-time reduction vs the baseline (median order)',
    kind: 'ratio',
    value: (v, fmt) => h('span', { class: 'qty' }, h('span', { class: 'num' }, fmt.duration(v))),
    band: (b, fmt) => `${pct(b[0], fmt)} to ${pct(b[1], fmt)} shorter`,
  },
  scrapRate: {
    title: 'Scrap rate',
    compared: 'scrap-rate reduction vs the baseline',
    kind: 'ratio',
    value: (v, fmt) => qty(fmt.pctNum(v, 2), '%'),
    band: (b, fmt) => `up to ${pct(b[1], fmt)} less scrap`,
  },
  qaAccuracy: {
    title: 'QA detection accuracy',
    compared: 'AI inspection accuracy',
    kind: 'ratio',
    value: (v, fmt) => qty(fmt.pctNum(v, 1), '%'),
    band: (b, fmt) => `${pct(b[0], fmt)} to ${pct(b[1], fmt)} accuracy`,
  },
  productLineVolume: {
    title: 'Product-line volume',
    compared: 'cumulative units of the product',
    kind: 'units',
    value: (v, fmt) => qty(fmt.num(v), 'units'),
    band: (b, fmt) => `below ${fmt.num(b[1])} units additive is cost-competitive`,
  },
};

const VERDICT: Record<string, string> = {
  better: 'Better than the band',
  within: 'Within the band',
  worse: 'Worse than the band',
  'no-baseline': 'No baseline',
  'no-data': 'No data yet',
};

/** The band and the site's figure on one axis. */
function gauge(row: BenchmarkRow, info: KpiInfo, fmt: Fmt): HTMLElement {
  const [lo, hi] = row.band;
  const x = row.change;
  let min = Math.min(lo, x ?? lo, 0);
  let max = Math.max(hi, x ?? hi);
  const pad = (max - min) * 0.15 || 1;
  // room on both sides for the band's labels, which sit outside its ends
  min -= pad;
  max += pad;
  const at = (v: number): number => ((v - min) / (max - min)) * 100;
  const label = (v: number): string => (info.kind === 'units' ? fmt.num(v) : pct(v, fmt, row.kpi === 'energyPerUnit'));
  return h(
    'div',
    { class: 'gauge', 'data-testid': 'band' },
    h('div', { class: 'track' }),
    h('div', { class: 'band', style: `left:${at(lo)}%;width:${Math.max(0.5, at(hi) - at(lo))}%`, title: `the brief's band: ${label(lo)} – ${label(hi)}` }),
    h('span', { class: 'tick lo', style: `left:${at(lo)}%` }, label(lo)),
    h('span', { class: 'tick hi', style: `left:${at(hi)}%` }, label(hi)),
    x === null
      ? null
      : h(
          'div',
          { class: `marker verdict-${row.verdict} ${at(x) < 15 ? 'at-start' : at(x) > 85 ? 'at-end' : ''}`, style: `left:${at(x)}%`, 'data-testid': 'marker' },
          h('span', {}, `this site ${label(x)}`),
        ),
  );
}

function card(row: BenchmarkRow, fmt: Fmt): HTMLElement {
  const info: KpiInfo = KPIS[row.kpi] ?? {
    title: row.kpi,
    compared: '',
    kind: 'ratio',
    value: (v, f) => qty(f.num(v, 3), ''),
    band: (b, f) => `${f.num(b[0], 2)} – ${f.num(b[1], 2)}`,
  };
  const baseline = row.baseline === null ? h('span', { class: 'muted' }, row.verdict === 'no-baseline' ? 'none configured (benchmarks.baselines)' : 'not used') : info.value(row.baseline, fmt);
  return h(
    'article',
    { class: 'bench', 'data-kpi': row.kpi, 'data-verdict': row.verdict, 'data-testid': 'benchmark' },
    h('div', { class: 'bench-head' }, h('h3', {}, info.title), h('span', { class: `chip verdict-${row.verdict}`, 'data-testid': 'verdict' }, VERDICT[row.verdict] ?? row.verdict)),
    h('p', { class: 'meaning' }, info.compared || (row as { meaning?: string }).meaning || ''),
    gauge(row, info, fmt),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, "Brief's band"), h('dd', { 'data-testid': 'band-text' }, info.band(row.band, fmt)),
      h('dt', {}, 'This site'), h('dd', {}, row.value === null ? h('span', { class: 'muted' }, 'no data yet') : info.value(row.value, fmt)),
      h('dt', {}, 'Baseline used'), h('dd', {}, baseline),
      h('dt', {}, 'Compared'), h('dd', {}, row.change === null ? '–' : info.kind === 'units' ? qty(fmt.num(row.change), 'units') : qty(`${row.change > 0 && row.kpi === 'energyPerUnit' ? '+' : ''}${fmt.pctNum(row.change, 1)}`, '%')),
      h('dt', {}, 'Source'), h('dd', { class: 'source', 'data-testid': 'source' }, row.source),
    ),
  );
}

export const renderBenchmarks: Page = (root, ctx) => {
  const { fmt } = ctx;
  const body = h('div', { class: 'bench-body' }, h('p', { class: 'empty' }, 'Loading benchmarks…'));
  const sub = h('span', { class: 'sub' }, 'The research brief\'s figures next to this site\'s own, per product');
  root.append(h('div', { class: 'page-title' }, h('h1', {}, 'Benchmarks'), sub), body);
  let alive = true;
  const load = async (): Promise<void> => {
    try {
      const res = await getJson<{ from?: string; to?: string; rows: BenchmarkRow[] }>('/api/benchmarks');
      if (!alive) return;
      clear(body);
      if (res.from && res.to) sub.textContent = `The research brief's figures next to this site's own · ${fmt.stamp(res.from)} – ${fmt.stamp(res.to)}`;
      if (res.rows.length === 0) {
        body.append(h('p', { class: 'empty' }, 'No benchmark rows: configure machines with a product and benchmarks.baselines.'));
        return;
      }
      const scopes = [...new Set(res.rows.map((r) => r.scope))];
      for (const scope of scopes) {
        const label = scope.startsWith('product:') ? `Product ${scope.slice('product:'.length)}` : scope;
        body.append(h('section', { class: 'bench-group', 'data-scope': scope }, h('h2', {}, label), h('div', { class: 'bench-grid' }, res.rows.filter((r) => r.scope === scope).map((r) => card(r, fmt)))));
      }
    } catch (err) {
      if (!alive) return;
      clear(body);
      const missing = err instanceof HttpError && err.status === 404;
      body.append(
        h(
          'div',
          { class: 'notice', 'data-testid': 'bench-unavailable' },
          h('h2', {}, missing ? 'Benchmarks are not available from this agent yet' : 'Benchmarks could not be loaded'),
          h('p', {}, missing ? 'GET /api/benchmarks is not served by this agent version.' : (err as Error).message),
        ),
      );
    }
  };
  void load();
  const timer = setInterval(() => void load(), 60_000);
  return () => {
    alive = false;
    clearInterval(timer);
  };
};
