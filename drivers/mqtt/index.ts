export * from './mqtt-driver.ts';
export * from './mqtt-ingest.ts';
export * from './topic-mapping.ts';
