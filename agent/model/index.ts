export * from './sample.ts';
export * from './order-event.ts';
export * from './input-checks.ts';
