/**
 * The operator dashboard: a shell (site, shift, clock, link state, theme) around four pages,
 * chosen by the URL hash so a kiosk can be pointed at any of them:
 * #/ overview · #/machine/<id> · #/benchmarks · #/health
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { getJson, type SiteInfo } from './api.ts';
import { clear, h } from './dom.ts';
import { Fmt } from './format.ts';
import { LiveStore } from './live-store.ts';
import { renderOverview } from './overview-page.ts';
import { renderMachine } from './machine-page.ts';
import { renderBenchmarks } from './benchmarks-page.ts';
import { renderHealth } from './health-page.ts';

export interface PageContext {
  site: SiteInfo;
  fmt: Fmt;
  live: LiveStore;
}

/** A page draws into its element and returns what stops its timers and listeners. */
export type Page = (root: HTMLElement, ctx: PageContext, arg: string | undefined) => () => void;

const PAGES: { id: string; label: string; page: Page }[] = [
  { id: '', label: 'Overview', page: renderOverview },
  { id: 'benchmarks', label: 'Benchmarks', page: renderBenchmarks },
  { id: 'health', label: 'Health', page: renderHealth },
];

function setTheme(t: 'dark' | 'light'): void {
  document.documentElement.dataset.theme = t;
  try {
    localStorage.setItem('sfa-theme', t);
  } catch {
    // storage blocked (kiosk profile): the choice lasts until reload
  }
}

async function boot(): Promise<void> {
  const app = document.getElementById('app') as HTMLElement;
  let site: SiteInfo;
  try {
    site = await getJson<SiteInfo>('/api/site');
  } catch (err) {
    clear(app);
    app.append(h('div', { class: 'fatal' }, h('h1', {}, 'Cannot reach the agent'), h('p', {}, String((err as Error).message)), h('button', { class: 'btn', onclick: () => location.reload() }, 'Retry')));
    return;
  }
  const fmt = new Fmt(site.locale, site.timezone);
  const live = new LiveStore();
  live.offsetMs = Date.parse(site.now) - Date.now();
  document.title = `${site.name} · shopfloor-agent`;
  document.documentElement.lang = site.locale;

  const clock = h('span', { class: 'clock', 'data-testid': 'clock' });
  const shift = h('span', { class: 'shift', 'data-testid': 'shift' });
  const link = h('span', { class: 'link', 'data-testid': 'link', role: 'status' });
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Pages' });
  for (const p of PAGES) nav.append(h('a', { href: `#/${p.id}`, class: 'tab', 'data-page': p.id || 'overview' }, p.label));
  const themeBtn = h('button', {
    class: 'btn icon',
    title: 'Switch between dark and light theme',
    'aria-label': 'Switch theme',
    'data-testid': 'theme',
    onclick: () => setTheme(document.documentElement.dataset.theme === 'light' ? 'dark' : 'light'),
  }, '◐');
  const header = h(
    'header',
    { class: 'topbar' },
    h('div', { class: 'brand' }, h('span', { class: 'site' }, site.name), h('span', { class: 'agent' }, `agent ${site.agent} · ${site.timezone}`)),
    nav,
    h('div', { class: 'status' }, shift, link, clock, themeBtn),
  );
  const banner = h('div', { class: 'offline-banner', role: 'alert' }, 'Connection to the agent lost — the values below are NOT live. Reconnecting…');
  const main = h('main', { id: 'page' });
  clear(app);
  app.append(header, banner, main);

  const paintStatus = (): void => {
    clock.textContent = fmt.time(live.now());
    const k = live.kpi;
    shift.textContent = k ? `Shift ${k.shift.name} · ${fmt.hourMinute(Date.parse(k.shift.start))}–${fmt.hourMinute(Date.parse(k.shift.end))}` : '';
    link.textContent = live.connected ? 'LIVE' : 'OFFLINE';
    link.className = `link ${live.connected ? 'up' : 'down'}`;
  };
  setInterval(paintStatus, 1000);
  live.on((topic) => {
    if (topic === 'connection' || topic === 'kpi') paintStatus();
  });

  let stop: (() => void) | undefined;
  const route = (): void => {
    stop?.();
    const [, id = '', arg] = /^#\/?([^/]*)\/?(.*)$/.exec(location.hash) ?? [];
    const decoded = arg ? decodeURIComponent(arg) : undefined;
    const page = id === 'machine' ? renderMachine : (PAGES.find((p) => p.id === id)?.page ?? renderOverview);
    for (const a of nav.querySelectorAll<HTMLAnchorElement>('a.tab')) {
      const current = a.dataset.page === (id === '' || id === 'machine' ? 'overview' : id);
      a.classList.toggle('active', current);
      if (current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    clear(main);
    main.dataset.page = id === '' ? 'overview' : id;
    stop = page(main, { site, fmt, live }, decoded);
    window.scrollTo(0, 0);
  };
  window.addEventListener('hashchange', route);
  live.connect();
  paintStatus();
  route();
}

void boot();
