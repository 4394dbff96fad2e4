/**
 * The buffer's series: (machine, signal) ↔ dense integer id (the `series` table), kept in
 * memory. A commit looks up every sample's id here, creating the series on first sight.
 */
import type Database from 'better-sqlite3';

export interface SeriesName {
  machine: string;
  signal: string;
}
type SeriesRow = SeriesName & { id: number };

export class SeriesRegistry {
  /** id by (machine, signal) */
  private readonly ids = new Map<string, number>();
  /** machine → signal → id: the commit path builds no key string per sample */
  private readonly byMachine = new Map<string, Map<string, number>>();
  readonly byId = new Map<number, SeriesName>();
  /** by series id (dense, small integers): the names as a JSON fragment (forward-reads.ts) */
  private readonly jsonCache: string[] = [];
  private readonly insertSeries: Database.Statement<[string, string]>;

  constructor(
    private readonly db: Database.Database,
    /** told of every series created (inside the commit's transaction) */
    private readonly onCreated: (id: number) => void,
  ) {
    this.insertSeries = db.prepare('INSERT INTO series (machine, signal) VALUES (?, ?) ON CONFLICT DO NOTHING');
    this.reload();
  }

  /** Reads the table again (series created inside a failed transaction are gone again). */
  reload(): void {
    this.ids.clear();
    this.byId.clear();
    this.byMachine.clear();
    this.jsonCache.length = 0;
    for (const s of this.db.prepare('SELECT id, machine, signal FROM series').all() as SeriesRow[]) {
      this.ids.set(key(s.machine, s.signal), s.id);
      this.byId.set(s.id, { machine: s.machine, signal: s.signal });
    }
  }

  /** The id of (machine, signal), creating the series when new (inside the caller's transaction). */
  idOf(machine: string, signal: string): number {
    let bySignal = this.byMachine.get(machine);
    if (bySignal === undefined) {
      bySignal = new Map();
      this.byMachine.set(machine, bySignal);
    }
    let id = bySignal.get(signal);
    if (id === undefined) {
      const k = key(machine, signal);
      id = this.ids.get(k);
      if (id === undefined) {
        this.insertSeries.run(machine, signal);
        id = (this.db.prepare('SELECT id FROM series WHERE machine = ? AND signal = ?').get(machine, signal) as { id: number }).id;
        this.ids.set(k, id);
        this.byId.set(id, { machine, signal });
        this.onCreated(id);
      }
      bySignal.set(signal, id);
    }
    return id;
  }

  /** The id of an existing series. */
  find(machine: string, signal: string): number | undefined {
    return this.ids.get(key(machine, signal));
  }

  name(id: number): SeriesName | undefined {
    return this.byId.get(id);
  }

  /** `"machine":…,"signal":…` of series `id`, serialised once */
  json(id: number): string {
    let j = this.jsonCache[id];
    if (j === undefined) {
      const s = this.byId.get(id) ?? { machine: '?', signal: '?' };
      j = `"machine":${JSON.stringify(s.machine)},"signal":${JSON.stringify(s.signal)}`;
      this.jsonCache[id] = j;
    }
    return j;
  }

  machines(): string[] {
    return [...new Set([...this.byId.values()].map((s) => s.machine))].sort();
  }

  signals(machine: string): string[] {
    return [...this.byId.values()].filter((s) => s.machine === machine).map((s) => s.signal).sort();
  }
}

function key(machine: string, signal: string): string {
  return `${machine}\u0000${signal}`;
}
