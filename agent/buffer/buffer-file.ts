/** buffer.db on disk: its size in pages, free pages handed back, the WAL's checkpoints and size. */
import type Database from 'better-sqlite3';
import { statSync } from 'node:fs';

export interface BufferStats {
  samples: number;
  /** database file plus WAL, as on disk */
  bytes: number;
  lastId: number;
  deadLetters: number;
}

/** What retention needs to know about the file (agent/buffer/retention.ts). */
export interface PageStats {
  pageSize: number;
  pageCount: number;
  freelist: number;
  walBytes: number;
  /** database file plus WAL, as on disk (the figure `maxBytes` caps) */
  bytes: number;
  /** 0 none, 1 full, 2 incremental */
  autoVacuum: number;
}

/** The one place the size on disk is measured: stats(), metrics and retention read it here. */
export function pageStats(db: Database.Database, path: string): PageStats {
  let walBytes = 0;
  try {
    walBytes = statSync(`${path}-wal`).size;
  } catch {
    // no WAL file yet
  }
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pageCount = db.pragma('page_count', { simple: true }) as number;
  return {
    pageSize,
    pageCount,
    freelist: db.pragma('freelist_count', { simple: true }) as number,
    walBytes,
    bytes: pageCount * pageSize + walBytes,
    autoVacuum: db.pragma('auto_vacuum', { simple: true }) as number,
  };
}

/** Hand up to `pages` free pages back to the file system (auto_vacuum=INCREMENTAL only). */
export function incrementalVacuum(db: Database.Database, pages: number): void {
  db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
}

/** Checkpoint the WAL and truncate it (keeps the -wal file within the size budget). */
export function checkpoint(db: Database.Database, mode: 'PASSIVE' | 'TRUNCATE'): void {
  try {
    db.pragma(`wal_checkpoint(${mode})`);
  } catch {
    // a reader holds the WAL; the next one succeeds
  }
}

/** WAL pages before an automatic checkpoint, and the size the WAL is truncated to after it. */
export function limitWal(db: Database.Database, bytes: number): void {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${Math.max(16, Math.min(1000, Math.floor(bytes / pageSize)))}`);
  db.pragma(`journal_size_limit = ${Math.max(64 * 1024, Math.floor(bytes))}`);
}
