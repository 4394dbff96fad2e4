export * from './server.ts';
export type * from './ports.ts';
