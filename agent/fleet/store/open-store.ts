/** PostgreSQL when `database.url` is set, else SQLite in the fleet's data folder (the embedded default). */
import type { FleetStore } from './fleet-store.ts';
import { PgStore } from './pg-store.ts';
import { SqliteStore } from './sqlite-store.ts';

export async function openFleetStore(database: { url?: string | undefined; schema: string }, dataDir: string, applicationName: string): Promise<FleetStore> {
  return database.url !== undefined ? PgStore.open({ url: database.url, schema: database.schema, applicationName }) : SqliteStore.open(dataDir);
}
