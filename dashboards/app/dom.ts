/** A tiny element builder: text is always set as text, never parsed as HTML. */
import type { Fmt } from './format.ts';

export type Child = Node | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'class') el.className = String(v);
    // through the CSSOM: a style attribute would need 'unsafe-inline' in the page's CSP
    else if (k === 'style') el.style.cssText = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** A number with its unit, laid out so the number reads from afar and the unit stays with it. */
export function qty(value: string, unit: string, cls = ''): HTMLSpanElement {
  return h('span', { class: `qty ${cls}`.trim() }, h('span', { class: 'num' }, value), h('span', { class: 'unit' }, unit));
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

export const STATE_LABEL: Record<string, string> = {
  running: 'Running',
  idle: 'Idle',
  down: 'Down',
  planned_stop: 'Planned stop',
  nodata: 'No data',
};

/**
 * "measured 62 % of planned time" beside availability and OEE, which cover only the planned time
 * whose state was known (DESIGN.md §4): before the agent started, or while a source was down,
 * nobody measured. Null when all of it was measured or nothing was planned. Rounded down, so a
 * gap never reads as 100 % (and a little as "< 1 %", not 0 %).
 */
export function coverageNote(coverage: number | null | undefined, fmt: Fmt): HTMLElement | null {
  if (coverage === null || coverage === undefined || !(coverage < 1)) return null;
  const whole = Math.floor(coverage * 100 + 1e-9);
  // the demo's first minutes: a few measured minutes of a shift that began hours ago
  const shown = whole === 0 && coverage > 0 ? `< ${fmt.num(1)}` : fmt.num(whole);
  return h(
    'div',
    { class: 'coverage', 'data-testid': 'coverage', title: 'availability and OEE count only the planned time in which the machine state was known' },
    `measured ${shown} % of planned time`,
  );
}
