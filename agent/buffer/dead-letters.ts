/** Payloads a driver could not turn into samples, kept for the operator (newest `cap` rows). */
import type Database from 'better-sqlite3';

export interface DeadLetterRow {
  id: number;
  ts: number;
  source: string;
  topic: string;
  reason: string;
  payload: string;
}

export class DeadLetters {
  private readonly insert: Database.Statement<[number, string, string, string, Buffer]>;
  private readonly trim: Database.Statement<[number]>;

  constructor(
    private readonly db: Database.Database,
    private readonly cap: number,
  ) {
    this.insert = db.prepare('INSERT INTO dead_letters (ts, source, topic, reason, payload) VALUES (?, ?, ?, ?, ?)');
    this.trim = db.prepare('DELETE FROM dead_letters WHERE id <= (SELECT MAX(id) FROM dead_letters) - ?');
  }

  /** Stores the first KiB of the payload and trims the table to `cap` rows. */
  add(source: string, topic: string, reason: string, payload: Buffer | string, ts: number): void {
    const buf = typeof payload === 'string' ? Buffer.from(payload) : payload;
    this.insert.run(ts, source, topic, reason, buf.subarray(0, 1024));
    this.trim.run(this.cap);
  }

  /** the newest first */
  list(limit: number): DeadLetterRow[] {
    const rows = this.db
      .prepare('SELECT id, ts, source, topic, reason, payload FROM dead_letters ORDER BY id DESC LIMIT ?')
      .all(limit) as { id: number; ts: number; source: string; topic: string; reason: string; payload: Buffer | null }[];
    return rows.map((r) => ({ ...r, payload: r.payload ? r.payload.toString('utf8') : '' }));
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM dead_letters').get() as { n: number }).n;
  }
}
