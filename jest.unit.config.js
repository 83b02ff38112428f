import base from './jest.base.config.js';

/** Unit tests sit beside the code and touch no network. */
export default { ...base, roots: ['<rootDir>/src'], testMatch: ['**/*.test.ts'] };
