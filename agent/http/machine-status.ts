/**
 * What a machine's tile says, and whether its data can be trusted. Sources report by
 * exception, so silence alone is not staleness: a tile is stale when a source feeding it is
 * not connected, when its latest value of some tag has bad/uncertain quality, or when a tag
 * with `staleAfterS` has been silent longer than that.
 */
import type { SourceState } from '../../drivers/driver.ts';
import { isMachineState, type MachineState, type Quality, type SampleValue } from '../model/index.ts';

export interface LatestTag {
  signal: string;
  ts: number;
  value: SampleValue;
  quality: Quality;
  since: number;
}

export interface SourceView {
  id: string;
  state: SourceState;
  detail?: string | undefined;
}

export interface TileStatus {
  id: string;
  name: string;
  line: string;
  product: string | null;
  /** the current state; null when unknown (no data, or the state tag's last value is not good) */
  state: MachineState | null;
  stateSince: string | null;
  /** the last good state, shown dimmed when the tile is stale */
  lastKnownState: MachineState | null;
  lastSampleAt: string | null;
  stale: boolean;
  /** why, in words an operator can pass on ("source cells-opcua disconnected") */
  staleReasons: string[];
  sources: string[];
}

export interface TileInput {
  id: string;
  name: string;
  line: string;
  product: string | null;
  latest: readonly LatestTag[];
  sources: readonly SourceView[];
  /** signal → staleAfterS in ms (the Plant's series settings); a signal without one is never stale by silence */
  staleAfterMs: ReadonlyMap<string, number> | undefined;
  /** the last good state seen before (the buffer's latest may be the bad sample of a disconnect) */
  previousState?: MachineState | null | undefined;
  now: number;
}

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

export function tileStatus(input: TileInput): TileStatus {
  const reasons: string[] = [];
  for (const s of input.sources) {
    if (s.state !== 'connected') reasons.push(`source ${s.id} ${s.state}${s.detail ? `: ${s.detail}` : ''}`);
  }
  let last = 0;
  let state: MachineState | null = null;
  let stateSince: number | null = null;
  let lastKnownState: MachineState | null = input.previousState ?? null;
  const notGood: Record<'bad' | 'uncertain', string[]> = { bad: [], uncertain: [] };
  for (const l of input.latest) {
    if (l.signal === 'order_event') continue; // MES messages, not a tag of the machine
    if (l.quality === 'good') last = Math.max(last, l.ts);
    else notGood[l.quality].push(l.signal);
    const limit = input.staleAfterMs?.get(l.signal);
    if (limit !== undefined && input.now - l.ts > limit) {
      reasons.push(`${l.signal} silent for ${seconds(input.now - l.ts)} (staleAfterS ${limit / 1000})`);
    }
    if (l.signal === 'state') {
      // state codes were mapped before the buffer (the Plant's normaliser): only names are states
      const mapped = l.quality === 'good' && isMachineState(l.value) ? l.value : null;
      if (mapped) {
        state = mapped;
        stateSince = l.since;
        lastKnownState = mapped;
      }
    }
  }
  for (const q of ['bad', 'uncertain'] as const) if (notGood[q].length > 0) reasons.push(`${q} quality: ${notGood[q].join(', ')}`);
  // a tag configured with staleAfterS that never reported at all is not stale: it is "no data"
  return {
    id: input.id,
    name: input.name,
    line: input.line,
    product: input.product,
    state,
    stateSince: stateSince === null ? null : new Date(stateSince).toISOString(),
    lastKnownState,
    lastSampleAt: last > 0 ? new Date(last).toISOString() : null,
    stale: reasons.length > 0,
    staleReasons: reasons,
    sources: input.sources.map((s) => s.id),
  };
}
