export * from './opcua-driver.ts';
