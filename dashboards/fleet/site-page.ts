/**
 * One site, drilled down: its figures against the brief's bands, its lines and its machines
 * over the chosen period (GET /api/benchmarks?groupBy=site&site=…, /api/kpis?scope=line|machine&site=…),
 * times in the site's own zone.
 */
import { clear, h } from '../app/dom.ts';
import { Fmt } from '../app/format.ts';
import { getJson } from '../app/api.ts';
import { agentsTable } from './agents-table.ts';
import { rangeQuery, type AgentView, type BenchmarkAnswer, type FleetKpiRow, type KpiAnswer, type SiteView } from './fleet-api.ts';
import { RANKED, VERDICT } from './site-ranking.ts';

export interface SitePageContext {
  fmt: Fmt;
  hours: number;
  /** the period's name ("7 d") */
  period: string;
  sites: readonly SiteView[];
}

const figureCells = (r: FleetKpiRow, fmt: Fmt): HTMLElement[] => [
  h('td', { class: 'r', 'data-testid': 'oee' }, `${fmt.pctNum(r.oee, 1)} %`),
  h('td', { class: 'r' }, `${fmt.pctNum(r.availability, 0)} %`),
  h('td', { class: 'r' }, `${fmt.pctNum(r.performance, 0)} %`),
  h('td', { class: 'r' }, `${fmt.pctNum(r.quality, 0)} %`),
  h('td', { class: 'r' }, fmt.num(r.energyPerUnitKwh, 3)),
  h('td', { class: 'r' }, `${fmt.pctNum(r.scrapRate, 2)} %`),
  h('td', { class: 'r' }, fmt.num(r.unitsTotal)),
  h('td', { class: 'r' }, fmt.num(r.energyKwh, 1)),
];

const FIGURE_HEADS = ['OEE', 'Avail.', 'Perf.', 'Quality', 'kWh/unit', 'Scrap', 'Units', 'kWh'];

function kpiTable(testid: string, first: string[], rows: readonly FleetKpiRow[], lead: (r: FleetKpiRow) => HTMLElement[], fmt: Fmt): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, 'No hourly KPIs in this period.');
  return h(
    'table',
    { class: 'grid compact', 'data-testid': testid },
    h('thead', {}, h('tr', {}, first.map((t) => h('th', {}, t)), FIGURE_HEADS.map((t) => h('th', { class: 'r' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-testid': `${testid}-row`, 'data-line': r.line ?? '', 'data-machine': r.machine ?? '' }, lead(r), figureCells(r, fmt)))),
  );
}

function benchTable(rows: BenchmarkAnswer['rows'], fmt: Fmt): HTMLElement {
  const shown = rows.filter((r) => RANKED.some((k) => k.kpi === r.kpi));
  if (shown.length === 0) return h('p', { class: 'empty' }, 'No machine of this site has a product yet.');
  const pct = (v: number | null, sign: boolean): string => (v === null ? '–' : `${sign && v > 0 ? '+' : ''}${fmt.pctNum(v, 0)} %`);
  return h(
    'table',
    { class: 'grid compact', 'data-testid': 'site-benchmarks' },
    h('thead', {}, h('tr', {}, ['Figure', 'Product', 'Compared', "Brief's band", 'Verdict'].map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      shown.map((r) => {
        const k = RANKED.find((x) => x.kpi === r.kpi);
        return h(
          'tr',
          { 'data-kpi': r.kpi },
          h('td', {}, k?.title ?? r.kpi),
          h('td', {}, r.product),
          h('td', {}, pct(r.change, r.kpi === 'energyPerUnit'), h('span', { class: 'muted' }, r.value === null ? '' : ` (${k?.value(r.value, fmt) ?? r.value})`)),
          h('td', { 'data-testid': 'band-text' }, k ? k.band(r.band, fmt) : ''),
          h('td', {}, h('span', { class: `chip verdict-${r.verdict}`, 'data-testid': 'verdict' }, VERDICT[r.verdict] ?? r.verdict)),
        );
      }),
    ),
  );
}

export function renderSite(root: HTMLElement, ctx: SitePageContext, site: string): () => void {
  const info = ctx.sites.find((s) => s.id === site);
  const fmt = info?.timezone ? new Fmt(ctx.fmt.locale, info.timezone) : ctx.fmt;
  const body = h('div', {}, h('p', { class: 'empty' }, 'Loading the site…'));
  root.append(
    h('div', { class: 'page-title' }, h('a', { href: '#/', class: 'btn', 'data-testid': 'back' }, '← Fleet'), h('h1', { 'data-testid': 'site-title' }, info?.name ?? site), h('span', { class: 'sub' }, `${site} · ${info?.timezone ?? 'zone unknown'} · last ${ctx.period}`)),
    body,
  );
  let alive = true;
  const load = async (): Promise<void> => {
    const q = `${rangeQuery(ctx.hours)}&site=${encodeURIComponent(site)}`;
    try {
      const [bench, lines, machines, agents] = await Promise.all([
        getJson<BenchmarkAnswer>(`/api/benchmarks?groupBy=site&${q}`),
        getJson<KpiAnswer>(`/api/kpis?scope=line&${q}`),
        getJson<KpiAnswer>(`/api/kpis?scope=machine&${q}`),
        getJson<AgentView[]>('/api/agents'),
      ]);
      if (!alive) return;
      clear(body);
      const name = new Map((info?.machines ?? []).map((m) => [m.id, m.name ?? m.id]));
      body.append(
        h('section', { class: 'panel' }, h('h2', {}, "Against the brief's bands"), benchTable(bench.rows, fmt)),
        h('section', { class: 'panel' }, h('h2', {}, 'Lines'), kpiTable('lines', ['Line'], lines.rows, (r) => [h('td', {}, r.line ?? '(no line)')], fmt)),
        h(
          'section',
          { class: 'panel' },
          h('h2', {}, 'Machines'),
          kpiTable('machines', ['Machine', 'Line', 'Product', 'Agent'], machines.rows, (r) => [h('td', {}, name.get(r.machine ?? '') ?? r.machine ?? ''), h('td', {}, r.line ?? '–'), h('td', {}, r.product ?? '–'), h('td', { class: 'mono' }, r.agent ?? '')], fmt),
        ),
        h('section', { class: 'panel site-agents' }, h('h2', {}, 'Agents'), agentsTable(agents.filter((a) => a.site === site), fmt, new Map([[site, info?.name ?? site]]))),
      );
    } catch (err) {
      if (!alive) return;
      clear(body);
      body.append(h('div', { class: 'notice' }, h('h2', {}, 'The site could not be loaded'), h('p', {}, (err as Error).message)));
    }
  };
  void load();
  const timer = setInterval(() => void load(), 30_000);
  return () => {
    alive = false;
    clearInterval(timer);
  };
}
