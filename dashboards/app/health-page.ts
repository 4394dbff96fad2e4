/**
 * Health, for engineers: sources and their connection states, the last sample per tag, dead
 * letters, buffer size and backlog, upstream state and lag (GET /api/diagnostics, every 2 s).
 */
import { getJson, type Diagnostics } from './api.ts';
import { clear, h, qty } from './dom.ts';
import type { Fmt } from './format.ts';
import type { Page } from './main.ts';

function stat(label: string, value: HTMLElement | string, testid?: string): HTMLElement {
  return h('div', { class: 'stat', 'data-testid': testid }, h('div', { class: 'label' }, label), typeof value === 'string' ? h('div', { class: 'val' }, value) : value);
}

function value(v: unknown): string {
  if (v === null || v === undefined) return '–';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/** series a source may not create (past its maxSeries), next to its dead letters; nothing when none */
function refusedSeries(d: Diagnostics, source: string, fmt: Fmt): HTMLElement | string {
  const n = d.health.sources.find((x) => x.id === source)?.seriesCapped ?? 0;
  return n === 0 ? '' : h('div', { class: 'muted', 'data-testid': 'series-capped' }, `${fmt.num(n)} series over maxSeries`);
}

function draw(root: HTMLElement, d: Diagnostics, fmt: Fmt): void {
  const now = Date.parse(d.now);
  const hb = d.health.buffer;
  const up = d.health.upstream;
  const lag = up.lastAckAt ? (now - Date.parse(up.lastAckAt)) / 1000 : null;
  clear(root);
  root.append(
    h(
      'div',
      { class: 'stats' },
      stat('Agent', h('span', { class: `chip health-${d.health.status}`, 'data-testid': 'health-status' }, d.health.status === 'ok' ? 'OK' : 'Degraded')),
      stat('Samples stored', qty(fmt.num(hb.samples), 'samples'), 'buffer-samples'),
      stat('Buffer size', qty(fmt.bytes(hb.bytes), ''), 'buffer-bytes'),
      stat('Backlog (not yet upstream)', qty(fmt.num(hb.backlog), 'samples'), 'backlog'),
      stat('Pending commit', qty(fmt.num(hb.pending), 'samples')),
      stat('Dropped (buffer cap)', qty(fmt.num(hb.droppedSamples), 'samples')),
      stat('Dead letters', qty(fmt.num(hb.deadLetters), 'payloads')),
      stat('Upstream', h('span', { class: `chip up-${up.state}`, 'data-testid': 'upstream' }, up.state)),
      stat('Upstream lag', lag === null ? (up.state === 'disabled' ? 'not configured' : 'no ack yet') : qty(fmt.duration(lag), ''), 'upstream-lag'),
    ),
    h('section', { class: 'panel' }, h('h2', {}, 'Sources'),
      h('table', { class: 'grid', 'data-testid': 'sources' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Source'), h('th', {}, 'Type'), h('th', {}, 'State'), h('th', {}, 'Since'), h('th', {}, 'Last sample'), h('th', { class: 'r' }, 'Dead letters'), h('th', {}, 'Machines'), h('th', {}, 'Detail'))),
        h('tbody', {}, d.sources.map((s) =>
          h('tr', { 'data-source': s.id },
            h('td', { class: 'mono' }, s.id), h('td', {}, s.type),
            h('td', {}, h('span', { class: `chip src-${s.state}` }, s.state)),
            h('td', {}, `${fmt.stamp(s.since)}`),
            h('td', {}, s.lastSampleAt ? `${fmt.duration((now - Date.parse(s.lastSampleAt)) / 1000)} ago` : 'never'),
            h('td', { class: 'r' }, fmt.num(s.deadLetters), refusedSeries(d, s.id, fmt)),
            h('td', {}, s.machines.join(', ') || '–'),
            h('td', { class: 'muted' }, s.detail ?? ''),
          ))),
      )),
    h('section', { class: 'panel' }, h('h2', {}, `Last sample per tag (${fmt.num(d.tags.length)} tags)`),
      h('table', { class: 'grid compact', 'data-testid': 'tags' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Machine'), h('th', {}, 'Signal'), h('th', { class: 'r' }, 'Value'), h('th', {}, 'Quality'), h('th', {}, 'Sample time'), h('th', { class: 'r' }, 'Age'), h('th', { class: 'r' }, 'Stale after'))),
        h('tbody', {}, d.tags.map((t) =>
          h('tr', { class: t.quality !== 'good' || t.silentTooLong ? 'warn' : '' },
            h('td', { class: 'mono' }, t.machine), h('td', { class: 'mono', title: t.origin ?? 'no tag, field, register or rule names it' }, t.signal),
            h('td', { class: 'r mono wrap' }, typeof t.value === 'number' ? fmt.num(t.value, Number.isInteger(t.value) ? 0 : 3) : value(t.value)),
            h('td', {}, h('span', { class: `chip q-${t.quality}` }, t.quality)),
            h('td', {}, fmt.stamp(t.at)),
            h('td', { class: 'r' }, fmt.duration(t.ageS)),
            h('td', { class: 'r' }, t.staleAfterS === null ? '–' : `${fmt.num(t.staleAfterS)} s${t.silentTooLong ? ' (exceeded)' : ''}`),
          ))),
      )),
    h('section', { class: 'panel' }, h('h2', {}, 'Dead letters (latest 50)'),
      d.deadLetters.length === 0
        ? h('p', { class: 'empty', 'data-testid': 'dead-letters' }, 'None: every payload could be used.')
        : h('table', { class: 'grid compact', 'data-testid': 'dead-letters' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Received'), h('th', {}, 'Source'), h('th', {}, 'Topic'), h('th', {}, 'Reason'), h('th', {}, 'Payload'))),
          h('tbody', {}, d.deadLetters.map((l) =>
            h('tr', {}, h('td', {}, fmt.stamp(l.ts)), h('td', { class: 'mono' }, l.source), h('td', { class: 'mono' }, l.topic), h('td', {}, l.reason), h('td', { class: 'mono muted wrap' }, value(l.payload))),
          )),
        )),
  );
}

export const renderHealth: Page = (root, ctx) => {
  const body = h('div', { class: 'health-body' }, h('p', { class: 'empty' }, 'Loading…'));
  root.append(h('div', { class: 'page-title' }, h('h1', {}, 'Health'), h('span', { class: 'sub' }, 'Is data flowing? Sources, tags, buffer, upstream')), body);
  let alive = true;
  const load = async (): Promise<void> => {
    try {
      const d = await getJson<Diagnostics>('/api/diagnostics');
      if (alive) draw(body, d, ctx.fmt);
    } catch (err) {
      if (!alive) return;
      body.prepend(h('p', { class: 'error' }, `Health unavailable: ${(err as Error).message}`));
    }
  };
  void load();
  const timer = setInterval(() => void load(), 2000);
  return () => {
    alive = false;
    clearInterval(timer);
  };
};
