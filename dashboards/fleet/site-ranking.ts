/**
 * Sites ranked, one list per figure of the brief the fleet compares (DESIGN.md §5): energy per
 * unit, lead-time reduction and scrap-rate reduction per site and product against the brief's
 * band (GET /api/benchmarks?groupBy=site), and OEE per site (GET /api/kpis?scope=site), for
 * which the brief gives no band. Best first; a site without a figure comes last, saying why.
 */
import { h } from '../app/dom.ts';
import type { Fmt } from '../app/format.ts';
import type { FleetKpiRow, SiteBenchmarkRow } from './fleet-api.ts';

export const VERDICT: Record<string, string> = {
  better: 'Better than the band',
  within: 'Within the band',
  worse: 'Worse than the band',
  'no-baseline': 'No baseline',
  'no-data': 'No data yet',
};

interface Ranked {
  kpi: string;
  title: string;
  /** lower change is better (extra energy) */
  lowerIsBetter: boolean;
  band: (b: [number, number], fmt: Fmt) => string;
  value: (v: number | null, fmt: Fmt) => string;
}

const pct = (v: number, fmt: Fmt, sign = false): string => `${sign && v > 0 ? '+' : ''}${fmt.pctNum(v, 0)} %`;

export const RANKED: readonly Ranked[] = [
  {
    kpi: 'energyPerUnit',
    title: 'Energy per unit',
    lowerIsBetter: true,
    band: (b, fmt) => `${pct(b[0], fmt, true)} to ${pct(b[1], fmt, true)} extra energy vs a centralized plant`,
    value: (v, fmt) => `${fmt.num(v, 3)} kWh/unit`,
  },
  {
    kpi: 'leadTime',
    title: 'Lead-time reduction',
    lowerIsBetter: false,
    band: (b, fmt) => `${pct(b[0], fmt)} to ${pct(b[1], fmt)} shorter`,
    value: (v, fmt) => `median ${fmt.duration(v)}`,
  },
  {
    kpi: 'scrapRate',
    title: 'Scrap-rate reduction',
    lowerIsBetter: false,
    band: (b, fmt) => `up to ${pct(b[1], fmt)} less scrap`,
    value: (v, fmt) => `${fmt.pctNum(v, 2)} % scrap`,
  },
];

/** best first, then the rows without a compared figure (by site) */
export function rankRows(rows: readonly SiteBenchmarkRow[], lowerIsBetter: boolean): SiteBenchmarkRow[] {
  return [...rows].sort((a, b) => {
    if (a.change === null || b.change === null) return (a.change === null ? 1 : 0) - (b.change === null ? 1 : 0) || a.site.localeCompare(b.site);
    return (lowerIsBetter ? a.change - b.change : b.change - a.change) || a.site.localeCompare(b.site);
  });
}

const siteLink = (site: string, names: ReadonlyMap<string, string>): HTMLElement =>
  h('a', { href: `#/site/${encodeURIComponent(site)}`, class: 'site-link', 'data-testid': 'site-link' }, names.get(site) ?? site);

function benchmarkCard(r: Ranked, rows: readonly SiteBenchmarkRow[], fmt: Fmt, names: ReadonlyMap<string, string>): HTMLElement {
  const mine = rankRows(rows.filter((x) => x.kpi === r.kpi), r.lowerIsBetter);
  const band = mine[0]?.band;
  const change = (x: SiteBenchmarkRow): string => (x.change === null ? '–' : pct(x.change, fmt, r.kpi === 'energyPerUnit'));
  return h(
    'section',
    { class: 'panel ranking', 'data-kpi': r.kpi, 'data-testid': 'ranking' },
    h('div', { class: 'panel-head' }, h('h2', {}, r.title), band ? h('span', { class: 'pill', 'data-testid': 'band-text', title: mine[0]?.source ?? '' }, `brief: ${r.band(band, fmt)}`) : null),
    mine.length === 0
      ? h('p', { class: 'empty' }, 'No site has sent machines with a product yet.')
      : h(
          'ol',
          { class: 'rank' },
          mine.map((x, i) =>
            h(
              'li',
              { 'data-testid': 'rank-row', 'data-site': x.site, 'data-product': x.product, 'data-verdict': x.verdict },
              h('span', { class: 'pos' }, x.change === null ? '–' : String(i + 1)),
              h('span', { class: 'who' }, siteLink(x.site, names), h('span', { class: 'muted' }, ` · ${x.product}`)),
              h('span', { class: 'fig' }, h('strong', { 'data-testid': 'change' }, change(x)), h('span', { class: 'muted' }, x.value === null ? 'no data yet' : r.value(x.value, fmt))),
              h('span', { class: `chip verdict-${x.verdict}`, 'data-testid': 'verdict' }, VERDICT[x.verdict] ?? x.verdict),
            ),
          ),
        ),
    mine[0] ? h('p', { class: 'source' }, mine[0].source) : null,
  );
}

function oeeCard(rows: readonly FleetKpiRow[], fmt: Fmt, names: ReadonlyMap<string, string>): HTMLElement {
  const sorted = [...rows].sort((a, b) => (b.oee ?? -1) - (a.oee ?? -1) || String(a.site).localeCompare(String(b.site)));
  return h(
    'section',
    { class: 'panel ranking', 'data-kpi': 'oee', 'data-testid': 'ranking' },
    h('div', { class: 'panel-head' }, h('h2', {}, 'OEE'), h('span', { class: 'pill muted-pill', 'data-testid': 'band-text' }, 'the brief gives no OEE band')),
    sorted.length === 0
      ? h('p', { class: 'empty' }, 'No hourly KPIs in this period yet.')
      : h(
          'ol',
          { class: 'rank' },
          sorted.map((x, i) =>
            h(
              'li',
              { 'data-testid': 'rank-row', 'data-site': x.site ?? '' },
              h('span', { class: 'pos' }, x.oee === null ? '–' : String(i + 1)),
              h('span', { class: 'who' }, siteLink(x.site ?? '', names)),
              h('span', { class: 'fig' }, h('strong', { 'data-testid': 'change' }, `${fmt.pctNum(x.oee, 1)} %`), h('span', { class: 'muted' }, `A ${fmt.pctNum(x.availability, 0)} · P ${fmt.pctNum(x.performance, 0)} · Q ${fmt.pctNum(x.quality, 0)} %`)),
              h('span', { class: 'muted' }, `${fmt.num(x.hours)} machine-h`),
            ),
          ),
        ),
    h('p', { class: 'source' }, 'availability × performance × quality from the summed components'),
  );
}

export function siteRankings(bench: readonly SiteBenchmarkRow[], siteKpis: readonly FleetKpiRow[], fmt: Fmt, names: ReadonlyMap<string, string>): HTMLElement {
  return h('div', { class: 'rankings' }, RANKED.map((r) => benchmarkCard(r, bench, fmt, names)), oeeCard(siteKpis, fmt, names));
}
