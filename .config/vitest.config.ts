import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// kept under .config/ so the top level holds only what the card names

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['agent/**/*.test.ts', 'drivers/**/*.test.ts', 'config/**/*.test.ts', 'dashboards/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    env: { NODEOPCUA_LOG_LEVEL: process.env.NODEOPCUA_LOG_LEVEL ?? '3' },
  },
});
