export * from './opcua-driver.ts';
export * from './opcua-driver-options.ts';
