/**
 * The agents (GET /api/agents): online or offline from their retained status, when last seen,
 * the ids stored but held back by a gap (backlog) and how far their newest sample is behind.
 */
import { h } from '../app/dom.ts';
import type { Fmt } from '../app/format.ts';
import type { AgentView } from './fleet-api.ts';

export function agentsTable(agents: readonly AgentView[], fmt: Fmt, names: ReadonlyMap<string, string>): HTMLElement {
  if (agents.length === 0) return h('p', { class: 'empty', 'data-testid': 'no-agents' }, 'No agent has reached the fleet yet.');
  // offline first: the rows someone must act on
  const sorted = [...agents].sort((a, b) => Number(a.online) - Number(b.online) || a.site.localeCompare(b.site) || a.agent.localeCompare(b.agent));
  const online = agents.filter((a) => a.online).length;
  return h(
    'div',
    {},
    h('p', { class: 'sub', 'data-testid': 'agents-summary' }, `${online} of ${agents.length} agents online`),
    h(
      'table',
      { class: 'grid compact', 'data-testid': 'agents' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Site'), h('th', {}, 'Agent'), h('th', {}, 'Status'), h('th', {}, 'Last seen'), h('th', { class: 'r' }, 'Backlog (ids)'), h('th', { class: 'r' }, 'Lag'), h('th', { class: 'r' }, 'Confirmed id'))),
      h(
        'tbody',
        {},
        sorted.map((a) =>
          h(
            'tr',
            { 'data-testid': 'agent-row', 'data-site': a.site, 'data-agent': a.agent, 'data-online': String(a.online), class: a.online ? '' : 'warn' },
            h('td', {}, h('a', { href: `#/site/${encodeURIComponent(a.site)}` }, names.get(a.site) ?? a.site)),
            h('td', { class: 'mono' }, a.agent, a.instances > 1 ? h('span', { class: 'muted', title: 'instances seen (restarts with a new buffer)' }, ` ×${a.instances}`) : null),
            h('td', {}, h('span', { class: `chip ${a.online ? 'up-connected' : 'up-disconnected'}`, 'data-testid': 'agent-status' }, a.online ? 'Online' : a.status === null ? 'No status' : 'Offline')),
            h('td', {}, fmt.stamp(a.lastSeen)),
            h('td', { class: 'r', 'data-testid': 'backlog' }, fmt.num(a.backlog)),
            h('td', { class: 'r', 'data-testid': 'lag' }, a.lagS === null ? '–' : fmt.duration(a.lagS)),
            h('td', { class: 'r mono' }, fmt.num(a.confirmedId)),
          ),
        ),
      ),
    ),
  );
}
