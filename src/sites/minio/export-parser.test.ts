import { describe, expect, it } from '@jest/globals';

import { parseIamExport } from './export-parser.js';

const FILES = [
  'policies.json',
  'users.json',
  'groups.json',
  'svcaccts.json',
  'user_mappings.json',
  'group_mappings.json',
  'stsuser_mappings.json',
];

const complete = () =>
  new Map(
    FILES.map((f) => [
      `iam-assets/${f}`,
      Buffer.from(f === 'users.json' ? '{"alice":{"secretKey":"x","status":"enabled"}}' : '{}'),
    ]),
  );

describe('parseIamExport', () => {
  it('reads a complete export', () => {
    expect([...parseIamExport(complete()).users.keys()]).toEqual(['alice']);
  });

  it.each(FILES)('refuses an export without %s instead of reading "none"', (missing) => {
    const files = complete();
    files.delete(`iam-assets/${missing}`);
    expect(() => parseIamExport(files)).toThrow(`iam-assets/${missing} is missing`);
  });
});
