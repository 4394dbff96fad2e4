/** Opening buffer.db: the file, its pragmas and its schema, and the counters a buffer starts from. */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { AgentError } from '../errors.ts';
import { sqliteNativeBinding } from '../sea/index.ts';
import { migrate } from './migrations.ts';
import type { BufferOptions } from './buffer-options.ts';

export function openBufferDb(path: string, opts: Pick<BufferOptions, 'dataDir' | 'synchronous' | 'readonly' | 'maxPageCount'>): Database.Database {
  let db: Database.Database;
  try {
    if (!opts.readonly) {
      mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
      privateFiles(path);
    }
    db = new Database(path, { readonly: opts.readonly, fileMustExist: opts.readonly, ...sqliteNativeBinding(opts.dataDir) });
  } catch (e) {
    throw new AgentError('SFA_ERR_BUFFER_OPEN', `cannot open ${path}: ${(e as Error).message}`, { cause: e });
  }
  db.pragma('busy_timeout = 5000');
  if (!opts.readonly) {
    // A new file gets auto_vacuum=INCREMENTAL (it can only be chosen before the first table):
    // retention can then hand freed pages back to the file system. Files created by older agents
    // keep NONE: freed pages are reused, the file does not shrink (README "Durability").
    if ((db.pragma('user_version', { simple: true }) as number) === 0 && (db.pragma('page_count', { simple: true }) as number) === 0) {
      db.pragma('auto_vacuum = INCREMENTAL');
    }
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous}`);
    if (opts.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.floor(opts.maxPageCount)}`);
    migrate(db);
  }
  return db;
}

/**
 * The buffer holds the plant's data: readable by the agent's user only. buffer.db is created
 * 0600 before SQLite opens it (SQLite gives its -wal and -shm the database file's mode), and
 * files an older agent left 0644 are tightened.
 */
function privateFiles(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if (existsSync(f)) chmodSync(f, 0o600);
    } catch {
      // not ours to change (another owner): SQLite still opens it when it may
    }
  }
}

/** The number of stored samples and the highest id ever handed out (meta 'last_id' outlives deletes). */
export function readCounts(db: Database.Database): { n: number; last: number } {
  return db
    .prepare("SELECT COUNT(*) AS n, MAX(COALESCE(MAX(id), 0), COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_id'), 0)) AS last FROM samples")
    .get() as { n: number; last: number };
}
