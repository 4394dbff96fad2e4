/**
 * Payloads a driver could not turn into samples, and samples the input boundary refused, kept
 * for the operator. Bounded in every dimension, since a hostile or broken publisher decides how
 * many arrive and how big they are: each letter's topic, reason and payload are cut (the
 * payload's original size is kept), and the table holds the newest `cap` rows within `maxBytes`;
 * older ones are deleted and counted.
 */
import type Database from 'better-sqlite3';

export interface DeadLetterRow {
  id: number;
  ts: number;
  source: string;
  topic: string;
  reason: string;
  payload: string;
  /** the payload's size as received (bytes); `payload` holds at most DEAD_LETTER_LIMITS.payloadBytes of it */
  payloadBytes: number;
}

export const DEAD_LETTER_LIMITS = {
  topicChars: 256,
  reasonChars: 512,
  payloadBytes: 1024,
  /** rows kept (BufferOptions.deadLetterCap overrides) */
  rows: 10_000,
  /** topic + reason + payload bytes kept, over all rows */
  bytes: 16 * 1024 ** 2,
} as const;

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export class DeadLetters {
  private stmts: { insert: Database.Statement<[number, string, string, string, Buffer, number]>; trim: Database.Statement<[number]>; trimmedBytes: Database.Statement<[number]>; oldest: Database.Statement<[number]>; deleteUpTo: Database.Statement<[number]> } | undefined;
  /** bytes held, known after the first add (a read-only reader never adds) */
  private bytes = -1;
  /** rows deleted to stay within the bounds since the buffer opened */
  dropped = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly cap: number = DEAD_LETTER_LIMITS.rows,
    private readonly maxBytes: number = DEAD_LETTER_LIMITS.bytes,
  ) {}

  private heldBytes(): number {
    return (this.db.prepare('SELECT coalesce(SUM(length(topic) + length(reason) + coalesce(length(payload), 0)), 0) AS b FROM dead_letters').get() as { b: number }).b;
  }

  /** Stores the letter, cut to the limits, and trims the table to its bounds. */
  add(source: string, topic: string, reason: string, payload: Buffer | string, ts: number): void {
    const buf = typeof payload === 'string' ? Buffer.from(payload.length > DEAD_LETTER_LIMITS.payloadBytes * 4 ? payload.slice(0, DEAD_LETTER_LIMITS.payloadBytes * 4) : payload) : payload;
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    const kept = buf.subarray(0, DEAD_LETTER_LIMITS.payloadBytes);
    const t = cut(topic, DEAD_LETTER_LIMITS.topicChars);
    const r = cut(reason, DEAD_LETTER_LIMITS.reasonChars);
    this.stmts ??= {
      insert: this.db.prepare('INSERT INTO dead_letters (ts, source, topic, reason, payload, payload_bytes) VALUES (?, ?, ?, ?, ?, ?)'),
      trim: this.db.prepare('DELETE FROM dead_letters WHERE id <= (SELECT MAX(id) FROM dead_letters) - ?'),
      trimmedBytes: this.db.prepare('SELECT coalesce(SUM(length(topic) + length(reason) + coalesce(length(payload), 0)), 0) AS b FROM dead_letters WHERE id <= (SELECT MAX(id) FROM dead_letters) - ?'),
      oldest: this.db.prepare('SELECT id, length(topic) + length(reason) + coalesce(length(payload), 0) AS b FROM dead_letters ORDER BY id LIMIT ?'),
      deleteUpTo: this.db.prepare('DELETE FROM dead_letters WHERE id <= ?'),
    };
    if (this.bytes < 0) this.bytes = this.heldBytes();
    this.stmts.insert.run(ts, cut(source, DEAD_LETTER_LIMITS.topicChars), t, r, kept, size);
    // SQLite's length() counts characters of text, bytes of a blob: the same measure here
    this.bytes += t.length + r.length + kept.length;
    // the rows past the cap (usually the one oldest): their bytes leave the total with them
    this.bytes -= (this.stmts.trimmedBytes.get(this.cap) as { b: number }).b;
    this.dropped += this.stmts.trim.run(this.cap).changes;
    if (this.bytes > this.maxBytes) this.trimBytes(this.stmts);
  }

  /** Deletes the oldest rows until the table is within maxBytes again (to 90 %: not once per insert). */
  private trimBytes(stmts: NonNullable<DeadLetters['stmts']>): void {
    const target = this.maxBytes * 0.9;
    let total = this.bytes;
    while (total > target) {
      const rows = stmts.oldest.all(500) as { id: number; b: number }[];
      const last = rows[rows.length - 1];
      if (last === undefined) break;
      let upTo = last.id;
      for (const row of rows) {
        total -= row.b;
        if (total <= target) {
          upTo = row.id;
          break;
        }
      }
      this.dropped += stmts.deleteUpTo.run(upTo).changes;
    }
    this.bytes = Math.max(0, total);
  }

  /** the newest first */
  list(limit: number): DeadLetterRow[] {
    const rows = this.db
      .prepare('SELECT id, ts, source, topic, reason, payload, coalesce(payload_bytes, length(payload), 0) AS payloadBytes FROM dead_letters ORDER BY id DESC LIMIT ?')
      .all(limit) as (Omit<DeadLetterRow, 'payload'> & { payload: Buffer | null })[];
    return rows.map((r) => ({ ...r, payload: r.payload ? r.payload.toString('utf8') : '' }));
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM dead_letters').get() as { n: number }).n;
  }
}
