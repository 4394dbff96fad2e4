/**
 * The fleet store in PostgreSQL (the `pg` client). One transaction per ingest batch: the
 * instances' agent rows are locked first, in sorted order (two fleet processes sharing the
 * subscription then serialise per instance and never deadlock), samples go in by binary COPY
 * (pg-samples.ts: straight into `samples` when no id can be stored yet, through a staging table
 * and `ON CONFLICT DO NOTHING` otherwise), and the contiguous cursor is advanced over the stored
 * batch ranges before COMMIT. Migrations run under an advisory lock, so processes may start together.
 */
import pg from 'pg';
import { AgentError } from '../../errors.ts';
import { PG_MIGRATIONS } from './migrations.ts';
import {
  advanceCursor,
  HOUR_COLUMNS,
  instancesOf,
  latestHours,
  newestTs,
  type AgentRecord,
  type AgentStatus,
  type CommitResult,
  type ConfirmedCursor,
  type DeadLetter,
  type EncodedSamples,
  type FleetStore,
  type HourRecord,
  type IngestBatch,
  type MachineRecord,
  type SiteRecord,
  type UnitsRecord,
} from './fleet-store.ts';
import type { SamplesMessage } from '../messages.ts';
import { encodeSamples } from './pg-copy.ts';
import { pgHourUpsert } from './pg-sql.ts';
import { PgSampleWriter } from './pg-samples.ts';

export interface PgStoreOptions {
  url: string;
  schema: string;
  /** connections at most */
  poolSize: number;
  /** a deadlock or serialisation failure is retried this often */
  retries: number;
  /** shown in pg_stat_activity */
  applicationName: string;
}

export const PG_STORE_DEFAULTS = { poolSize: 4, retries: 5, applicationName: 'shopfloor-fleet' } as const;

type Q = pg.PoolClient;

const RETRYABLE = new Set(['40P01', '40001']);

export class PgStore implements FleetStore {
  readonly kind = 'postgres' as const;
  private readonly s: string;
  private readonly statusOf = new Map<string, { status: AgentStatus; at: number }>();
  private readonly sampleWriter: PgSampleWriter;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly opts: PgStoreOptions,
  ) {
    this.s = `"${opts.schema}"`;
    this.sampleWriter = new PgSampleWriter(this.s);
  }

  static async open(options: Pick<PgStoreOptions, 'url' | 'schema'> & Partial<PgStoreOptions>): Promise<PgStore> {
    const opts = { ...PG_STORE_DEFAULTS, ...options };
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(opts.schema)) throw new AgentError('SFA_ERR_FLEET_STORE', `database.schema "${opts.schema}" is not a lower-case SQL identifier`);
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize, application_name: opts.applicationName });
    // a connection that breaks (PostgreSQL restarted, backend terminated) must not crash the
    // process: idle ones report on the pool, checked-out ones on the client; the query in
    // progress fails and its transaction is retried
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const store = new PgStore(pool, opts);
    try {
      await store.migrate();
    } catch (err) {
      await pool.end().catch(() => undefined);
      if (err instanceof AgentError) throw err;
      throw new AgentError('SFA_ERR_FLEET_STORE', `cannot open the fleet database ${redact(opts.url)}: ${(err as Error).message}`, { cause: err });
    }
    return store;
  }

  private async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`shopfloor-fleet:${this.opts.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const r = await c.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${this.s}.schema_migrations`);
      const have = r.rows[0]?.v ?? 0;
      if (have > PG_MIGRATIONS.length) {
        throw new AgentError('SFA_ERR_FLEET_STORE', `schema ${this.opts.schema} is at version ${have}, newer than this fleet (${PG_MIGRATIONS.length}): upgrade the fleet process`);
      }
      for (let v = have + 1; v <= PG_MIGRATIONS.length; v++) {
        await c.query((PG_MIGRATIONS[v - 1] as string).replaceAll('{s}', this.s));
        await c.query(`INSERT INTO ${this.s}.schema_migrations (version) VALUES ($1)`, [v]);
      }
    });
  }

  private async tx<T>(fn: (c: Q) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        const out = await fn(c);
        await c.query('COMMIT');
        c.release();
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        // only a connection that failed with an ordinary SQL error goes back to the pool
        c.release((err as { severity?: unknown } | null)?.severity === 'ERROR' ? undefined : true);
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && RETRYABLE.has(code) && attempt < this.opts.retries) continue;
        // data exceptions and constraint violations: the rows themselves are refused
        if (typeof code === 'string' && /^2[23]/.test(code)) throw new AgentError('SFA_ERR_PAYLOAD', `PostgreSQL refused the rows: ${(err as Error).message} (SQLSTATE ${code})`, { cause: err });
        throw err;
      }
    }
  }

  /** Binary COPY rows as the message arrives: the batch then holds bytes, not objects, until COMMIT. */
  encodeSamples(m: SamplesMessage): EncodedSamples {
    return encodeSamples(m);
  }

  async commit(b: IngestBatch): Promise<CommitResult> {
    for (const st of b.statuses) this.statusOf.set(`${st.site}/${st.agent}`, { status: st.status, at: st.at });
    let stagedOn: Q | undefined;
    const result = await this.tx(async (c) => {
      stagedOn = undefined;
      const s = this.s;
      const cursors = new Map<string, number>();
      // the highest id stored per instance, read under the row lock: ids above it are new
      const highest = new Map<string, number>();
      for (const [instance, who] of instancesOf(b)) {
        const st = this.statusOf.get(`${who.site}/${who.agent}`);
        const r = await c.query<{ c: number; l: number }>(
          `INSERT INTO ${s}.agents (instance, site, agent, first_seen, last_seen, status, status_at)
           VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), to_timestamp($4 / 1000.0), $5, to_timestamp($6 / 1000.0))
           ON CONFLICT (instance) DO UPDATE SET last_seen = GREATEST(${s}.agents.last_seen, EXCLUDED.last_seen)
           RETURNING confirmed_id::float8 AS c, last_id::float8 AS l`,
          [instance, who.site, who.agent, b.at, st?.status ?? null, st?.at ?? null],
        );
        cursors.set(instance, r.rows[0]?.c ?? 0);
        highest.set(instance, r.rows[0]?.l ?? 0);
      }
      const { stored, total, createdStage } = await this.sampleWriter.insert(c, b.samples, highest);
      if (createdStage) stagedOn = c;
      const confirmed = await this.advance(c, b, cursors);
      for (const h of latestHours(b.hours)) await c.query(pgHourUpsert(s), hourParams(h, b.at));
      await this.plants(c, b);
      for (const st of b.statuses) {
        await c.query(`UPDATE ${s}.agents SET status = $3, status_at = to_timestamp($4 / 1000.0) WHERE site = $1 AND agent = $2 AND (status_at IS NULL OR status_at <= to_timestamp($4 / 1000.0))`, [st.site, st.agent, st.status, st.at]);
      }
      for (const d of b.deadLetters) {
        await c.query(`INSERT INTO ${s}.dead_letters (received_at, topic, reason, payload) VALUES (to_timestamp($1 / 1000.0), $2, $3, $4)`, [d.at, d.topic, d.reason, d.payload]);
      }
      return { stored, duplicates: total - stored, confirmed };
    });
    if (stagedOn) this.sampleWriter.committed(stagedOn);
    return result;
  }

  /** Stores the batches' ranges and moves each instance's cursor over what is contiguous now. */
  private async advance(c: Q, b: IngestBatch, cursors: Map<string, number>): Promise<ConfirmedCursor[]> {
    const s = this.s;
    const per = new Map<string, { site: string; agent: string; maxId: number; maxTs: number }>();
    const inst: string[] = [];
    const prev: number[] = [];
    const last: number[] = [];
    for (const m of b.samples) {
      inst.push(m.instance);
      prev.push(m.prevLastId);
      last.push(m.lastId);
      const p = per.get(m.instance) ?? { site: m.site, agent: m.agent, maxId: 0, maxTs: 0 };
      p.maxId = Math.max(p.maxId, m.lastId);
      p.maxTs = Math.max(p.maxTs, newestTs(m));
      per.set(m.instance, p);
    }
    if (inst.length === 0) return [];
    await c.query(`INSERT INTO ${s}.agent_batches (instance, prev_last_id, last_id) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) ON CONFLICT DO NOTHING`, [inst, prev, last]);
    const out: ConfirmedCursor[] = [];
    for (const [instance, p] of [...per].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      const r = await c.query<{ p: number; l: number }>(`SELECT prev_last_id::float8 AS p, last_id::float8 AS l FROM ${s}.agent_batches WHERE instance = $1 ORDER BY prev_last_id, last_id`, [instance]);
      const cur = advanceCursor(cursors.get(instance) ?? 0, r.rows.map((x) => ({ prevLastId: x.p, lastId: x.l })));
      await c.query(`DELETE FROM ${s}.agent_batches WHERE instance = $1 AND (prev_last_id <= $2 OR last_id <= $2)`, [instance, cur]);
      await c.query(
        `UPDATE ${s}.agents SET confirmed_id = $2, last_id = GREATEST(last_id, $3),
           last_sample_ts = GREATEST(last_sample_ts, to_timestamp($4 / 1000.0)) WHERE instance = $1`,
        [instance, cur, p.maxId, p.maxTs],
      );
      out.push({ instance, site: p.site, agent: p.agent, confirmedId: cur });
    }
    return out;
  }

  private async plants(c: Q, b: IngestBatch): Promise<void> {
    const s = this.s;
    for (const p of b.plants) {
      await c.query(
        `INSERT INTO ${s}.sites (id, name, timezone, updated_at) VALUES ($1, $2, $3, to_timestamp($4 / 1000.0))
         ON CONFLICT (id) DO UPDATE SET name = COALESCE(EXCLUDED.name, ${s}.sites.name), timezone = COALESCE(EXCLUDED.timezone, ${s}.sites.timezone), updated_at = EXCLUDED.updated_at`,
        [p.site, p.siteName ?? null, p.timezone ?? null, b.at],
      );
      for (const m of p.machines) {
        await c.query(
          `INSERT INTO ${s}.machines (site, agent, id, name, line, product, ideal_cycle_time_s, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8 / 1000.0))
           ON CONFLICT (site, agent, id) DO UPDATE SET name = EXCLUDED.name, line = EXCLUDED.line, product = EXCLUDED.product, ideal_cycle_time_s = EXCLUDED.ideal_cycle_time_s, updated_at = EXCLUDED.updated_at`,
          [p.site, p.agent, m.id, m.name ?? null, m.line ?? null, m.product ?? null, m.idealCycleTimeS ?? null, b.at],
        );
      }
    }
  }

  async agents(): Promise<AgentRecord[]> {
    const r = await this.pool.query<{ instance: string; site: string; agent: string; fs: number; ls: number; status: AgentStatus | null; sa: number | null; c: number; l: number; lt: number | null }>(
      `SELECT instance, site, agent, extract(epoch FROM first_seen) * 1000 AS fs, extract(epoch FROM last_seen) * 1000 AS ls, status,
         extract(epoch FROM status_at) * 1000 AS sa, confirmed_id::float8 AS c, last_id::float8 AS l, extract(epoch FROM last_sample_ts) * 1000 AS lt
       FROM ${this.s}.agents ORDER BY site, agent, last_seen DESC`,
    );
    return r.rows.map((x) => ({
      instance: x.instance,
      site: x.site,
      agent: x.agent,
      firstSeen: Math.round(Number(x.fs)),
      lastSeen: Math.round(Number(x.ls)),
      status: x.status,
      statusAt: x.sa === null ? null : Math.round(Number(x.sa)),
      confirmedId: x.c,
      lastId: x.l,
      lastSampleTs: x.lt === null ? null : Math.round(Number(x.lt)),
    }));
  }

  async confirmedId(instance: string): Promise<number | null> {
    const r = await this.pool.query<{ c: number }>(`SELECT confirmed_id::float8 AS c FROM ${this.s}.agents WHERE instance = $1`, [instance]);
    return r.rows[0]?.c ?? null;
  }

  async hours(from: number, to: number, limit = Number.MAX_SAFE_INTEGER): Promise<HourRecord[]> {
    const r = await this.pool.query<{ instance: string; site: string; agent: string; machine: string; h: string; revision: number; components: HourRecord['components'] }>(
      `SELECT instance, site, agent, machine, (extract(epoch FROM hour_start) * 1000)::float8 AS h, revision, components
       FROM ${this.s}.kpi_hours WHERE hour_start >= to_timestamp($1 / 1000.0) AND hour_start < to_timestamp($2 / 1000.0)
       ORDER BY hour_start, site, agent, machine, instance LIMIT $3`,
      [from, to, limit],
    );
    return r.rows.map((x) => ({ instance: x.instance, site: x.site, agent: x.agent, machine: x.machine, hourStart: Math.round(Number(x.h)), revision: x.revision, components: x.components }));
  }

  async unitsUntil(to: number): Promise<UnitsRecord[]> {
    const r = await this.pool.query<{ site: string; agent: string; machine: string; u: number | null; unknown: string }>(
      `SELECT site, agent, machine, sum(units_total) AS u, count(*) FILTER (WHERE units_total IS NULL) AS unknown
       FROM ${this.s}.kpi_hours WHERE hour_start < to_timestamp($1 / 1000.0) GROUP BY site, agent, machine`,
      [to],
    );
    return r.rows.map((x) => ({ site: x.site, agent: x.agent, machine: x.machine, unitsTotal: Number(x.unknown) > 0 || x.u === null ? null : Number(x.u) }));
  }

  async oldestHour(): Promise<number | null> {
    const r = await this.pool.query<{ h: number | null }>(`SELECT (extract(epoch FROM min(hour_start)) * 1000)::float8 AS h FROM ${this.s}.kpi_hours`);
    const h = r.rows[0]?.h;
    return h === null || h === undefined ? null : Math.round(Number(h));
  }

  async machines(): Promise<MachineRecord[]> {
    const r = await this.pool.query<{ site: string; agent: string; id: string; name: string | null; line: string | null; product: string | null; ict: number | null }>(
      `SELECT site, agent, id, name, line, product, ideal_cycle_time_s AS ict FROM ${this.s}.machines ORDER BY site, agent, id`,
    );
    return r.rows.map((x) => ({ site: x.site, agent: x.agent, id: x.id, name: x.name, line: x.line, product: x.product, idealCycleTimeS: x.ict }));
  }

  async sites(): Promise<SiteRecord[]> {
    const r = await this.pool.query<SiteRecord>(`SELECT id, name, timezone FROM ${this.s}.sites ORDER BY id`);
    return r.rows;
  }

  async sampleCount(instance?: string): Promise<number> {
    const r = instance === undefined
      ? await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.s}.samples`)
      : await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.s}.samples WHERE instance = $1`, [instance]);
    return Number(r.rows[0]?.n ?? 0);
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const r = await this.pool.query<{ at: number; topic: string; reason: string; payload: string }>(
      `SELECT extract(epoch FROM received_at) * 1000 AS at, topic, reason, payload FROM ${this.s}.dead_letters ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    return r.rows.map((x) => ({ at: Math.round(Number(x.at)), topic: x.topic, reason: x.reason, payload: x.payload }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function hourParams(h: IngestBatch['hours'][number], at: number): unknown[] {
  return [h.instance, h.site, h.agent, h.machine, h.hourStart, h.revision, ...HOUR_COLUMNS.map(([, k]) => h.components[k]), JSON.stringify(h.components), at];
}

/** A database URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@');
}
