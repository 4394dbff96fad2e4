export * from './sqlite-buffer.ts';
export * from './batch-writer.ts';
export { SCHEMA_VERSION } from './migrations.ts';
export * from './rollups.ts';
export { RollupStore } from './rollup-store.ts';
export * from './retention.ts';
export type { HourSeries, LocatedSample } from './kpi-reads.ts';
