import { gzipSync } from 'node:zlib';

import { describe, expect, it } from '@jest/globals';

import {
  CheckpointDecodeError,
  decodeCheckpoint,
  emptyCheckpoint,
  encodeCheckpoint,
  reverseRoute,
} from './copy-checkpoint.js';

const route = { bucket: 'b', source: 'minio', destination: 'aws', range: { after: 'k1' } };

describe('copier checkpoints', () => {
  it('round-trip, any key included', () => {
    const c = emptyCheckpoint(route);
    c.keys['__proto__'] = { h: ['v1'], t: 5, m: [['v1', 'r1']] };
    c.keys['plain'] = { h: ['v2'] };
    const back = decodeCheckpoint(encodeCheckpoint(c), route);
    expect(Object.keys(back.keys).sort()).toEqual(['__proto__', 'plain']);
    expect(back.keys['__proto__']).toEqual({ h: ['v1'], t: 5, m: [['v1', 'r1']] });
  });

  it('belong to one route: the reverse direction or another range is refused', () => {
    const data = encodeCheckpoint(emptyCheckpoint(route));
    expect(() => decodeCheckpoint(data, reverseRoute(route))).toThrow(
      /not of bucket b aws -> minio/,
    );
    expect(() => decodeCheckpoint(data, { ...route, range: {} })).toThrow(CheckpointDecodeError);
  });

  it('refuse what is not a checkpoint, naming the field', () => {
    expect(() => decodeCheckpoint(Buffer.from('nope'), route)).toThrow(/not gzipped JSON/);
    const bad = gzipSync(JSON.stringify({ ...emptyCheckpoint(route), keys: { k: { h: 'x' } } }));
    expect(() => decodeCheckpoint(bad, route)).toThrow(/keys\.k\.h/);
  });
});
