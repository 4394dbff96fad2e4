/**
 * Overview: one tile per machine, grouped by line. State colour, time in state, good and
 * scrap units this shift, energy per unit and OEE (with the share of planned time measured,
 * when part was not); live from the stream. A stale tile loses its state colour and says why,
 * so a stale value never looks live.
 */
import type { ShiftKpis, TileStatus } from './api.ts';
import { clear, coverageNote, h, qty, STATE_LABEL } from './dom.ts';
import type { Page, PageContext } from './main.ts';

type Kpi = ShiftKpis['rows'][number];

function stateKey(t: TileStatus): string {
  return t.state ?? 'nodata';
}

function metric(label: string, value: HTMLElement, testid: string, note: HTMLElement | null = null): HTMLElement {
  return h('div', { class: 'metric', 'data-testid': testid }, h('div', { class: 'label' }, label), value, note);
}

function drawTile(el: HTMLElement, t: TileStatus, k: Kpi | undefined, ctx: PageContext): void {
  const { fmt } = ctx;
  const key = stateKey(t);
  el.className = `tile state-${t.stale ? 'stale' : key}${t.stale ? ' is-stale' : ''}`;
  el.dataset.state = key;
  el.dataset.stale = String(t.stale);
  const shown = t.stale ? (t.lastKnownState ? `Last: ${STATE_LABEL[t.lastKnownState] ?? t.lastKnownState}` : 'No data') : (STATE_LABEL[key] ?? key);
  clear(el);
  el.append(
    h(
      'a',
      { class: 'tile-link', href: `#/machine/${encodeURIComponent(t.id)}`, 'aria-label': `${t.name}: ${shown}${t.stale ? ', stale data' : ''}` },
      h(
        'div',
        { class: 'tile-head' },
        h('span', { class: 'state-label', 'data-testid': 'state' }, t.stale ? 'Stale' : shown),
        h('span', { class: 'in-state', 'data-testid': 'in-state' }, ''),
      ),
      h('div', { class: 'tile-name' }, h('span', { class: 'name' }, t.name), h('span', { class: 'product' }, [t.product, t.id].filter(Boolean).join(' · '))),
      t.stale
        ? h('div', { class: 'stale-note', 'data-testid': 'stale-note' }, h('strong', {}, shown), ' — ', t.staleReasons.join('; '))
        : null,
      h(
        'div',
        { class: 'metrics' },
        metric('Good', qty(fmt.num(k?.unitsGood ?? null), 'units'), 'good'),
        metric('Scrap', qty(fmt.num(k?.unitsScrap ?? null), 'units'), 'scrap'),
        metric('Energy per unit', qty(fmt.num(k?.energyPerUnitKwh ?? null, 3), 'kWh/unit'), 'epu'),
        metric('OEE', qty(fmt.pctNum(k?.oee ?? null), '%'), 'oee', coverageNote(k?.coverage, fmt)),
      ),
    ),
  );
  paintTime(el, t, ctx);
}

function paintTime(el: HTMLElement, t: TileStatus, ctx: PageContext): void {
  const span = el.querySelector<HTMLElement>('.in-state');
  if (!span) return;
  if (t.stale) {
    span.textContent = t.lastSampleAt ? `last data ${ctx.fmt.duration((ctx.live.now() - Date.parse(t.lastSampleAt)) / 1000)} ago` : '';
  } else if (t.state && t.stateSince) {
    span.textContent = `for ${ctx.fmt.duration((ctx.live.now() - Date.parse(t.stateSince)) / 1000)}`;
  } else span.textContent = 'no samples yet';
}

export const renderOverview: Page = (root, ctx) => {
  const { live } = ctx;
  const grid = h('div', { class: 'lines', 'data-testid': 'overview' });
  const title = h('div', { class: 'page-title' }, h('h1', {}, 'Machines'), h('span', { class: 'sub', 'data-testid': 'kpi-window' }));
  const strip = h('div', { class: 'plant-strip', 'data-testid': 'plant-strip' });
  root.append(title, strip, grid);
  const sections = new Map<string, { el: HTMLElement; tiles: HTMLElement; sum: HTMLElement }>();
  const tiles = new Map<string, HTMLElement>();

  const kpiOf = (id: string): Kpi | undefined => live.kpi?.rows.find((r) => r.machine === id);

  const section = (line: string): { el: HTMLElement; tiles: HTMLElement; sum: HTMLElement } => {
    let s = sections.get(line);
    if (!s) {
      const sum = h('span', { class: 'line-sum' });
      const list = h('div', { class: 'tiles' });
      const el = h('section', { class: 'line', 'data-line': line }, h('h2', {}, h('span', { class: 'line-name' }, line), sum), list);
      grid.append(el);
      s = { el, tiles: list, sum };
      sections.set(line, s);
    }
    return s;
  };

  /** the plant this shift: counts and sums of additive figures (never an average of ratios) */
  const paintStrip = (): void => {
    const { fmt } = ctx;
    const all = [...live.tiles.values()];
    const rows = live.kpi?.rows ?? [];
    const sum = (f: (r: Kpi) => number | null): number | null => {
      const xs = rows.map(f).filter((x): x is number => x !== null);
      return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0);
    };
    const good = sum((r) => r.unitsGood);
    const scrap = sum((r) => r.unitsScrap);
    const total = sum((r) => r.unitsTotal);
    // energy per unit of the plant: only machines that made good units, so it stays a true ratio
    const withUnits = rows.filter((r) => r.energyKwh !== null && (r.unitsGood ?? 0) > 0);
    const e = withUnits.reduce((a, r) => a + (r.energyKwh ?? 0), 0);
    const u = withUnits.reduce((a, r) => a + (r.unitsGood ?? 0), 0);
    const count = (f: (t: TileStatus) => boolean): number => all.filter(f).length;
    const cell = (label: string, v: HTMLElement, cls = '', testid = ''): HTMLElement => h('div', { class: `cell ${cls}`, 'data-testid': testid || undefined }, h('div', { class: 'label' }, label), v);
    const down = count((t) => !t.stale && t.state === 'down');
    const stale = count((t) => t.stale);
    clear(strip);
    strip.append(
      cell('Running', qty(`${fmt.num(count((t) => !t.stale && t.state === 'running'))} / ${fmt.num(all.length)}`, 'machines'), '', 'running'),
      cell('Down', qty(fmt.num(down), 'machines'), down > 0 ? 'alarm' : '', 'down'),
      cell('Stale data', qty(fmt.num(stale), 'machines'), stale > 0 ? 'warn' : '', 'stale'),
      cell('Good this shift', qty(fmt.num(good), 'units'), '', 'plant-good'),
      cell('Scrap this shift', qty(fmt.num(scrap), 'units'), '', 'plant-scrap'),
      cell('Scrap rate', qty(fmt.pctNum(total && scrap !== null ? scrap / total : null), '%')),
      cell('Energy this shift', qty(fmt.num(sum((r) => r.energyKwh), 1), 'kWh')),
      cell('Energy per unit', qty(fmt.num(u > 0 ? e / u : null, 3), 'kWh/unit')),
    );
  };

  const paintSums = (): void => {
    paintStrip();
    for (const [line, s] of sections) {
      const ids = [...live.tiles.values()].filter((t) => t.line === line).map((t) => t.id);
      const good = ids.reduce((n, id) => n + (kpiOf(id)?.unitsGood ?? 0), 0);
      const running = ids.filter((id) => live.tiles.get(id)?.state === 'running' && !live.tiles.get(id)?.stale).length;
      s.sum.textContent = `${running} of ${ids.length} running · ${ctx.fmt.num(good)} good units this shift`;
    }
  };

  const upsert = (t: TileStatus): void => {
    let el = tiles.get(t.id);
    if (!el) {
      el = h('article', { 'data-machine': t.id, 'data-testid': 'tile' });
      tiles.set(t.id, el);
      const s = section(t.line);
      s.tiles.append(el);
      s.el.style.setProperty('--n', String(s.tiles.children.length));
    }
    drawTile(el, t, kpiOf(t.id), ctx);
  };

  const paintWindow = (): void => {
    const k = live.kpi;
    (title.querySelector('.sub') as HTMLElement).textContent = k
      ? `Shift ${k.shift.name}: ${ctx.fmt.dayTime(Date.parse(k.shift.start))} – ${ctx.fmt.hourMinute(Date.parse(k.shift.end))} · units and OEE since shift start`
      : '';
  };

  for (const t of live.tiles.values()) upsert(t);
  paintSums();
  paintWindow();
  if (live.tiles.size === 0) grid.append(h('p', { class: 'empty', 'data-testid': 'waiting' }, 'Waiting for the agent…'));

  const off = live.on((topic, data) => {
    if (topic === 'state') {
      grid.querySelector('[data-testid="waiting"]')?.remove();
      upsert(data as TileStatus);
      paintSums();
    } else if (topic === 'kpi') {
      for (const t of live.tiles.values()) upsert(t);
      paintSums();
      paintWindow();
    }
  });
  const timer = setInterval(() => {
    for (const [id, el] of tiles) {
      const t = live.tiles.get(id);
      if (t) paintTime(el, t, ctx);
    }
  }, 1000);
  return () => {
    off();
    clearInterval(timer);
  };
};
