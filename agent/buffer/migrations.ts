/**
 * Schema migrations, applied in order by PRAGMA user_version. Never edit a shipped
 * migration: add the next one. A buffer written by a newer agent is refused.
 */
import type Database from 'better-sqlite3';
import { AgentError } from '../errors.ts';

export const MIGRATIONS: readonly string[] = [
  // 1: series, samples, dead letters, meta
  `
  CREATE TABLE series (
    id      INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    signal  TEXT NOT NULL,
    UNIQUE (machine, signal)
  );
  -- ids are assigned by the buffer (the single writer) and never go back, even when
  -- retention empties the table (meta 'last_id' keeps the high-water mark), so
  -- (agent, id) stays a unique key upstream.
  CREATE TABLE samples (
    id      INTEGER PRIMARY KEY,
    series  INTEGER NOT NULL REFERENCES series(id),
    ts      INTEGER NOT NULL,
    value,
    quality INTEGER NOT NULL DEFAULT 0
  );
  -- by time only: samples arrive roughly in time order, so this index grows at its end
  -- (an index on (series, ts) is written all over and costs 3x the ingest rate);
  -- per-series look-ups over long spans belong to the rollups (migration 2).
  CREATE INDEX samples_ts ON samples (ts);
  CREATE TABLE dead_letters (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts      INTEGER NOT NULL,
    source  TEXT NOT NULL,
    topic   TEXT NOT NULL,
    reason  TEXT NOT NULL,
    payload BLOB
  );
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 2: store-and-forward — minute/hour rollups (agent/buffer/rollups.ts); forwarder cursor,
  // rollup cursor and dropped-sample count live in meta.
  `
  CREATE TABLE rollup_minute (
    series          INTEGER NOT NULL,
    bucket          INTEGER NOT NULL,
    n               INTEGER NOT NULL,
    n_good          INTEGER NOT NULL,
    num_n           INTEGER NOT NULL,
    num_sum         REAL NOT NULL,
    num_min         REAL,
    num_max         REAL,
    delta           REAL NOT NULL,
    running_ms      REAL NOT NULL,
    idle_ms         REAL NOT NULL,
    down_ms         REAL NOT NULL,
    planned_stop_ms REAL NOT NULL,
    integral        REAL NOT NULL,
    held_ms         REAL NOT NULL,
    first_ts        INTEGER,
    last_ts         INTEGER,
    last_value,
    last_quality    INTEGER,
    last_good_ts    INTEGER,
    last_good_value,
    PRIMARY KEY (series, bucket)
  ) WITHOUT ROWID;
  CREATE TABLE rollup_hour (
    series          INTEGER NOT NULL,
    bucket          INTEGER NOT NULL,
    n               INTEGER NOT NULL,
    n_good          INTEGER NOT NULL,
    num_n           INTEGER NOT NULL,
    num_sum         REAL NOT NULL,
    num_min         REAL,
    num_max         REAL,
    delta           REAL NOT NULL,
    running_ms      REAL NOT NULL,
    idle_ms         REAL NOT NULL,
    down_ms         REAL NOT NULL,
    planned_stop_ms REAL NOT NULL,
    integral        REAL NOT NULL,
    held_ms         REAL NOT NULL,
    first_ts        INTEGER,
    last_ts         INTEGER,
    last_value,
    last_quality    INTEGER,
    last_good_ts    INTEGER,
    last_good_value,
    PRIMARY KEY (series, bucket)
  ) WITHOUT ROWID;
  `,
  // 3: which source delivers each series: the Plant resolves a captured series' settings
  // (rollover, staleness) among the mappings of the source that produced it
  `
  CREATE TABLE series_source (
    machine TEXT NOT NULL,
    signal  TEXT NOT NULL,
    source  TEXT NOT NULL,
    PRIMARY KEY (machine, signal)
  ) WITHOUT ROWID;
  `,
  // 4: the fleet (agent/forward) — the buffer's instance (a random UUID: a wiped buffer restarts
  // ids at 1 under a new instance, so upstream keys samples on (instance, id)), and the hourly KPI
  // components published upstream: revision and hash per (machine, hour) so late data publishes
  // a new revision only when an hour's components changed; payload kept until PUBACKed
  `
  INSERT OR IGNORE INTO meta (key, value) VALUES ('instance',
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' ||
    substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))));
  CREATE TABLE upstream_hours (
    machine    TEXT NOT NULL,
    hour_start INTEGER NOT NULL,
    revision   INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    -- the message of this revision until the broker acknowledged it, then NULL
    payload    TEXT,
    -- when the broker acknowledged it (epoch ms): a broker that lost acknowledged messages
    -- (confirm: fleet notices) gets the hours acknowledged since then again
    acked_at   INTEGER,
    PRIMARY KEY (machine, hour_start)
  ) WITHOUT ROWID;
  CREATE INDEX upstream_hours_unsent ON upstream_hours (hour_start) WHERE payload IS NOT NULL;
  `,
  // 5: a dead letter keeps at most 1 KiB of its payload (dead-letters.ts) and the size it had
  `
  ALTER TABLE dead_letters ADD COLUMN payload_bytes INTEGER;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new AgentError(
      'SFA_ERR_BUFFER_SCHEMA_NEWER',
      `buffer schema version ${current} is newer than this agent's ${SCHEMA_VERSION}`,
    );
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    const sql = MIGRATIONS[v];
    if (sql === undefined) break;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
