/**
 * The UTF-8 bytes of `JSON.stringify(rows)` for machine rows in shared windows, in pieces to be
 * written one after another: each whole past row is the buffer kept from an earlier query
 * (row-cache.ts), only the others are computed and serialised.
 */
import type { Cut } from '../kpi/index.ts';
import type { KpiRow, MachineCut } from './query-types.ts';
import type { RowCache } from './row-cache.ts';

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

export interface RowJsonInput {
  ids: readonly string[];
  cuts: readonly Cut[];
  rows: RowCache;
  /** the rows of machines in their windows, machine by machine */
  compute: (ids: readonly string[], cutsByMachine: Map<string, MachineCut[]>) => KpiRow[];
  /** true when a machine's window is kept whole (its row cannot change by itself) */
  isWhole: (machine: string, key: string) => boolean;
}

/** A list of windows missing for some machines, and where their rows go. */
interface Gap {
  cuts: MachineCut[];
  at: number[];
}

export function rowJsonChunks(input: RowJsonInput): Buffer[] {
  const { ids, cuts } = input;
  if (ids.length === 0) return [OPEN, CLOSE];
  const n = cuts.length;
  const keys = cuts.map((c) => `${c.start}|${c.end}`);
  const parts = new Array<Buffer>(ids.length * n);
  // rows not kept (today's, or dropped by late data): machines with the same gaps share one
  // list of windows, so the engine splits it once (the usual gap: today, on every machine)
  const gaps = new Map<string, Gap>();
  const stale: { id: string; m: number; gap: Gap }[] = [];
  ids.forEach((id, m) => {
    const kept = input.rows.of(id);
    let missing: number[] | undefined;
    for (let i = 0; i < n; i++) {
      const hit = kept?.get(keys[i] as string);
      if (hit !== undefined && hit.label === (cuts[i] as Cut).label) parts[m * n + i] = hit.json;
      else (missing ??= []).push(i);
    }
    if (!missing) return;
    const sig = missing.length === n ? '*' : missing.join(',');
    let gap = gaps.get(sig);
    if (!gap) {
      gap = { cuts: missing.map((i) => cuts[i] as Cut), at: missing };
      gaps.set(sig, gap);
    }
    stale.push({ id, m, gap });
  });
  if (stale.length > 0) {
    const rows = input.compute(
      stale.map((x) => x.id),
      new Map(stale.map((x) => [x.id, x.gap.cuts])),
    );
    let r = 0;
    for (const { id, m, gap } of stale) {
      for (const i of gap.at) {
        const json = Buffer.from(JSON.stringify(rows[r++]));
        parts[m * n + i] = json;
        const cut = cuts[i] as Cut;
        // only a whole past window (its components kept) is a row that cannot change by itself
        if (input.isWhole(id, keys[i] as string)) input.rows.store(id, keys[i] as string, { end: cut.end, label: cut.label, json });
      }
    }
  }
  const out = new Array<Buffer>(parts.length * 2 + 1);
  out[0] = OPEN;
  for (let i = 0; i < parts.length; i++) {
    out[2 * i + 1] = parts[i] as Buffer;
    out[2 * i + 2] = i === parts.length - 1 ? CLOSE : COMMA;
  }
  return out;
}
