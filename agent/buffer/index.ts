export * from './sqlite-buffer.ts';
export * from './batch-writer.ts';
export { SCHEMA_VERSION } from './migrations.ts';
