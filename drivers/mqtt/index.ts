export * from './mqtt-driver.ts';
export * from './topic-mapping.ts';
