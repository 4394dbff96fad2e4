export * from './forwarder.ts';
export * from './forwarder-options.ts';
export * from './kpi-snapshots.ts';
export * from './confirmation.ts';
export * from './hour-publisher.ts';
export * from './plant-description.ts';
