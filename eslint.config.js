import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.stack/', 'crds/', 'charts/'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      complexity: ['error', 12],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'max-params': ['error', 4],
    },
  },
  // Layers (docs/decisions.md #14): controllers -> runtime, sites (the SiteClient port, never a
  // driver), replication, api; sites, replication -> api; runtime and api -> nothing of ours.
  // A module whose name starts with `_` is private to its folder.
  {
    files: ['src/runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/controllers/**', '**/sites/**', '**/replication/**', '**/api/**'],
              message: 'runtime is generic: it knows no CRD, site or plan',
            },
            { group: ['../**/_*', '../_*'], message: 'a _module is private to its folder' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/controllers/**', '**/runtime/**', '**/sites/**', '**/replication/**'],
              message: 'api is the bottom layer',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/sites/**/*.ts', 'src/replication/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/controllers/**', '**/runtime/**'],
              message: 'sites and replication depend on api only',
            },
            { group: ['../**/_*', '../_*'], message: 'a _module is private to its folder' },
          ],
        },
      ],
    },
  },
  {
    // A controller talks to sites through SiteClient and its capabilities, never a driver; a
    // kind's folder imports nothing from another kind's folder (shared pieces live outside).
    files: ['src/controllers/**/*.ts'],
    ignores: ['src/controllers/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/sites/minio/**',
                '**/sites/s3/**',
                '**/sites/new-site-client*',
                '**/sites/s3-*',
              ],
              message:
                'controllers use the SiteClient port (sites/site-client.ts) and its capabilities, never a driver',
            },
            {
              group: [
                '../site-replication-group/**',
                '../bucket-replication/**',
                '../identity-provider/**',
              ],
              message:
                'a controller folder imports nothing from another: give what two kinds share a home outside both',
            },
            { group: ['../**/_*', '../_*'], message: 'a _module is private to its folder' },
          ],
        },
      ],
    },
  },
  {
    // Outside the controllers (main, the CLI, tests), a kind's folder is entered through its
    // public modules only.
    files: ['src/*.ts', 'src/cli/**/*.ts', 'src/observe/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/controllers/**/_*', '**/src/**/_*'],
              message: 'a _module is private to its folder',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' },
    },
  },
  {
    // Tests may assert presence with `!` after an expect; production code may not.
    files: ['test/**/*.ts', 'src/**/*.test.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  prettier,
);
