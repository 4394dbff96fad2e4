export * from './forwarder.ts';
export * from './kpi-snapshots.ts';
