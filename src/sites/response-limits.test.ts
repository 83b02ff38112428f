import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { setImmediate as tick } from 'node:timers/promises';

import { describe, expect, it } from '@jest/globals';

import {
  ResponseTooLargeError,
  declaredLength,
  formatBytes,
  limitReadable,
  readBounded,
  readPrefix,
} from './response-limits.js';

/** An endless body of 64 KiB chunks that records how many were pulled. */
function endless() {
  const state = { pulled: 0, closed: false };
  const body = (async function* () {
    try {
      for (;;) {
        await tick(); // as from a network
        state.pulled++;
        yield Buffer.alloc(64 * 1024, 'x');
      }
    } finally {
      state.closed = true;
    }
  })();
  return { body, state };
}

describe('readBounded', () => {
  it('returns a body within the cap', async () => {
    const body = Readable.from([Buffer.from('abc'), Buffer.from('def')]);
    expect((await readBounded(body, 6)).toString()).toBe('abcdef');
  });

  it('refuses past the cap and stops reading the rest', async () => {
    const { body, state } = endless();
    await expect(readBounded(body, 1024 * 1024)).rejects.toThrow(
      new ResponseTooLargeError(1024 * 1024),
    );
    expect(state.pulled).toBe(17); // 16 chunks fill 1 MiB, the 17th passes it
    expect(state.closed).toBe(true);
  });
});

describe('readPrefix', () => {
  it('keeps the first bytes and drops the rest', async () => {
    const { body, state } = endless();
    const head = await readPrefix(body, 100_000);
    expect(head.length).toBe(100_000);
    expect(state.closed).toBe(true);
    expect(state.pulled).toBe(2);
  });
});

describe('limitReadable', () => {
  it('passes a body within the cap through', async () => {
    expect(await text(limitReadable(Readable.from(['ab', 'cd']), 4))).toBe('abcd');
  });

  it('fails past the cap and destroys the source', async () => {
    const source = Readable.from(endless().body);
    const limited = limitReadable(source, 256 * 1024);
    await expect(text(limited)).rejects.toBeInstanceOf(ResponseTooLargeError);
    expect(source.destroyed).toBe(true);
  });
});

describe('declaredLength and formatBytes', () => {
  it('reads only plain decimal lengths', () => {
    expect(declaredLength('1234')).toBe(1234);
    expect(declaredLength(' 7 ')).toBe(7);
    for (const v of [null, undefined, '', '-1', '1e9', 'abc', '12345678901234567890'])
      expect(declaredLength(v)).toBeUndefined();
  });

  it('names sizes as people read them', () => {
    expect(formatBytes(8 * 1024 * 1024)).toBe('8 MiB');
    expect(formatBytes(1.5 * 1024 * 1024)).toBe('1.5 MiB');
    expect(formatBytes(64 * 1024)).toBe('64 KiB');
    expect(formatBytes(300)).toBe('300 bytes');
  });
});
