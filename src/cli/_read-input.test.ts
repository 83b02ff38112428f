import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from '@jest/globals';

import { MAX_INPUT_BYTES, decodeText, readBytes, readInput } from './_read-input.js';

const dir = mkdtempSync(join(tmpdir(), 'sitesync-read-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string, content: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe('readBytes', () => {
  it('reads a file whole', () => {
    expect(readBytes(file('a.yaml', 'a: 1\n'))).toEqual(Buffer.from('a: 1\n'));
  });

  it('names what is wrong, in words', () => {
    expect(readBytes(join(dir, 'missing.yaml'))).toBe('cannot read: no such file');
    expect(readBytes(dir)).toBe('cannot read: is a directory, not a file');
    expect(readBytes(join(file('plain', 'x'), 'below'))).toBe(
      'cannot read: a part of the path is not a directory',
    );
  });

  it('refuses a file over the limit without reading it all', () => {
    const path = file('big.yaml', 'x'.repeat(1025));
    expect(readBytes(path, 1024)).toBe(
      'the file is larger than 0.0009765625 MiB, more than any manifest of these kinds can be',
    );
    expect(readBytes(path, 1025)).toHaveLength(1025);
    expect(MAX_INPUT_BYTES).toBe(8 * 1024 * 1024);
  });

  it('refuses an unreadable file (when not root, who reads everything)', () => {
    const path = file('secret.yaml', 'a: 1');
    chmodSync(path, 0);
    const r = readBytes(path);
    if (process.getuid?.() === 0) expect(r).toEqual(Buffer.from('a: 1'));
    else expect(r).toBe('cannot read: permission denied');
  });
});

describe('decodeText', () => {
  it('takes UTF-8 text and drops a byte-order mark', () => {
    expect(decodeText(Buffer.from('\uFEFFkind: é'))).toEqual({ ok: true, text: 'kind: é' });
  });

  it('refuses binary content and invalid UTF-8', () => {
    expect(decodeText(Uint8Array.of(0x61, 0, 0x62))).toEqual({
      ok: false,
      message: 'not a text file: it holds NUL bytes (binary content?)',
    });
    expect(decodeText(Uint8Array.of(0x61, 0xff, 0x62))).toEqual({
      ok: false,
      message: 'not a text file: it is not valid UTF-8',
    });
  });

  it('readInput combines both', () => {
    expect(readInput(file('bin', Uint8Array.of(0xc3)))).toEqual({
      ok: false,
      message: 'not a text file: it is not valid UTF-8',
    });
  });
});
