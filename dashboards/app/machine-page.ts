/**
 * Machine page: this shift's KPIs, trends of energy, output and state over shift / day /
 * week (uPlot), and the table of orders with their lead times.
 */
import uPlot from 'uplot';
import { getJson, type OrderRow, type TileStatus, type Trend, type TrendRange } from './api.ts';
import { clear, coverageNote, h, qty, STATE_LABEL } from './dom.ts';
import type { Fmt } from './format.ts';
import type { Page, PageContext } from './main.ts';

const RANGES: { id: TrendRange; label: string }[] = [
  { id: 'shift', label: 'Shift' },
  { id: 'day', label: '24 h' },
  { id: 'week', label: '7 days' },
];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

function chart(el: HTMLElement, trend: Trend, fmt: Fmt, series: { label: string; unit: string; color: string; col: 1 | 2 | 3; align: -1 | 0 | 1 }[]): uPlot {
  const xs = trend.buckets.map((b) => (b[0] + (trend.stepS * 1000) / 2) / 1000);
  const data: uPlot.AlignedData = [xs, ...series.map((s) => trend.buckets.map((b) => b[s.col] ?? null))];
  const axisColor = cssVar('--muted');
  const grid = { stroke: cssVar('--grid'), width: 1 };
  const bars = uPlot.paths.bars;
  const unit = series[0]?.unit ?? '';
  const opts: uPlot.Options = {
    width: Math.max(300, el.clientWidth),
    height: 240,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), fmt.timeZone),
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: () => [Date.parse(trend.from) / 1000, Date.parse(trend.to) / 1000 + trend.stepS / 2] }, y: { range: (_u, _min, max) => [0, Math.max(1e-9, max) * 1.1] } },
    axes: [
      {
        stroke: axisColor,
        grid,
        ticks: grid,
        space: trend.range === 'week' ? 110 : 70,
        // the week shows days at their midnights; shift and day show the clock
        ...(trend.range === 'week' ? { incrs: [86_400] } : {}),
        values: (_u, splits) => splits.map((s) => (trend.range === 'week' ? fmt.weekday(s * 1000) : fmt.hourMinute(s * 1000))),
      },
      {
        stroke: axisColor,
        grid,
        ticks: grid,
        size: 70,
        label: unit,
        labelSize: 20,
        // units are whole: no 0.5-unit ticks
        ...(unit === 'units' ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000] } : {}),
        values: (_u, splits) => splits.map((s) => fmt.num(s, unit === 'units' ? 0 : s !== 0 && Math.abs(s) < 10 ? 2 : 0)),
      },
    ],
    series: [
      { value: (_u, v) => (v === null ? '–' : fmt.dayTime(v * 1000)) },
      ...series.map((s) => ({
        label: `${s.label} (${s.unit})`,
        stroke: s.color,
        fill: `${s.color}cc`,
        width: 0,
        paths: bars ? bars({ size: [series.length > 1 ? 0.4 : 0.7, 60], align: s.align }) : undefined,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${fmt.num(v, s.unit === 'kWh' ? 2 : 0)} ${s.unit}`),
      })),
    ],
  };
  return new uPlot(opts, data, el);
}

function stateStrip(trend: Trend, fmt: Fmt): HTMLElement {
  const from = Date.parse(trend.from);
  const to = Date.parse(trend.to);
  const span = Math.max(1, to - from);
  const strip = h('div', { class: 'state-strip', 'data-testid': 'state-strip' });
  trend.states.forEach(([ts, s], i) => {
    const end = trend.states[i + 1]?.[0] ?? to;
    const a = Math.max(ts, from);
    if (end <= a) return;
    const key = s ?? 'nodata';
    strip.append(
      h('div', {
        class: `seg state-${key}`,
        style: `left:${((a - from) / span) * 100}%;width:${((end - a) / span) * 100}%`,
        title: `${STATE_LABEL[key] ?? key}: ${fmt.stamp(a)} – ${fmt.stamp(end)} (${fmt.duration((end - a) / 1000)})`,
      }),
    );
  });
  const totals = new Map<string, number>();
  trend.states.forEach(([ts, s], i) => {
    const end = trend.states[i + 1]?.[0] ?? to;
    const k = s ?? 'nodata';
    totals.set(k, (totals.get(k) ?? 0) + Math.max(0, end - Math.max(ts, from)));
  });
  const legend = h(
    'div',
    { class: 'strip-legend' },
    ['running', 'idle', 'down', 'planned_stop', 'nodata'].map((k) =>
      h('span', { class: 'leg' }, h('i', { class: `sw state-${k}` }), `${STATE_LABEL[k]} `, qty(fmt.duration((totals.get(k) ?? 0) / 1000), '')),
    ),
  );
  return h(
    'div',
    { class: 'strip-wrap' },
    strip,
    h('div', { class: 'strip-axis' }, h('span', {}, fmt.dayTime(from)), h('span', {}, fmt.dayTime(to))),
    legend,
  );
}

function ordersTable(rows: OrderRow[], fmt: Fmt): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, 'No order events for this machine in the last 7 days (orders come from the MES over an order-events topic).');
  return h(
    'table',
    { class: 'grid', 'data-testid': 'orders' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Order'), h('th', {}, 'Product'), h('th', { class: 'r' }, 'Quantity'), h('th', {}, 'Released'), h('th', {}, 'Started'), h('th', {}, 'Completed'), h('th', { class: 'r' }, 'Lead time'))),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          {},
          h('td', { class: 'mono' }, r.orderId),
          h('td', {}, r.product ?? '–'),
          h('td', { class: 'r' }, r.quantity === null ? '–' : qty(fmt.num(r.quantity), 'units')),
          h('td', {}, fmt.stamp(r.releasedAt)),
          h('td', {}, fmt.stamp(r.startedAt)),
          h('td', {}, r.completedAt ? fmt.stamp(r.completedAt) : h('span', { class: 'pill' }, 'open')),
          h('td', { class: 'r' }, r.leadTimeS === null ? '–' : h('span', {}, fmt.duration(r.leadTimeS), h('small', { class: 'basis' }, ` from ${r.leadTimeFrom ?? '?'}`))),
        ),
      ),
    ),
  );
}

export const renderMachine: Page = (root, ctx: PageContext, id) => {
  const { fmt, live } = ctx;
  if (!id) {
    location.hash = '#/';
    return () => undefined;
  }
  let range: TrendRange = 'shift';
  let plots: uPlot[] = [];
  const head = h('div', { class: 'machine-head' });
  const kpis = h('div', { class: 'kpi-row', 'data-testid': 'machine-kpis' });
  const rangeBar = h('div', { class: 'segmented', role: 'tablist', 'aria-label': 'Trend range' });
  const charts = h('div', { class: 'charts' });
  const orders = h('div', { class: 'orders' }, h('p', { class: 'empty' }, 'Loading orders…'));
  root.append(
    head,
    kpis,
    h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Trends'), rangeBar), charts),
    h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Orders and lead times'), h('span', { class: 'sub' }, 'last 7 days')), orders),
  );

  const paintHead = (): void => {
    const t: TileStatus | undefined = live.tiles.get(id);
    clear(head);
    const key = t ? (t.stale ? 'stale' : (t.state ?? 'nodata')) : 'nodata';
    head.append(
      h('a', { class: 'btn back', href: '#/' }, '‹ Overview'),
      h('div', { class: 'titles' }, h('h1', {}, t?.name ?? id), h('span', { class: 'sub' }, [t?.line && `line ${t.line}`, t?.product, id].filter(Boolean).join(' · '))),
      h('span', { class: `chip state-${key}`, 'data-testid': 'machine-state' }, t?.stale ? 'Stale' : STATE_LABEL[key] ?? key),
    );
    if (t?.stale) head.append(h('div', { class: 'stale-note wide' }, t.staleReasons.join('; ')));
  };
  const paintKpis = (): void => {
    const k = live.kpi?.rows.find((r) => r.machine === id);
    clear(kpis);
    const cell = (label: string, v: HTMLElement, note: HTMLElement | null = null): HTMLElement => h('div', { class: 'kpi' }, h('div', { class: 'label' }, label), v, note);
    kpis.append(
      cell('Energy this shift', qty(fmt.num(k?.energyKwh ?? null, 1), 'kWh')),
      cell('Good', qty(fmt.num(k?.unitsGood ?? null), 'units')),
      cell('Scrap', qty(fmt.num(k?.unitsScrap ?? null), 'units')),
      cell('Energy per unit', qty(fmt.num(k?.energyPerUnitKwh ?? null, 3), 'kWh/unit')),
      cell('Scrap rate', qty(fmt.pctNum(k?.scrapRate ?? null), '%')),
      cell('Availability', qty(fmt.pctNum(k?.availability ?? null), '%'), coverageNote(k?.coverage, fmt)),
      cell('Performance', qty(fmt.pctNum(k?.performance ?? null), '%')),
      cell('Quality', qty(fmt.pctNum(k?.quality ?? null), '%')),
      cell('OEE', qty(fmt.pctNum(k?.oee ?? null), '%'), coverageNote(k?.coverage, fmt)),
    );
  };

  let loading = 0;
  const loadTrend = async (): Promise<void> => {
    const mine = ++loading;
    try {
      const trend = await getJson<Trend>(`/api/machines/${encodeURIComponent(id)}/trend?range=${range}`);
      if (mine !== loading) return;
      for (const p of plots) p.destroy();
      plots = [];
      clear(charts);
      const energy = h('div', { class: 'chart', 'data-testid': 'chart-energy' });
      const output = h('div', { class: 'chart', 'data-testid': 'chart-output' });
      const step = fmt.step(trend.stepS);
      charts.append(
        h('h3', {}, `Energy per ${step}`), energy,
        h('h3', {}, `Output per ${step}`), output,
        h('h3', {}, 'State'), stateStrip(trend, fmt),
      );
      plots.push(chart(energy, trend, fmt, [{ label: 'Energy', unit: 'kWh', color: cssVar('--accent'), col: 1, align: 0 }]));
      plots.push(
        chart(output, trend, fmt, [
          { label: 'Good', unit: 'units', color: cssVar('--running'), col: 2, align: -1 },
          { label: 'Scrap', unit: 'units', color: cssVar('--down'), col: 3, align: 1 },
        ]),
      );
    } catch (err) {
      if (mine !== loading) return;
      clear(charts);
      charts.append(h('p', { class: 'error' }, `Trends unavailable: ${(err as Error).message}`));
    }
  };
  const loadOrders = async (): Promise<void> => {
    try {
      const res = await getJson<{ orders: OrderRow[] }>(`/api/machines/${encodeURIComponent(id)}/orders`);
      clear(orders);
      orders.append(ordersTable(res.orders, fmt));
    } catch (err) {
      clear(orders);
      orders.append(h('p', { class: 'error' }, `Orders unavailable: ${(err as Error).message}`));
    }
  };

  for (const r of RANGES) {
    rangeBar.append(
      h('button', {
        class: `seg-btn${r.id === range ? ' active' : ''}`,
        role: 'tab',
        'aria-selected': String(r.id === range),
        'data-range': r.id,
        onclick: () => {
          range = r.id;
          for (const b of rangeBar.querySelectorAll<HTMLButtonElement>('button')) {
            const on = b.dataset.range === range;
            b.classList.toggle('active', on);
            b.setAttribute('aria-selected', String(on));
          }
          void loadTrend();
        },
      }, r.label),
    );
  }

  paintHead();
  paintKpis();
  void loadTrend();
  void loadOrders();
  const off = live.on((topic, data) => {
    if (topic === 'state' && (data as TileStatus).id === id) paintHead();
    if (topic === 'kpi') paintKpis();
  });
  const refresh = setInterval(() => {
    void loadTrend();
    void loadOrders();
  }, 30_000);
  const onResize = (): void => {
    for (const p of plots) p.setSize({ width: Math.max(300, p.root.parentElement?.clientWidth ?? 300), height: 240 });
  };
  window.addEventListener('resize', onResize);
  return () => {
    off();
    clearInterval(refresh);
    window.removeEventListener('resize', onResize);
    for (const p of plots) p.destroy();
  };
};
