import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['agent/**/*.test.ts', 'drivers/**/*.test.ts', 'config/**/*.test.ts', 'dashboards/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    env: { NODEOPCUA_LOG_LEVEL: process.env.NODEOPCUA_LOG_LEVEL ?? '3' },
  },
});
