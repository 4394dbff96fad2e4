export * from './peers.ts';
export * from './plant.ts';
