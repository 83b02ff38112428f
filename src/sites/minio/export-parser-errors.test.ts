import { describe, expect, it } from '@jest/globals';

import { ExportFormatError, parseIamExport } from './export-parser.js';

const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCY';

/** Every substring of `s` of `n` characters. */
const pieces = (s: string, n: number) =>
  Array.from({ length: s.length - n + 1 }, (_, i) => s.slice(i, i + n));

describe('an export that is not what MinIO writes', () => {
  it('malformed JSON next to a secret key: the error names the file, not what it holds', () => {
    const files = new Map(
      ['policies.json', 'groups.json', 'user_mappings.json', 'group_mappings.json']
        .concat(['stsuser_mappings.json', 'svcaccts.json'])
        .map((f) => [`iam-assets/${f}`, Buffer.from('{}')] as const),
    );
    files.set(
      'iam-assets/users.json',
      Buffer.from(`{"alice":{"status":"enabled","secretKey":${SECRET}}}`),
    );
    let caught: unknown;
    try {
      parseIamExport(files);
    } catch (e: unknown) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ExportFormatError);
    const text = (caught as Error).message;
    expect(text).toMatch(
      /^iam-assets\/users\.json in the export is not valid JSON( at byte \d+)?$/,
    );
    expect(pieces(SECRET, 5).filter((p) => text.includes(p))).toEqual([]);
  });
});
