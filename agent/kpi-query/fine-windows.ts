/**
 * Fine windows: the user's windows split at the site's hour boundaries and the tariff's price
 * changes. A full past hour is the unit the cache keeps; the rest is computed from raw rows,
 * read in chunks of at most `chunkMs` (memory stays bounded whatever the range).
 */

export const HOUR_MS = 3_600_000;

export interface Fine {
  start: number;
  end: number;
  /** the index of the user's window it belongs to */
  parent: number;
  /** a full past hour: its components are kept */
  cacheable: boolean;
}

export interface ReadChunk {
  start: number;
  end: number;
  windows: Map<string, Fine[]>;
}

/** Groups fine windows to compute into read chunks: at most chunkMs long, no long gaps. */
export function* readChunks(missing: ReadonlyMap<string, readonly Fine[]>, chunkMs: number): Generator<ReadChunk> {
  const all: { id: string; f: Fine }[] = [];
  for (const [id, fines] of missing) for (const f of fines) all.push({ id, f });
  all.sort((a, b) => a.f.start - b.f.start);
  let cur: ReadChunk | undefined;
  for (const { id, f } of all) {
    if (cur && (f.end - cur.start > chunkMs || f.start > cur.end + HOUR_MS)) {
      yield cur;
      cur = undefined;
    }
    cur ??= { start: f.start, end: f.end, windows: new Map() };
    cur.end = Math.max(cur.end, f.end);
    const list = cur.windows.get(id) ?? [];
    list.push(f);
    cur.windows.set(id, list);
  }
  if (cur) yield cur;
}
