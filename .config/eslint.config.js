import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

// kept under .config/ so the top level holds only what the card names; paths are the repo's
const root = fileURLToPath(new URL('..', import.meta.url));

export default tseslint.config(
  { ignores: ['node_modules/**', '.scratch/**', 'test-results/**', 'dist/**', 'data/**', 'coverage/**', '**/*.mjs', '**/*.js', 'dashboards/**/vendor/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The KPI engine and the sample model are pure: no driver, database or HTTP code.
    files: ['agent/kpi/**/*.ts', 'agent/model/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/drivers/**', '**/buffer/**', '**/http/**', '**/runtime/**', '**/cli/**'], message: 'The KPI engine and sample model import no driver, database or HTTP code.' },
          { group: ['better-sqlite3', 'fastify', 'mqtt', 'node-opcua', 'aedes', 'node:fs', 'fs'], message: 'The KPI engine and sample model are pure.' },
        ],
      }],
    },
  },
  {
    // A driver knows the sample model, the error catalogue and the contract in drivers/ itself.
    files: ['drivers/**/*.ts'],
    ignores: ['drivers/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: '^(\\.\\./)+agent/(?!model/|errors\\.ts$)', message: 'Drivers import from agent/ only agent/model/ and agent/errors.ts; pass anything else in through DriverContext.' }],
      }],
    },
  },
  {
    // driver tests may commit into a real buffer (ack-after-commit, dead letters), nothing more
    files: ['drivers/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: '^(\\.\\./)+agent/(?!model/|errors\\.ts$|buffer/)', message: 'Driver tests import from agent/ only the model, the errors and the buffer.' }],
      }],
    },
  },
  {
    // http/ and forward/ get narrow ports (agent/http/ports.ts); the runtime wires them, so
    // importing it back would make a circle. Tests that start a whole Agent are exempt.
    files: ['agent/http/**/*.ts', 'agent/forward/**/*.ts'],
    ignores: ['agent/http/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/runtime/**'], message: 'agent/http and agent/forward take ports, never agent/runtime.' }],
      }],
    },
  },
  {
    // the Plant is built first and read by everything else: it depends on none of them
    files: ['agent/plant/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/http/**', '**/runtime/**', '**/buffer/**', '**/forward/**', '**/cli/**'], message: 'The plant model imports no HTTP, runtime, buffer, forwarder or CLI code.' }],
      }],
    },
  },
);
