export * from './sample.ts';
export * from './order-event.ts';
