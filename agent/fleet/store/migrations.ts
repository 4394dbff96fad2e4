/**
 * Versioned migrations of the fleet store, one list per dialect, applied in order and recorded
 * in `schema_migrations`. The PostgreSQL tables are a contract (README "Fleet PostgreSQL
 * schema"): a later version only adds (columns, tables, indexes), so old queries keep working.
 * `{s}` is the schema (PostgreSQL) and nothing (SQLite). Times are timestamptz in PostgreSQL
 * and epoch milliseconds in SQLite.
 */

const KPI_COLUMNS_PG = `
  window_s double precision NOT NULL, planned_s double precision NOT NULL, running_s double precision NOT NULL,
  idle_s double precision NOT NULL, down_s double precision NOT NULL, planned_stop_s double precision NOT NULL,
  unknown_s double precision NOT NULL, unscheduled_s double precision NOT NULL,
  energy_kwh double precision, units_total double precision, units_good double precision, units_scrap double precision,
  ideal_s double precision, qa_inspected double precision, qa_rejected double precision, qa_escaped double precision,
  qa_false_reject double precision, energy_cost double precision, co2e_kg double precision,
  orders integer NOT NULL, lead_time_sum_s double precision NOT NULL,`;

export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE {s}.sites (
     id text PRIMARY KEY, name text, timezone text, updated_at timestamptz NOT NULL);
   CREATE TABLE {s}.agents (
     instance text PRIMARY KEY, site text NOT NULL, agent text NOT NULL,
     first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL,
     status text, status_at timestamptz,
     confirmed_id bigint NOT NULL DEFAULT 0, last_id bigint NOT NULL DEFAULT 0, last_sample_ts timestamptz);
   CREATE INDEX agents_site_agent ON {s}.agents (site, agent);
   CREATE TABLE {s}.agent_batches (
     instance text NOT NULL, prev_last_id bigint NOT NULL, last_id bigint NOT NULL,
     PRIMARY KEY (instance, prev_last_id, last_id));
   CREATE TABLE {s}.machines (
     site text NOT NULL, agent text NOT NULL, id text NOT NULL, name text, line text, product text,
     ideal_cycle_time_s double precision, updated_at timestamptz NOT NULL, PRIMARY KEY (site, agent, id));
   CREATE TABLE {s}.samples (
     instance text NOT NULL, id bigint NOT NULL, site text NOT NULL, agent text NOT NULL, machine text NOT NULL,
     signal text NOT NULL, ts timestamptz NOT NULL, value double precision, text_value text, quality text NOT NULL,
     PRIMARY KEY (instance, id));
   CREATE INDEX samples_site_machine_ts ON {s}.samples (site, machine, ts);
   CREATE TABLE {s}.kpi_hours (
     instance text NOT NULL, site text NOT NULL, agent text NOT NULL, machine text NOT NULL,
     hour_start timestamptz NOT NULL, revision integer NOT NULL, ${KPI_COLUMNS_PG}
     components jsonb NOT NULL, received_at timestamptz NOT NULL,
     PRIMARY KEY (instance, machine, hour_start));
   CREATE INDEX kpi_hours_hour ON {s}.kpi_hours (hour_start);
   CREATE INDEX kpi_hours_site_machine_hour ON {s}.kpi_hours (site, machine, hour_start);
   CREATE TABLE {s}.dead_letters (
     id bigserial PRIMARY KEY, received_at timestamptz NOT NULL, topic text NOT NULL, reason text NOT NULL, payload text NOT NULL);`,
];

const KPI_COLUMNS_SQLITE = KPI_COLUMNS_PG.replace(/double precision/g, 'REAL').replace(/integer/g, 'INTEGER');

export const SQLITE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE sites (id TEXT PRIMARY KEY, name TEXT, timezone TEXT, updated_at INTEGER NOT NULL);
   CREATE TABLE agents (
     instance TEXT PRIMARY KEY, site TEXT NOT NULL, agent TEXT NOT NULL,
     first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, status TEXT, status_at INTEGER,
     confirmed_id INTEGER NOT NULL DEFAULT 0, last_id INTEGER NOT NULL DEFAULT 0, last_sample_ts INTEGER);
   CREATE INDEX agents_site_agent ON agents (site, agent);
   CREATE TABLE agent_batches (instance TEXT NOT NULL, prev_last_id INTEGER NOT NULL, last_id INTEGER NOT NULL,
     PRIMARY KEY (instance, prev_last_id, last_id)) WITHOUT ROWID;
   CREATE TABLE machines (site TEXT NOT NULL, agent TEXT NOT NULL, id TEXT NOT NULL, name TEXT, line TEXT, product TEXT,
     ideal_cycle_time_s REAL, updated_at INTEGER NOT NULL, PRIMARY KEY (site, agent, id));
   CREATE TABLE samples (instance TEXT NOT NULL, id INTEGER NOT NULL, site TEXT NOT NULL, agent TEXT NOT NULL,
     machine TEXT NOT NULL, signal TEXT NOT NULL, ts INTEGER NOT NULL, value REAL, text_value TEXT, quality TEXT NOT NULL,
     PRIMARY KEY (instance, id)) WITHOUT ROWID;
   CREATE INDEX samples_site_machine_ts ON samples (site, machine, ts);
   CREATE TABLE kpi_hours (instance TEXT NOT NULL, site TEXT NOT NULL, agent TEXT NOT NULL, machine TEXT NOT NULL,
     hour_start INTEGER NOT NULL, revision INTEGER NOT NULL, ${KPI_COLUMNS_SQLITE}
     components TEXT NOT NULL, received_at INTEGER NOT NULL, PRIMARY KEY (instance, machine, hour_start));
   CREATE INDEX kpi_hours_hour ON kpi_hours (hour_start);
   CREATE INDEX kpi_hours_site_machine_hour ON kpi_hours (site, machine, hour_start);
   CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL, topic TEXT NOT NULL,
     reason TEXT NOT NULL, payload TEXT NOT NULL);`,
];
