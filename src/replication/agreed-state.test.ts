import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import {
  ABSENT,
  AGREED_STATE_KEY,
  type AgreedState,
  AgreedStateDecodeError,
  agreedBase,
  agreedDigest,
  decodeAgreedState,
  emptyAgreedState,
  encodeAgreedState,
  recordedIdentity,
  siteDeviations,
} from './agreed-state.js';

const MiB = 1024 * 1024;

const sample: AgreedState = {
  entities: { 'bucket:photos': 'aa11', 'user:alice': 'bb22' },
  deviations: { b: { 'bucket:photos': ABSENT }, c: { 'user:alice': 'cc33' } },
  joined: ['a', 'b', 'c'],
  sequence: 42,
};

/** Stores `doc` as the ConfigMap would hold it, without any check. */
const stored = (doc: unknown) => ({
  [AGREED_STATE_KEY]: gzipSync(Buffer.from(JSON.stringify(doc))).toString('base64'),
});

function decodeError(data: Record<string, string>): AgreedStateDecodeError {
  try {
    decodeAgreedState(data);
  } catch (e: unknown) {
    if (e instanceof AgreedStateDecodeError) return e;
    throw e;
  }
  throw new Error('decodeAgreedState did not throw');
}

describe('emptyAgreedState', () => {
  it('has nothing agreed, nobody joined, sequence 0', () => {
    expect(emptyAgreedState()).toEqual({ entities: {}, deviations: {}, joined: [], sequence: 0 });
  });

  it('returns a fresh object each time', () => {
    const a = emptyAgreedState();
    a.joined.push('x');
    expect(emptyAgreedState().joined).toEqual([]);
  });
});

describe('agreedDigest, agreedBase, siteDeviations', () => {
  it('reads the agreed digest, null when absent', () => {
    expect(agreedDigest(sample, 'bucket:photos')).toBe('aa11');
    expect(agreedDigest(sample, 'bucket:nope')).toBeNull();
  });

  it("reads a site's deviation first, ABSENT as null", () => {
    expect(agreedBase(sample, 'a', 'bucket:photos')).toBe('aa11');
    expect(agreedBase(sample, 'b', 'bucket:photos')).toBeNull();
    expect(agreedBase(sample, 'c', 'user:alice')).toBe('cc33');
    expect(agreedBase(sample, 'c', 'bucket:photos')).toBe('aa11');
  });

  it('never reads inherited properties as entries', () => {
    expect(agreedDigest(sample, 'constructor')).toBeNull();
    expect(agreedDigest(sample, 'toString')).toBeNull();
    expect(agreedBase(sample, 'hasOwnProperty', 'toString')).toBeNull();
    expect(siteDeviations(sample, '__proto__')).toEqual({});
    expect(siteDeviations(sample, 'c')).toEqual({ 'user:alice': 'cc33' });
  });
});

describe('format 2: identities, members, adopting, refill', () => {
  const member = {
    endpoint: 'http://d:9000',
    flavor: 'minio' as const,
    region: 'us-east-1',
    credentialsSecret: { name: 'd-creds', accessKeyKey: 'accessKey', secretKeyKey: 'secretKey' },
  };
  const v2: AgreedState = {
    ...sample,
    identities: { a: 'id-a', b: 'id-b' },
    members: { d: { ...member, removed: true } },
    adopting: ['c'],
    refill: ['b'],
  };

  it('round-trips', () => {
    expect(decodeAgreedState(encodeAgreedState(v2))).toEqual(v2);
    expect(recordedIdentity(v2, 'a')).toBe('id-a');
    expect(recordedIdentity(v2, 'c')).toBeUndefined();
    expect(recordedIdentity(sample, 'a')).toBeUndefined();
  });

  it('reads format 1, which knows no identities yet', () => {
    const v1 = { version: 1, sequence: 3, joined: ['a'], entities: { k: 'd' }, deviations: {} };
    expect(decodeAgreedState(stored(v1))).toEqual({
      entities: { k: 'd' },
      deviations: {},
      joined: ['a'],
      sequence: 3,
    });
  });

  it('refuses a member that is not a site', () => {
    const doc = JSON.parse(
      gunzipSync(Buffer.from(encodeAgreedState(v2)[AGREED_STATE_KEY] ?? '', 'base64')).toString(),
    ) as Record<string, unknown>;
    const bad = { ...doc, members: { d: { endpoint: 'ftp://x' } } };
    expect(decodeError(stored(bad)).message).toMatch(/members\["d"\] is not a site/);
  });
});

describe('encodeAgreedState / decodeAgreedState', () => {
  it('stores gzipped JSON, base64, under state.json.gz', () => {
    const data = encodeAgreedState(sample);
    expect(Object.keys(data)).toEqual(['state.json.gz']);
    expect(data[AGREED_STATE_KEY]).toMatch(/^H4sI/); // base64 of the gzip magic 1f 8b 08
    expect(decodeAgreedState(data)).toEqual(sample);
  });

  it('decodes an absent ConfigMap, or one without the key, to the empty state', () => {
    expect(decodeAgreedState(undefined)).toEqual(emptyAgreedState());
    expect(decodeAgreedState({})).toEqual(emptyAgreedState());
    expect(decodeAgreedState({ other: 'x' })).toEqual(emptyAgreedState());
  });

  it('gives the same bytes whatever order the records were built in', () => {
    const reordered: AgreedState = {
      entities: { 'user:alice': 'bb22', 'bucket:photos': 'aa11' },
      deviations: { c: { 'user:alice': 'cc33' }, b: { 'bucket:photos': ABSENT } },
      joined: ['a', 'b', 'c'],
      sequence: 42,
    };
    expect(encodeAgreedState(reordered)).toEqual(encodeAgreedState(sample));
  });

  it('round-trips any state', () => {
    const arbRecord = fc.dictionary(fc.string(), fc.string(), { noNullPrototype: true });
    const arbState = fc.record({
      entities: arbRecord,
      deviations: fc.dictionary(fc.string(), arbRecord, { noNullPrototype: true }),
      joined: fc.array(fc.string()),
      sequence: fc.nat(),
      digestKeyId: fc.option(fc.string(), { nil: undefined }),
    });
    fc.assert(
      fc.property(arbState, (state) => {
        const { digestKeyId, ...rest } = state;
        const s = digestKeyId === undefined ? rest : state;
        expect(decodeAgreedState(encodeAgreedState(s))).toEqual(s);
      }),
    );
  });

  it('rejects what is not base64, gzip or JSON with a typed, clear error', () => {
    const notBase64 = decodeError({ [AGREED_STATE_KEY]: 'not base64!' });
    expect(notBase64.name).toBe('AgreedStateDecodeError');
    expect(notBase64.message).toBe(
      'Cannot decode the agreed state (ConfigMap key state.json.gz): the value is not base64',
    );
    const notGzip = decodeError({ [AGREED_STATE_KEY]: Buffer.from('hello').toString('base64') });
    expect(notGzip.message).toMatch(/not gzip data$/);
    expect(notGzip.cause).toMatchObject({ code: 'Z_DATA_ERROR' });
    const notJSON = decodeError({
      [AGREED_STATE_KEY]: gzipSync(Buffer.from('{oops')).toString('base64'),
    });
    expect(notJSON.message).toMatch(/not JSON$/);
  });

  it('names the field that has the wrong shape', () => {
    const good = { version: 1, sequence: 1, joined: [], entities: {}, deviations: {} };
    const cases: [unknown, RegExp][] = [
      [[], /the document is not an object/],
      [{ ...good, version: 3 }, /unsupported format version 3/],
      [{ ...good, digestKeyId: 7 }, /digestKeyId is not a string/],
      [{ ...good, version: 2 }, /identities is not an object/],
      [{ ...good, version: undefined }, /unsupported format version undefined/],
      [{ ...good, sequence: -1 }, /sequence is not a non-negative integer/],
      [{ ...good, sequence: 1.5 }, /sequence is not a non-negative integer/],
      [{ ...good, joined: 'a' }, /joined is not a list of site names/],
      [{ ...good, joined: [1] }, /joined is not a list of site names/],
      [{ ...good, entities: null }, /entities is not an object/],
      [{ ...good, entities: { 'bucket:a': 1 } }, /entities\["bucket:a"\] is not a string/],
      [{ ...good, deviations: [] }, /deviations is not an object/],
      [{ ...good, deviations: { b: 'x' } }, /deviations\["b"\] is not an object/],
      [{ ...good, deviations: { b: { k: {} } } }, /deviations\["b"\]\["k"\] is not a string/],
    ];
    for (const [doc, message] of cases) expect(decodeError(stored(doc)).message).toMatch(message);
    expect(decodeAgreedState(stored(good))).toEqual({ ...emptyAgreedState(), sequence: 1 });
  });
});

describe('agreed state size', () => {
  const KINDS = ['policy:', 'user:', 'group:', 'svcacct:', 'mapping:user:', 'bucket:'];
  const hex = (seed: string, length: number) =>
    createHash('sha256').update(seed).digest('hex').slice(0, length);

  /** 10 000 entities on 32 joined sites; each site has deviations, one missed `missed` changes. */
  function bigState(digestLength: number, perSite: number, missed: number): AgreedState {
    const keys = Array.from({ length: 10_000 }, (_, i) =>
      i < 4000
        ? `bucket:bucket-${String(i >> 2).padStart(5, '0')}${['', '/policy', '/tags', '/encryption'][i % 4] ?? ''}`
        : `${KINDS[i % KINDS.length] ?? ''}name-${i}`,
    );
    const sites = Array.from({ length: 32 }, (_, i) => `site-${String(i).padStart(2, '0')}`);
    const entities = Object.fromEntries(keys.map((k) => [k, hex(k, digestLength)]));
    const deviations = Object.fromEntries(
      sites.map((site, s) => {
        const count = s === 31 ? missed : perSite;
        const picked = Array.from({ length: count }, (_, j) => keys[(s * 997 + j * 31) % 10_000]);
        return [
          site,
          Object.fromEntries(
            picked.map((k = '', j) => [k, j % 3 ? hex(k + site, digestLength) : ABSENT]),
          ),
        ];
      }),
    );
    return { entities, deviations, joined: sites, sequence: 1_234_567 };
  }

  const size = (state: AgreedState) =>
    Object.entries(encodeAgreedState(state)).reduce((n, [k, v]) => n + k.length + v.length, 0);

  it('keeps 10 000 entities on 32 sites well under the 1 MiB ConfigMap limit', () => {
    // Short digests, as the operator computes them; 100 deviations per site, and one site that
    // missed a change to every entity.
    const state = bigState(16, 100, 10_000);
    expect(size(state)).toBeLessThan(MiB / 2);
    expect(decodeAgreedState(encodeAgreedState(state))).toEqual(state);
  });

  it('fits under 1 MiB even with full SHA-256 digests', () => {
    expect(size(bigState(64, 100, 1000))).toBeLessThan(MiB);
  });
});
