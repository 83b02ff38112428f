import base from './jest.base.config.js';

/** Integration and end-to-end tests run against the real local stack, one file at a time. */
export default {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.int.test.ts', '**/*.e2e.test.ts'],
  testTimeout: 120_000,
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
};
