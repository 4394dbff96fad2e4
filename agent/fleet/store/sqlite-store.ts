/**
 * The fleet store in SQLite (better-sqlite3), the embedded default when `database.url` is
 * absent: `fleet.sqlite` in the fleet's data folder, WAL, one IMMEDIATE transaction per ingest
 * batch. The same tables as PostgreSQL, with times as epoch milliseconds. One fleet process
 * per file (SQLite has one writer); sharing the subscription needs PostgreSQL.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError } from '../../errors.ts';
import { sqliteNativeBinding } from '../../sea/index.ts';
import { SQLITE_MIGRATIONS } from './migrations.ts';
import {
  advanceCursor,
  HOUR_COLUMNS,
  instancesOf,
  latestHours,
  valueColumns,
  type AgentRecord,
  type AgentStatus,
  type CommitResult,
  type ConfirmedCursor,
  type DeadLetter,
  type FleetStore,
  type HourRecord,
  type IngestBatch,
  type MachineRecord,
  type SiteRecord,
  type UnitsRecord,
} from './fleet-store.ts';

export const SQLITE_STORE_FILE = 'fleet.sqlite';

type Row = Record<string, unknown>;

export class SqliteStore implements FleetStore {
  readonly kind = 'sqlite' as const;
  private readonly statusOf = new Map<string, { status: AgentStatus; at: number }>();
  private readonly st: ReturnType<SqliteStore['prepare']>;
  private readonly commitTx: (b: IngestBatch) => CommitResult;

  private constructor(private readonly db: Database.Database) {
    this.st = this.prepare();
    this.commitTx = db.transaction((b: IngestBatch) => this.write(b)).immediate as (b: IngestBatch) => CommitResult;
  }

  static open(dataDir: string): SqliteStore {
    let db: Database.Database;
    try {
      mkdirSync(dataDir, { recursive: true });
      // in the single executable the addon comes from inside it, as for the agent's buffer
      db = new Database(join(dataDir, SQLITE_STORE_FILE), sqliteNativeBinding(dataDir));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      migrate(db);
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError('SFA_ERR_FLEET_STORE', `cannot open the fleet store in ${dataDir}: ${(err as Error).message}`, { cause: err });
    }
    return new SqliteStore(db);
  }

  private prepare() {
    const db = this.db;
    const cols = HOUR_COLUMNS.map(([c]) => c);
    return {
      agent: db.prepare(
        `INSERT INTO agents (instance, site, agent, first_seen, last_seen, status, status_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (instance) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen) RETURNING confirmed_id AS c`,
      ),
      sample: db.prepare(`INSERT OR IGNORE INTO samples (instance, id, site, agent, machine, signal, ts, value, text_value, quality) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      range: db.prepare(`INSERT OR IGNORE INTO agent_batches (instance, prev_last_id, last_id) VALUES (?, ?, ?)`),
      ranges: db.prepare(`SELECT prev_last_id AS prevLastId, last_id AS lastId FROM agent_batches WHERE instance = ? ORDER BY prev_last_id, last_id`),
      passRanges: db.prepare(`DELETE FROM agent_batches WHERE instance = ? AND (prev_last_id <= ? OR last_id <= ?)`),
      cursor: db.prepare(
        `UPDATE agents SET confirmed_id = ?, last_id = max(last_id, ?), last_sample_ts = max(coalesce(last_sample_ts, 0), ?) WHERE instance = ?`,
      ),
      hour: db.prepare(
        `INSERT INTO kpi_hours (instance, site, agent, machine, hour_start, revision, ${cols.join(', ')}, components, received_at)
         VALUES (${Array(8 + cols.length).fill('?').join(', ')})
         ON CONFLICT (instance, machine, hour_start) DO UPDATE SET ${[...cols, 'components', 'received_at', 'revision'].map((c) => `${c} = excluded.${c}`).join(', ')}
         WHERE kpi_hours.revision < excluded.revision`,
      ),
      site: db.prepare(
        `INSERT INTO sites (id, name, timezone, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = coalesce(excluded.name, name), timezone = coalesce(excluded.timezone, timezone), updated_at = excluded.updated_at`,
      ),
      machine: db.prepare(
        `INSERT INTO machines (site, agent, id, name, line, product, ideal_cycle_time_s, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (site, agent, id) DO UPDATE SET name = excluded.name, line = excluded.line, product = excluded.product,
           ideal_cycle_time_s = excluded.ideal_cycle_time_s, updated_at = excluded.updated_at`,
      ),
      status: db.prepare(`UPDATE agents SET status = ?, status_at = ? WHERE site = ? AND agent = ? AND (status_at IS NULL OR status_at <= ?)`),
      dead: db.prepare(`INSERT INTO dead_letters (received_at, topic, reason, payload) VALUES (?, ?, ?, ?)`),
    };
  }

  async commit(b: IngestBatch): Promise<CommitResult> {
    for (const s of b.statuses) this.statusOf.set(`${s.site}/${s.agent}`, { status: s.status, at: s.at });
    try {
      return this.commitTx(b);
    } catch (err) {
      const code = String((err as { code?: unknown }).code ?? '');
      // the rows themselves are refused (retrying the same batch cannot help)
      if (/^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG)/.test(code)) throw new AgentError('SFA_ERR_PAYLOAD', `SQLite refused the rows: ${(err as Error).message} (${code})`, { cause: err });
      throw new AgentError('SFA_ERR_FLEET_STORE', `the fleet store could not commit a batch: ${(err as Error).message}`, { cause: err });
    }
  }

  private write(b: IngestBatch): CommitResult {
    const st = this.st;
    const cursors = new Map<string, number>();
    for (const [instance, who] of instancesOf(b)) {
      const s = this.statusOf.get(`${who.site}/${who.agent}`);
      const r = st.agent.get(instance, who.site, who.agent, b.at, b.at, s?.status ?? null, s?.at ?? null) as { c: number };
      cursors.set(instance, r.c);
    }
    let stored = 0;
    let total = 0;
    const per = new Map<string, { site: string; agent: string; maxId: number; maxTs: number }>();
    for (const m of b.samples) {
      // SQLite binds each value itself: it never encodes on arrival (no encodeSamples)
      if ('encoded' in m) throw new AgentError('SFA_ERR_UNEXPECTED', 'the SQLite fleet store was given samples encoded for another store');
      const p = per.get(m.instance) ?? { site: m.site, agent: m.agent, maxId: 0, maxTs: 0 };
      for (const x of m.samples) {
        const [v, t] = valueColumns(x.value);
        stored += st.sample.run(m.instance, x.id, m.site, m.agent, x.machine, x.signal, x.ts, v, t, x.quality).changes;
        total++;
        if (x.ts > p.maxTs) p.maxTs = x.ts;
      }
      p.maxId = Math.max(p.maxId, m.lastId);
      per.set(m.instance, p);
      st.range.run(m.instance, m.prevLastId, m.lastId);
    }
    const confirmed: ConfirmedCursor[] = [];
    for (const [instance, p] of [...per].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      const cur = advanceCursor(cursors.get(instance) ?? 0, st.ranges.all(instance) as { prevLastId: number; lastId: number }[]);
      st.passRanges.run(instance, cur, cur);
      st.cursor.run(cur, p.maxId, p.maxTs, instance);
      confirmed.push({ instance, site: p.site, agent: p.agent, confirmedId: cur });
    }
    for (const h of latestHours(b.hours)) {
      st.hour.run(h.instance, h.site, h.agent, h.machine, h.hourStart, h.revision, ...HOUR_COLUMNS.map(([, k]) => h.components[k]), JSON.stringify(h.components), b.at);
    }
    for (const p of b.plants) {
      st.site.run(p.site, p.siteName ?? null, p.timezone ?? null, b.at);
      for (const m of p.machines) st.machine.run(p.site, p.agent, m.id, m.name ?? null, m.line ?? null, m.product ?? null, m.idealCycleTimeS ?? null, b.at);
    }
    for (const s of b.statuses) st.status.run(s.status, s.at, s.site, s.agent, s.at);
    for (const d of b.deadLetters) st.dead.run(d.at, d.topic, d.reason, d.payload);
    return { stored, duplicates: total - stored, confirmed };
  }

  async agents(): Promise<AgentRecord[]> {
    return this.db
      .prepare(
        `SELECT instance, site, agent, first_seen AS firstSeen, last_seen AS lastSeen, status, status_at AS statusAt,
           confirmed_id AS confirmedId, last_id AS lastId, last_sample_ts AS lastSampleTs FROM agents ORDER BY site, agent, last_seen DESC`,
      )
      .all() as AgentRecord[];
  }

  async confirmedId(instance: string): Promise<number | null> {
    const r = this.db.prepare(`SELECT confirmed_id AS c FROM agents WHERE instance = ?`).get(instance) as { c: number } | undefined;
    return r?.c ?? null;
  }

  async hours(from: number, to: number, limit = Number.MAX_SAFE_INTEGER): Promise<HourRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT instance, site, agent, machine, hour_start AS hourStart, revision, components FROM kpi_hours
         WHERE hour_start >= ? AND hour_start < ? ORDER BY hour_start, site, agent, machine, instance LIMIT ?`,
      )
      .all(from, to, limit) as (Omit<HourRecord, 'components'> & { components: string })[];
    return rows.map((r) => ({ ...r, components: JSON.parse(r.components) as HourRecord['components'] }));
  }

  async unitsUntil(to: number): Promise<UnitsRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT site, agent, machine, sum(units_total) AS u, sum(units_total IS NULL) AS unknown FROM kpi_hours
         WHERE hour_start < ? GROUP BY site, agent, machine`,
      )
      .all(to) as { site: string; agent: string; machine: string; u: number | null; unknown: number }[];
    return rows.map((r) => ({ site: r.site, agent: r.agent, machine: r.machine, unitsTotal: r.unknown > 0 ? null : r.u }));
  }

  async oldestHour(): Promise<number | null> {
    const r = this.db.prepare(`SELECT min(hour_start) AS h FROM kpi_hours`).get() as { h: number | null };
    return r.h;
  }

  async machines(): Promise<MachineRecord[]> {
    return this.db
      .prepare(`SELECT site, agent, id, name, line, product, ideal_cycle_time_s AS idealCycleTimeS FROM machines ORDER BY site, agent, id`)
      .all() as MachineRecord[];
  }

  async sites(): Promise<SiteRecord[]> {
    return this.db.prepare(`SELECT id, name, timezone FROM sites ORDER BY id`).all() as SiteRecord[];
  }

  async sampleCount(instance?: string): Promise<number> {
    const r = (instance === undefined
      ? this.db.prepare(`SELECT count(*) AS n FROM samples`).get()
      : this.db.prepare(`SELECT count(*) AS n FROM samples WHERE instance = ?`).get(instance)) as Row;
    return Number(r.n);
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.db.prepare(`SELECT received_at AS at, topic, reason, payload FROM dead_letters ORDER BY id DESC LIMIT ?`).all(limit) as DeadLetter[];
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`);
  const have = (db.prepare(`SELECT max(version) AS v FROM schema_migrations`).get() as { v: number | null }).v ?? 0;
  if (have > SQLITE_MIGRATIONS.length) {
    throw new AgentError('SFA_ERR_FLEET_STORE', `the fleet store is at version ${have}, newer than this fleet (${SQLITE_MIGRATIONS.length}): upgrade the fleet process`);
  }
  db.transaction(() => {
    for (let v = have + 1; v <= SQLITE_MIGRATIONS.length; v++) {
      db.exec(SQLITE_MIGRATIONS[v - 1] as string);
      db.prepare(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`).run(v, Date.now());
    }
  }).immediate();
}
