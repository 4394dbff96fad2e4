export * from './sparkplug-decode.ts';
export * from './sparkplug-host.ts';
