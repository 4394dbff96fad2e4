export * from './modbus-driver.ts';
export * from './register-plan.ts';
