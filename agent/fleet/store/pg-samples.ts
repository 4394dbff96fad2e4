/**
 * Sample rows into PostgreSQL inside the store's transaction, by binary COPY. A message whose
 * ids are all above the highest id its instance has stored (read under the agents-row lock, so
 * no other transaction can store one meanwhile) cannot conflict: it is copied straight into
 * `samples`, the usual case. One that may hold stored ids (a redelivery, a rewind's resend) is
 * copied into a session-local staging table and moved with `ON CONFLICT DO NOTHING`, so a
 * second delivery stores nothing twice.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { rowCount, type BatchSamples } from './fleet-store.ts';
import { copyChunks, SAMPLE_COPY_COLUMNS } from './pg-copy.ts';

/** Emptied at each COMMIT (in place, without catalog changes) and never visible to another session. */
const STAGE = 'pg_temp.fleet_samples_stage';
const CREATE_STAGE = `CREATE TEMP TABLE IF NOT EXISTS fleet_samples_stage (
  instance text, id bigint, site text, agent text, machine text, signal text, ts timestamptz,
  value double precision, text_value text, quality text) ON COMMIT DELETE ROWS`;

/** Rows COPYed from the messages into `table`; a refused value fails the COPY and with it the transaction. */
export async function copySamples(c: pg.PoolClient, table: string, messages: readonly BatchSamples[]): Promise<number> {
  const stream = c.query(copyFrom(`COPY ${table} ${SAMPLE_COPY_COLUMNS} FROM STDIN (FORMAT binary)`));
  await pipeline(Readable.from(copyChunks(messages), { objectMode: false }), stream);
  return stream.rowCount;
}

export class PgSampleWriter {
  /** connections whose session holds the committed staging table */
  private readonly staged = new WeakSet<pg.PoolClient>();

  constructor(private readonly schema: string) {}

  /**
   * Stores the batch's samples; returns the rows inserted, and the connection that created the
   * staging table in this transaction (to be remembered once it commits).
   */
  async insert(c: pg.PoolClient, samples: readonly BatchSamples[], highest: Map<string, number>): Promise<{ stored: number; total: number; createdStage: boolean }> {
    const fresh: BatchSamples[] = [];
    const maybeStored: BatchSamples[] = [];
    let total = 0;
    for (const m of samples) {
      const top = highest.get(m.instance) ?? 0;
      // a later message of the batch with lower ids than this one's is not fresh: no overlap among the fresh
      (m.firstId > top ? fresh : maybeStored).push(m);
      if (m.lastId > top) highest.set(m.instance, m.lastId);
      total += rowCount(m);
    }
    let stored = 0;
    if (fresh.length > 0) stored += await copySamples(c, `${this.schema}.samples`, fresh);
    let createdStage = false;
    if (maybeStored.length > 0) {
      if (!this.staged.has(c)) {
        await c.query(CREATE_STAGE);
        createdStage = true;
      }
      await copySamples(c, STAGE, maybeStored);
      const cols = SAMPLE_COPY_COLUMNS.slice(1, -1);
      const r = await c.query(`INSERT INTO ${this.schema}.samples ${SAMPLE_COPY_COLUMNS} SELECT ${cols} FROM ${STAGE} ON CONFLICT (instance, id) DO NOTHING`);
      stored += r.rowCount ?? 0;
    }
    return { stored, total, createdStage };
  }

  /** After COMMIT: this connection's session keeps the staging table. */
  committed(c: pg.PoolClient): void {
    this.staged.add(c);
  }
}
