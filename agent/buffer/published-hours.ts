/**
 * What the forwarder has published of the hourly KPI components (table upstream_hours,
 * migration 4): per (machine, hour) the latest revision, a hash of its components and, until
 * the broker acknowledged it, the message itself, so a restart neither loses a revision nor
 * skips a resend.
 */
import type Database from 'better-sqlite3';

export interface PublishedHour {
  machine: string;
  hourStart: number;
  revision: number;
  hash: string;
}

export interface UnsentHour extends PublishedHour {
  payload: string;
}

export class PublishedHours {
  private readonly getStmt: Database.Statement<[string, number]>;
  private readonly putStmt: Database.Statement<[string, number, number, string, string]>;
  private readonly ackStmt: Database.Statement<[number, string, number, number]>;
  private readonly unsentStmt: Database.Statement<[number]>;

  constructor(private readonly db: Database.Database) {
    this.getStmt = db.prepare('SELECT revision, hash FROM upstream_hours WHERE machine = ? AND hour_start = ?');
    this.putStmt = db.prepare(
      'INSERT INTO upstream_hours (machine, hour_start, revision, hash, payload) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (machine, hour_start) DO UPDATE SET revision = excluded.revision, hash = excluded.hash, payload = excluded.payload',
    );
    this.ackStmt = db.prepare('UPDATE upstream_hours SET payload = NULL, acked_at = ? WHERE machine = ? AND hour_start = ? AND revision = ?');
    this.unsentStmt = db.prepare('SELECT machine, hour_start AS hourStart, revision, hash, payload FROM upstream_hours WHERE payload IS NOT NULL ORDER BY hour_start, machine LIMIT ?');
  }

  get(machine: string, hourStart: number): { revision: number; hash: string } | undefined {
    return this.getStmt.get(machine, hourStart) as { revision: number; hash: string } | undefined;
  }

  /** Records a revision to send (replacing an older one, sent or not). */
  put(h: UnsentHour): void {
    this.putStmt.run(h.machine, h.hourStart, h.revision, h.hash, h.payload);
  }

  /** The broker acknowledged this revision (a newer one recorded meanwhile stays unsent). */
  acked(machine: string, hourStart: number, revision: number, now = Date.now()): void {
    this.ackStmt.run(now, machine, hourStart, revision);
  }

  /**
   * Hours the broker acknowledged at or after `since` may have been lost with it: their hashes
   * are cleared (the next look at them publishes a new revision), and the earliest such hour per
   * machine is returned, from where they are to be examined again.
   */
  forgetAckedSince(since: number): Map<string, number> {
    const out = new Map<string, number>();
    this.db.transaction(() => {
      const rows = this.db.prepare('SELECT machine, MIN(hour_start) AS h FROM upstream_hours WHERE acked_at >= ? AND payload IS NULL GROUP BY machine').all(since) as { machine: string; h: number }[];
      for (const r of rows) out.set(r.machine, r.h);
      this.db.prepare("UPDATE upstream_hours SET hash = '', acked_at = NULL WHERE acked_at >= ? AND payload IS NULL").run(since);
    })();
    return out;
  }

  /** Revisions not yet acknowledged, oldest hours first. */
  unsent(limit: number): UnsentHour[] {
    return this.unsentStmt.all(limit) as UnsentHour[];
  }

  /** How many revisions wait for an acknowledgement. */
  unsentCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM upstream_hours WHERE payload IS NOT NULL').get() as { n: number }).n;
  }

  /** Forgets acknowledged hours that start before `before` (their rollups are gone too). */
  prune(before: number): number {
    return this.db.prepare('DELETE FROM upstream_hours WHERE hour_start < ? AND payload IS NULL').run(before).changes;
  }
}
