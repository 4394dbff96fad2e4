/**
 * The fleet dashboard (served by `shopfloor-agent fleet` at /): sites ranked against the
 * brief's bands, the agents online or offline with their backlog and lag, and a site's lines and
 * machines. Built from the operator dashboard's modules (dashboards/app). Pages by URL hash:
 * #/ fleet · #/site/<id>. Times in the viewer's zone, a site's page in the site's.
 */
import '../app/styles.css';
import './fleet.css';
import { getJson } from '../app/api.ts';
import { clear, h } from '../app/dom.ts';
import { Fmt } from '../app/format.ts';
import { agentsTable } from './agents-table.ts';
import { rangeQuery, type AgentView, type BenchmarkAnswer, type KpiAnswer, type SiteView } from './fleet-api.ts';
import { siteRankings } from './site-ranking.ts';
import { renderSite } from './site-page.ts';

const PERIODS = [
  { hours: 24, label: '24 h' },
  { hours: 7 * 24, label: '7 d' },
  { hours: 30 * 24, label: '30 d' },
];

interface Shell {
  fmt: Fmt;
  hours: number;
  period: string;
}

function setTheme(t: 'dark' | 'light'): void {
  document.documentElement.dataset.theme = t;
  try {
    localStorage.setItem('sfa-theme', t);
  } catch {
    // storage blocked: the choice lasts until reload
  }
}

async function loadSites(): Promise<SiteView[]> {
  return getJson<SiteView[]>('/api/sites');
}

function renderFleet(root: HTMLElement, shell: Shell): () => void {
  const rankings = h('div', {}, h('p', { class: 'empty' }, 'Loading sites…'));
  const agents = h('div', {}, h('p', { class: 'empty' }, 'Loading agents…'));
  const stamp = h('span', { class: 'sub', 'data-testid': 'period' });
  root.append(
    h('div', { class: 'page-title' }, h('h1', {}, 'Sites ranked'), stamp),
    rankings,
    h('section', { class: 'panel', 'data-testid': 'agents-panel' }, h('h2', {}, 'Agents'), agents),
  );
  let alive = true;
  const load = async (): Promise<void> => {
    const q = rangeQuery(shell.hours);
    try {
      const [sites, bench, kpis, list] = await Promise.all([
        loadSites(),
        getJson<BenchmarkAnswer>(`/api/benchmarks?groupBy=site&${q}`),
        getJson<KpiAnswer>(`/api/kpis?scope=site&${q}`),
        getJson<AgentView[]>('/api/agents'),
      ]);
      if (!alive) return;
      const names = new Map(sites.map((s) => [s.id, s.name ?? s.id]));
      stamp.textContent = `${shell.fmt.stamp(bench.from)} – ${shell.fmt.stamp(bench.to)} · best first`;
      clear(rankings);
      rankings.append(siteRankings(bench.rows, kpis.rows, shell.fmt, names));
      clear(agents);
      agents.append(agentsTable(list, shell.fmt, names));
    } catch (err) {
      if (!alive) return;
      clear(rankings);
      rankings.append(h('div', { class: 'notice', role: 'alert' }, h('h2', {}, 'The fleet could not be loaded'), h('p', {}, (err as Error).message)));
    }
  };
  void load();
  const timer = setInterval(() => void load(), 15_000);
  return () => {
    alive = false;
    clearInterval(timer);
  };
}

function boot(): void {
  const app = document.getElementById('app') as HTMLElement;
  const viewer = Intl.DateTimeFormat().resolvedOptions();
  const shell: Shell = { fmt: new Fmt(navigator.language || 'en', viewer.timeZone || 'UTC'), hours: 7 * 24, period: '7 d' };
  const periods = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Period' });
  const themeBtn = h('button', { class: 'btn icon', title: 'Switch between dark and light theme', 'aria-label': 'Switch theme', onclick: () => setTheme(document.documentElement.dataset.theme === 'light' ? 'dark' : 'light') }, '◐');
  const header = h(
    'header',
    { class: 'topbar' },
    h('div', { class: 'brand' }, h('a', { href: '#/', class: 'site' }, 'Fleet'), h('span', { class: 'agent' }, `shopfloor-agent fleet · ${shell.fmt.timeZone}`)),
    h('div', { class: 'status' }, periods, themeBtn),
  );
  const main = h('main', { id: 'page' });
  clear(app);
  app.append(header, main);

  let stop: (() => void) | undefined;
  const route = (): void => {
    stop?.();
    clear(main);
    const m = /^#\/site\/([^/]+)/.exec(location.hash);
    if (!m?.[1]) {
      main.dataset.page = 'fleet';
      stop = renderFleet(main, shell);
      return;
    }
    const site = decodeURIComponent(m[1]);
    main.dataset.page = 'site';
    let inner: (() => void) | undefined;
    let gone = false;
    stop = () => {
      gone = true;
      inner?.();
    };
    // the site's name, zone and machine names come with the plant description
    void loadSites()
      .catch(() => [] as SiteView[])
      .then((sites) => {
        if (!gone) inner = renderSite(main, { fmt: shell.fmt, hours: shell.hours, period: shell.period, sites }, site);
      });
  };
  for (const p of PERIODS) {
    const b = h('button', { class: `seg-btn${p.hours === shell.hours ? ' active' : ''}`, 'data-hours': p.hours, onclick: () => {
      shell.hours = p.hours;
      shell.period = p.label;
      for (const x of periods.querySelectorAll('button')) x.classList.toggle('active', x === b);
      route();
    } }, p.label);
    periods.append(b);
  }
  window.addEventListener('hashchange', route);
  route();
}

boot();
