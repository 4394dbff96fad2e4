/** The fleet's storage (DESIGN.md §6 "Fleet"): the port and its PostgreSQL and SQLite implementations. */
export * from './fleet-store.ts';
export { PgStore, PG_STORE_DEFAULTS, redact } from './pg-store.ts';
export { SqliteStore, SQLITE_STORE_FILE } from './sqlite-store.ts';
export { openFleetStore } from './open-store.ts';
