/**
 * The JSON text of whole past machine rows (a day, a shift, an hour) as UTF-8 bytes, so a
 * month by day for the fleet is a list of kept buffers written to the socket as they are: no
 * components summed, no ratios recomputed, no 1,500 objects serialised per request. A row is
 * kept only where its window's components are kept, and dropped with them (a commit) or when
 * the order book changes its lead times.
 */

/** The JSON text of a whole past machine row (`label`: the shift's name, if any). */
export interface RowText {
  end: number;
  label: string | undefined;
  json: Buffer;
}

export class RowCache {
  /** machine → "start|end" → the row's text */
  private readonly rows = new Map<string, Map<string, RowText>>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** whole past machine rows kept */
  get size(): number {
    let n = 0;
    for (const m of this.rows.values()) n += m.size;
    return n;
  }

  has(machine: string): boolean {
    return this.rows.has(machine);
  }

  of(machine: string): ReadonlyMap<string, RowText> | undefined {
    return this.rows.get(machine);
  }

  store(machine: string, key: string, row: RowText): void {
    if (this.bytes + row.json.length > this.maxBytes) this.clear();
    let m = this.rows.get(machine);
    if (!m) {
      m = new Map();
      this.rows.set(machine, m);
    }
    this.bytes += row.json.length - (m.get(key)?.json.length ?? 0);
    m.set(key, row);
  }

  /** Drops a machine's kept rows that end after `ts` (all of them without `ts`). */
  drop(machine: string, ts = -Infinity): void {
    const m = this.rows.get(machine);
    if (!m) return;
    for (const [k, r] of m) {
      if (r.end > ts) {
        m.delete(k);
        this.bytes -= r.json.length;
      }
    }
    if (m.size === 0) this.rows.delete(machine);
  }

  clear(): void {
    this.rows.clear();
    this.bytes = 0;
  }
}
