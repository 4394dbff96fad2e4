/** Which source delivers each series (migration 3): kept so readers in other processes resolve a series' settings the same way. */
import type Database from 'better-sqlite3';

export interface SeriesSource {
  machine: string;
  signal: string;
  source: string;
}

export class SeriesSources {
  private upsert: Database.Statement<[string, string, string]> | undefined;

  constructor(private readonly db: Database.Database) {}

  /** Rare (a series' first sample, or a series moving to another source): a statement of its own. */
  bind(s: SeriesSource): void {
    this.upsert ??= this.db.prepare('INSERT INTO series_source (machine, signal, source) VALUES (?, ?, ?) ON CONFLICT (machine, signal) DO UPDATE SET source = excluded.source');
    this.upsert.run(s.machine, s.signal, s.source);
  }

  /** every binding; none in a buffer not yet migrated (a read-only reader of an older file) */
  all(): SeriesSource[] {
    try {
      return this.db.prepare('SELECT machine, signal, source FROM series_source').all() as SeriesSource[];
    } catch {
      return [];
    }
  }
}
