import { Writable } from 'node:stream';

import { describe, expect, it } from '@jest/globals';

import { newLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, log: newLogger('debug', sink) };
}

describe('logger', () => {
  it('redacts credential fields at any depth we configure', async () => {
    const { lines, log } = capture();
    log.info(
      {
        site: { name: 'a', secretKey: 's3cr3t-value', accessKey: 'AKIA-VALUE' },
        secret: { data: { secretKey: 'c2VjcmV0' } },
        password: 'hunter2',
      },
      'Observed site',
    );
    await new Promise((r) => setImmediate(r));
    const text = lines.join('');
    for (const s of ['s3cr3t-value', 'AKIA-VALUE', 'c2VjcmV0', 'hunter2'])
      expect(text).not.toContain(s);
    expect(JSON.parse(text)).toMatchObject({
      level: 'info',
      msg: 'Observed site',
      site: { name: 'a' },
    });
  });
});
