/**
 * The components of full past hours of each machine, and of whole past windows (a day, a
 * shift) summed from them, kept in memory: a month by day is one lookup per row, and a day
 * not asked before is a sum of cached hours. Hours computed from raw rows are kept as their
 * components; hours read from the rollups as blocks of those rows (machine-hours.ts), their
 * components built when asked. A committed sample drops the entries it can change (its
 * machine, from its hour on), so late data recomputes exactly its windows.
 */
import type { Cut, EnergySource, KpiComponents } from '../kpi/index.ts';
import type { HourBlock } from './machine-hours.ts';

export interface CacheEntry {
  end: number;
  components: KpiComponents;
  source: EnergySource;
}

export class ComponentCache {
  /** machine → hour start → components of that full past hour */
  private readonly hourEntries = new Map<string, Map<number, CacheEntry>>();
  /** machine → full past hours read from the rollups, kept as their rows (machine-hours.ts) */
  private readonly hourBlocks = new Map<string, HourBlock[]>();
  /** machine → "start|end" → components of a whole past window made of cached hours */
  private readonly windowEntries = new Map<string, Map<string, CacheEntry>>();
  /**
   * The signals a machine had when its entries were computed: a cached window says "not
   * measured" (null) for a signal the machine did not have yet, so the first sample of a new
   * signal drops the machine's entries (else a KPI asked for at start-up stays null).
   */
  private readonly cachedSignals = new Map<string, Set<string>>();
  private entries = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly signalsOf: (machine: string) => readonly string[],
    /** called when the cache starts over (the kept rows go with it) */
    private readonly onClear: () => void,
  ) {}

  /** cached entries: full hours and whole windows summed from them */
  get size(): number {
    return this.entries;
  }

  /** The kept components of the full past hour of `machine` starting at `start`. */
  hour(machine: string, start: number): CacheEntry | undefined {
    const hit = this.hourEntries.get(machine)?.get(start);
    if (hit) return hit;
    const blocks = this.hourBlocks.get(machine);
    if (!blocks) return undefined;
    // the newest block first: a later read of the same hour is the current one
    for (let i = blocks.length - 1; i >= 0; i--) {
      const e = (blocks[i] as HourBlock).entry(start);
      if (e) return e;
    }
    return undefined;
  }

  windows(machine: string): ReadonlyMap<string, CacheEntry> | undefined {
    return this.windowEntries.get(machine);
  }

  has(machine: string): boolean {
    return this.hourEntries.has(machine) || this.hourBlocks.has(machine) || this.windowEntries.has(machine);
  }

  /** true when the machine's entries were computed before it had this signal */
  isNewSignal(machine: string, signal: string): boolean {
    const known = this.cachedSignals.get(machine);
    return known !== undefined && !known.has(signal);
  }

  storeHour(machine: string, start: number, entry: CacheEntry): void {
    const m = this.slot(this.hourEntries, machine);
    if (!m.has(start)) this.entries++;
    m.set(start, entry);
  }

  /** Keeps a machine's hours read from the rollups (each counts as an entry). */
  storeBlock(machine: string, block: HourBlock): void {
    if (this.entries + block.size > this.maxEntries) this.startOver();
    this.rememberSignals(machine);
    const list = this.hourBlocks.get(machine);
    if (list) list.push(block);
    else this.hourBlocks.set(machine, [block]);
    this.entries += block.size;
  }

  storeWindow(machine: string, cut: Cut, entry: CacheEntry): void {
    const m = this.slot(this.windowEntries, machine);
    const k = `${cut.start}|${cut.end}`;
    if (!m.has(k)) this.entries++;
    m.set(k, entry);
  }

  /** Drops every entry of a machine. */
  dropMachine(machine: string): void {
    this.entries -= (this.hourEntries.get(machine)?.size ?? 0) + (this.windowEntries.get(machine)?.size ?? 0);
    for (const b of this.hourBlocks.get(machine) ?? []) this.entries -= b.size;
    this.hourEntries.delete(machine);
    this.hourBlocks.delete(machine);
    this.windowEntries.delete(machine);
    this.cachedSignals.delete(machine);
  }

  /** Drops a machine's entries that end after `ts` (a sample at `ts` may change them). */
  dropEndingAfter(machine: string, ts: number): void {
    this.entries -= dropEndingAfter(this.hourEntries.get(machine), ts) + dropEndingAfter(this.windowEntries.get(machine), ts);
    const blocks = this.hourBlocks.get(machine);
    if (!blocks) return;
    for (const b of blocks) this.entries -= b.dropEndingAfter(ts);
    const kept = blocks.filter((b) => b.size > 0);
    if (kept.length === 0) this.hourBlocks.delete(machine);
    else this.hourBlocks.set(machine, kept);
  }

  clear(): void {
    this.hourEntries.clear();
    this.hourBlocks.clear();
    this.windowEntries.clear();
    this.cachedSignals.clear();
    this.entries = 0;
  }

  private rememberSignals(machine: string): void {
    if (!this.cachedSignals.has(machine)) this.cachedSignals.set(machine, new Set(this.signalsOf(machine)));
  }

  private startOver(): void {
    this.clear();
    this.onClear();
  }

  /** The machine's map in `all`, made room for: past maxEntries everything starts over. */
  private slot<K>(all: Map<string, Map<K, CacheEntry>>, machine: string): Map<K, CacheEntry> {
    if (this.entries >= this.maxEntries) this.startOver();
    this.rememberSignals(machine);
    let m = all.get(machine);
    if (!m) {
      m = new Map();
      all.set(machine, m);
    }
    return m;
  }
}

/** Deletes the entries that end after `ts`; returns how many. */
function dropEndingAfter<K>(m: Map<K, CacheEntry> | undefined, ts: number): number {
  if (!m) return 0;
  let n = 0;
  for (const [k, e] of m) {
    if (e.end > ts) {
      m.delete(k);
      n++;
    }
  }
  return n;
}
