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
);
