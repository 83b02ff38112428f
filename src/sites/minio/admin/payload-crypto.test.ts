import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import {
  HEADER_SIZE,
  MIN_PAYLOAD_SIZE,
  PayloadAlgorithm,
  PayloadCryptoError,
  SALT_SIZE,
  SIO_BUF_SIZE,
  TAG_SIZE,
  createAead,
  decryptPayload,
  deriveKey,
  encryptPayload,
  isEncryptedPayload,
  openEnvelope,
  openStream,
  parseEnvelope,
  sealEnvelope,
  sealStream,
  streamOverhead,
  type Aead,
  type AeadCipher,
  type PayloadAlgorithmId,
} from './payload-crypto.js';

// argon2id with 64 MiB costs ~75 ms per derivation; tests that derive keys get room to breathe.
const SLOW = 30_000;
const ALGORITHMS: readonly PayloadAlgorithmId[] = [0x00, 0x01, 0x02];
const BOUNDARY_SIZES = [0, 1, 16383, 16384, 16385, 32767, 32768, 32769, 49152, 49153] as const;

function loadJson(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8'));
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The plaintext of the Go-generated vectors: byte i = (7i + 3) mod 256. */
function patternBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (7 * i + 3) & 0xff;
  return b;
}

/** Deterministic filler for large property-test payloads (xorshift32). */
function seededBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

async function expectCryptoError(
  promise: Promise<unknown>,
  kind: PayloadCryptoError['kind'],
  message?: string,
): Promise<PayloadCryptoError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PayloadCryptoError);
  const err = e as PayloadCryptoError;
  expect(err.kind).toBe(kind);
  if (message !== undefined) expect(err.message).toContain(message);
  return err;
}

function expectSyncCryptoError(fn: () => unknown, kind: PayloadCryptoError['kind']): void {
  let caught: unknown;
  try {
    fn();
  } catch (e: unknown) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(PayloadCryptoError);
  expect((caught as PayloadCryptoError).kind).toBe(kind);
}

// --- XChaCha20-Poly1305 for the sio-go vectors, built from node:crypto's chacha20 ----------------

const CHACHA_CONSTANTS = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;

/** HChaCha20: one ChaCha20 block with the feed-forward addition of the input undone. */
function hchacha20(key: Uint8Array, nonce16: Uint8Array): Buffer {
  const iv = Buffer.from(nonce16);
  const block = createCipheriv('chacha20', key, iv).update(Buffer.alloc(64));
  const out = Buffer.alloc(32);
  CHACHA_CONSTANTS.forEach((c, i) => {
    out.writeUInt32LE((block.readUInt32LE(4 * i) - c) >>> 0, 4 * i);
    out.writeUInt32LE((block.readUInt32LE(48 + 4 * i) - iv.readUInt32LE(4 * i)) >>> 0, 16 + 4 * i);
  });
  return out;
}

function createXChaCha20Poly1305(key: Uint8Array): Aead {
  const inner = (nonce: Uint8Array): [Aead, Buffer] => [
    createAead('chacha20-poly1305', hchacha20(key, nonce.subarray(0, 16))),
    Buffer.concat([Buffer.alloc(4), nonce.subarray(16, 24)]),
  ];
  return {
    nonceSize: 24,
    tagSize: TAG_SIZE,
    seal(nonce, plaintext, ad) {
      const [aead, n] = inner(nonce);
      return aead.seal(n, plaintext, ad);
    },
    open(nonce, ciphertext, ad) {
      const [aead, n] = inner(nonce);
      return aead.open(n, ciphertext, ad);
    },
  };
}

// --- sio-go stream ------------------------------------------------------------------------------

interface SioVector {
  algorithm: string;
  bufSize: number;
  key: string;
  nonce: string;
  associatedData: string;
  plaintext: string;
  ciphertext: string;
}

const sioVectors = (loadJson('sio-go-vectors.json') as { vectors: SioVector[] }).vectors;

function sioAead(v: SioVector): Aead {
  return v.algorithm === 'AES-128-GCM'
    ? createAead('aes-128-gcm', hex(v.key))
    : createXChaCha20Poly1305(hex(v.key));
}

describe('sio-go stream', () => {
  it('has the 14 AES-128-GCM and 14 XChaCha20-Poly1305 vectors of sio-go', () => {
    expect(sioVectors.filter((v) => v.algorithm === 'AES-128-GCM')).toHaveLength(14);
    expect(sioVectors.filter((v) => v.algorithm === 'XChaCha20-Poly1305')).toHaveLength(14);
  });

  it('computes HChaCha20 as in draft-irtf-cfrg-xchacha §2.2.1', () => {
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const out = hchacha20(key, hex('000000090000004a0000000031415927'));
    expect(out.toString('hex')).toBe(
      '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc',
    );
  });

  it.each(sioVectors.map((v, i) => [i, v.algorithm, v] as const))(
    'vector %i (%s) seals and opens',
    (_i, _alg, v) => {
      const aead = sioAead(v);
      const options = { bufSize: v.bufSize, associatedData: hex(v.associatedData) };
      const sealed = sealStream(aead, hex(v.nonce), hex(v.plaintext), options);
      expect(sealed.toString('hex')).toBe(v.ciphertext);
      expect(openStream(aead, hex(v.nonce), hex(v.ciphertext), options).toString('hex')).toBe(
        v.plaintext,
      );
      const tampered = hex(v.ciphertext);
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
      expectSyncCryptoError(
        () => openStream(aead, hex(v.nonce), tampered, options),
        'NotAuthentic',
      );
      const wrongAd = {
        ...options,
        associatedData: Buffer.concat([hex(v.associatedData), hex('00')]),
      };
      expectSyncCryptoError(
        () => openStream(aead, hex(v.nonce), hex(v.ciphertext), wrongAd),
        'NotAuthentic',
      );
    },
  );

  it('computes the overhead as sio-go Stream.Overhead does', () => {
    expect(streamOverhead(0)).toBe(16);
    expect(streamOverhead(1)).toBe(16);
    expect(streamOverhead(16384)).toBe(16);
    expect(streamOverhead(16385)).toBe(32);
    expect(streamOverhead(32768)).toBe(32);
    expect(streamOverhead(17, 16)).toBe(32);
  });

  it('rejects bad nonce sizes, buffer sizes and key sizes', () => {
    const aead = createAead('aes-256-gcm', Buffer.alloc(32));
    expectSyncCryptoError(
      () => sealStream(aead, Buffer.alloc(12), Buffer.alloc(1)),
      'InvalidArgument',
    );
    expectSyncCryptoError(
      () => openStream(aead, Buffer.alloc(7), Buffer.alloc(16)),
      'InvalidArgument',
    );
    expectSyncCryptoError(
      () => sealStream(aead, Buffer.alloc(8), Buffer.alloc(1), { bufSize: 0 }),
      'InvalidArgument',
    );
    expectSyncCryptoError(
      () => sealStream(aead, Buffer.alloc(8), Buffer.alloc(1), { bufSize: 1 << 24 }),
      'InvalidArgument',
    );
    expectSyncCryptoError(() => createAead('aes-256-gcm', Buffer.alloc(16)), 'InvalidArgument');
    expectSyncCryptoError(
      () => createAead('chacha20-poly1305', Buffer.alloc(31)),
      'InvalidArgument',
    );
  });

  interface StreamCase {
    cipher: AeadCipher;
    keySeed: number;
    nonce: Uint8Array;
    ad: Uint8Array;
    bufSize: number;
    plaintext: Uint8Array;
  }

  const streamCase: fc.Arbitrary<StreamCase> = fc.record({
    cipher: fc.constantFrom<AeadCipher>('aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'),
    keySeed: fc.integer(),
    nonce: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    ad: fc.uint8Array({ maxLength: 40 }),
    bufSize: fc.integer({ min: 1, max: 48 }),
    plaintext: fc.uint8Array({ maxLength: 200 }),
  });

  function streamFor(c: StreamCase): { aead: Aead; sealed: Buffer } {
    const aead = createAead(c.cipher, seededBytes(c.cipher === 'aes-128-gcm' ? 16 : 32, c.keySeed));
    const sealed = sealStream(aead, c.nonce, c.plaintext, {
      bufSize: c.bufSize,
      associatedData: c.ad,
    });
    return { aead, sealed };
  }

  it('round-trips with any buffer size, and has the advertised length (property)', () => {
    fc.assert(
      fc.property(streamCase, (c) => {
        const { aead, sealed } = streamFor(c);
        expect(sealed.length).toBe(
          c.plaintext.length + streamOverhead(c.plaintext.length, c.bufSize),
        );
        const opened = openStream(aead, c.nonce, sealed, {
          bufSize: c.bufSize,
          associatedData: c.ad,
        });
        expect(opened.equals(Buffer.from(c.plaintext))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('detects any bit flip, truncation or extension (property)', () => {
    fc.assert(
      fc.property(streamCase, fc.nat(), fc.integer({ min: 0, max: 7 }), (c, at, bit) => {
        const { aead, sealed } = streamFor(c);
        const options = { bufSize: c.bufSize, associatedData: c.ad };
        const flipped = Buffer.from(sealed);
        const pos = at % flipped.length;
        flipped[pos] = (flipped[pos] ?? 0) ^ (1 << bit);
        expectSyncCryptoError(() => openStream(aead, c.nonce, flipped, options), 'NotAuthentic');
        const cut = sealed.subarray(0, at % sealed.length);
        expectSyncCryptoError(() => openStream(aead, c.nonce, cut, options), 'NotAuthentic');
        const longer = Buffer.concat([sealed, Buffer.from([bit])]);
        expectSyncCryptoError(() => openStream(aead, c.nonce, longer, options), 'NotAuthentic');
      }),
      { numRuns: 100 },
    );
  });
});

// --- madmin-go known answers ---------------------------------------------------------------------

interface MadminVector {
  password: string;
  plaintextZeros: number;
  envelope: string;
}

interface GoVector {
  algorithm: PayloadAlgorithmId;
  password: string;
  salt: string;
  nonce: string;
  key: string;
  plaintextLength: number;
  envelope?: string;
  envelopeLength: number;
  envelopeSha256: string;
}

const madminVectors = (loadJson('madmin-go-vectors.json') as { vectors: MadminVector[] }).vectors;
const goVectors = (loadJson('go-generated-vectors.json') as { vectors: GoVector[] }).vectors;

describe('madmin-go decryptDataTests', () => {
  it('has the 4 vectors of madmin-go', () => {
    expect(madminVectors).toHaveLength(4);
  });

  it.each(madminVectors.map((v, i) => [i, v] as const))(
    'vector %i decrypts to zero bytes and fails with another key',
    async (_i, v) => {
      const envelope = hex(v.envelope);
      expect(isEncryptedPayload(envelope)).toBe(true);
      expect(parseEnvelope(envelope).algorithm).toBe(PayloadAlgorithm.Argon2idAesGcm);
      const plaintext = await decryptPayload(envelope, v.password);
      expect(plaintext.equals(Buffer.alloc(v.plaintextZeros))).toBe(true);
      await expectCryptoError(
        decryptPayload(envelope, `${v.password}x`),
        'NotAuthentic',
        'authentication failed: wrong secret key or corrupted payload',
      );
    },
    SLOW,
  );
});

describe('Go-generated vectors (sio-go v0.3.1 + x/crypto, all three algorithm ids)', () => {
  const keyCases = [
    ...new Map(goVectors.map((v) => [`${String(v.algorithm)}/${v.salt}`, v] as const)).values(),
  ];

  it('cover ids 0x00, 0x01 and 0x02 with boundary sizes', () => {
    expect(new Set(goVectors.map((v) => v.algorithm))).toEqual(new Set(ALGORITHMS));
    expect(goVectors.map((v) => v.plaintextLength)).toEqual(expect.arrayContaining([16384, 16385]));
  });

  it.each(keyCases.map((v) => [v.algorithm, v.password, v] as const))(
    'derives the key for id %i, password %j',
    async (_alg, _pw, v) => {
      const key = await deriveKey(v.algorithm, v.password, hex(v.salt));
      expect(key.toString('hex')).toBe(v.key);
    },
    SLOW,
  );

  it.each(goVectors.map((v) => [v.algorithm, v.plaintextLength, v.password, v] as const))(
    'id %i, %i bytes, password %j: seals byte for byte like Go and opens again',
    (_alg, _n, _pw, v) => {
      const plaintext = patternBytes(v.plaintextLength);
      const params = {
        algorithm: v.algorithm,
        key: hex(v.key),
        salt: hex(v.salt),
        nonce: hex(v.nonce),
      };
      const envelope = sealEnvelope(params, plaintext);
      expect(envelope.length).toBe(v.envelopeLength);
      expect(sha256(envelope)).toBe(v.envelopeSha256);
      if (v.envelope !== undefined) expect(envelope.toString('hex')).toBe(v.envelope);
      expect(openEnvelope(parseEnvelope(envelope), hex(v.key)).equals(plaintext)).toBe(true);
    },
  );

  const endToEnd = goVectors.filter((v) => v.envelope !== undefined && v.plaintextLength === 33);

  it.each(endToEnd.map((v) => [v.algorithm, v.password, v] as const))(
    'decryptPayload opens the Go envelope for id %i, password %j',
    async (_alg, _pw, v) => {
      const plaintext = await decryptPayload(hex(v.envelope ?? ''), v.password);
      expect(plaintext.equals(patternBytes(v.plaintextLength))).toBe(true);
    },
    SLOW,
  );
});

// --- envelope errors -----------------------------------------------------------------------------

describe('decryptPayload errors', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  let sealed: Buffer; // two fragments, id 0x02 (cheap key derivation)

  beforeAll(async () => {
    sealed = await encryptPayload(seededBytes(SIO_BUF_SIZE + 100, 7), secret, { algorithm: 0x02 });
  });

  it.each([0, 1, 32, 40, 41, 56])('rejects a %i-byte payload as too short', async (n) => {
    const err = await expectCryptoError(
      decryptPayload(Buffer.alloc(n), secret),
      'TooShort',
      'payload too short',
    );
    expect(err.message).toContain(String(MIN_PAYLOAD_SIZE));
  });

  it.each([
    [0x03, '0x03'],
    [0x10, '0x10'],
    [0xff, '0xff'],
  ])('rejects algorithm id %i (%s)', async (id, shown) => {
    const data = Buffer.alloc(MIN_PAYLOAD_SIZE);
    data[SALT_SIZE] = id;
    expect(isEncryptedPayload(data)).toBe(false);
    await expectCryptoError(
      decryptPayload(data, secret),
      'UnknownAlgorithm',
      `unknown algorithm id ${shown}`,
    );
  });

  it('refuses to encrypt with an unknown algorithm id', async () => {
    const algorithm = 3 as PayloadAlgorithmId;
    await expectCryptoError(
      encryptPayload(Buffer.alloc(1), secret, { algorithm }),
      'UnknownAlgorithm',
      'unknown algorithm id 0x03',
    );
  });

  it('fails authentication on a wrong key and never shows the secret key', async () => {
    const err = await expectCryptoError(decryptPayload(sealed, 'not-the-secret'), 'NotAuthentic');
    expect(err.message).toBe('authentication failed: wrong secret key or corrupted payload');
    const shown = `${err.message} ${err.stack ?? ''} ${String(err.cause)}`;
    expect(shown).not.toContain(secret);
    expect(shown).not.toContain('not-the-secret');
  });

  it.each([
    ['salt', 0],
    ['nonce', SALT_SIZE + 1],
    ['first fragment', HEADER_SIZE + 5],
    ['first tag', HEADER_SIZE + SIO_BUF_SIZE + 3],
    ['final fragment', HEADER_SIZE + SIO_BUF_SIZE + TAG_SIZE + 1],
    ['final tag', -1],
  ])('fails authentication when the %s is modified', async (_where, at) => {
    const bad = Buffer.from(sealed);
    const pos = at < 0 ? bad.length + at : at;
    bad[pos] = (bad[pos] ?? 0) ^ 0x40;
    await expectCryptoError(decryptPayload(bad, secret), 'NotAuthentic');
  });

  it(
    'fails when the algorithm id is changed to another known id',
    async () => {
      const bad = Buffer.from(sealed);
      bad[SALT_SIZE] = 0x00;
      await expectCryptoError(decryptPayload(bad, secret), 'NotAuthentic');
    },
    SLOW,
  );

  it.each([
    ['the last byte cut off', (b: Buffer) => b.subarray(0, b.length - 1)],
    [
      'the final fragment cut off',
      (b: Buffer) => b.subarray(0, HEADER_SIZE + SIO_BUF_SIZE + TAG_SIZE),
    ],
    ['one byte appended', (b: Buffer) => Buffer.concat([b, Buffer.alloc(1)])],
    [
      'swapped fragments',
      (b: Buffer) => {
        const first = b.subarray(HEADER_SIZE, HEADER_SIZE + SIO_BUF_SIZE + TAG_SIZE);
        const second = b.subarray(HEADER_SIZE + SIO_BUF_SIZE + TAG_SIZE);
        return Buffer.concat([b.subarray(0, HEADER_SIZE), second, first]);
      },
    ],
  ])('fails authentication on a stream with %s', async (_what, mangle) => {
    await expectCryptoError(decryptPayload(mangle(sealed), secret), 'NotAuthentic');
  });

  it('still decrypts the untouched payload', async () => {
    expect((await decryptPayload(sealed, secret)).equals(seededBytes(SIO_BUF_SIZE + 100, 7))).toBe(
      true,
    );
  });
});

// --- round trips ---------------------------------------------------------------------------------

describe('encryptPayload / decryptPayload', () => {
  it(
    'writes id 0x00 by default and the requested id otherwise',
    async () => {
      const a = await encryptPayload(Buffer.from('{}'), 'secret');
      expect(a[SALT_SIZE]).toBe(0x00);
      expect(a.length).toBe(HEADER_SIZE + 2 + TAG_SIZE);
      const b = await encryptPayload(Buffer.from('{}'), 'secret');
      expect(a.subarray(0, SALT_SIZE).equals(b.subarray(0, SALT_SIZE))).toBe(false);
      expect(a.equals(b)).toBe(false);
      for (const algorithm of ALGORITHMS) {
        const c = await encryptPayload(Buffer.alloc(0), 'secret', { algorithm });
        expect(c[SALT_SIZE]).toBe(algorithm);
        expect(c.length).toBe(MIN_PAYLOAD_SIZE);
      }
    },
    SLOW,
  );

  it.each(ALGORITHMS.flatMap((alg) => [0, 16384, 16385].map((n) => [alg, n] as const)))(
    'round-trips end to end: id %i, %i bytes',
    async (algorithm, n) => {
      const plaintext = seededBytes(n, n + algorithm);
      const envelope = await encryptPayload(plaintext, 'minio123', { algorithm });
      expect(envelope.length).toBe(HEADER_SIZE + n + streamOverhead(n));
      expect((await decryptPayload(envelope, 'minio123')).equals(plaintext)).toBe(true);
    },
    SLOW,
  );

  it(
    'runs concurrent argon2 derivations one after another and gets them all right',
    async () => {
      const inputs = ['a', 'bb', 'ccc'].map((s) => Buffer.from(s));
      const sealed = await Promise.all(inputs.map((p) => encryptPayload(p, 'k')));
      const opened = await Promise.all(sealed.map((s) => decryptPayload(s, 'k')));
      expect(opened.map((b) => b.toString())).toEqual(['a', 'bb', 'ccc']);
    },
    SLOW,
  );

  it(
    'round-trips end to end for arbitrary payloads and secret keys (property, id 0x02)',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 2000 }),
          fc.string(),
          async (plaintext, secret) => {
            const envelope = await encryptPayload(plaintext, secret, { algorithm: 0x02 });
            expect((await decryptPayload(envelope, secret)).equals(Buffer.from(plaintext))).toBe(
              true,
            );
          },
        ),
        { numRuns: 20 },
      );
    },
    SLOW,
  );

  it(
    'round-trips end to end with argon2id (property, ids 0x00 and 0x01, few runs)',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<PayloadAlgorithmId>(0x00, 0x01),
          fc.uint8Array({ maxLength: 300 }),
          fc.string({ maxLength: 40 }),
          async (algorithm, plaintext, secret) => {
            const envelope = await encryptPayload(plaintext, secret, { algorithm });
            expect((await decryptPayload(envelope, secret)).equals(Buffer.from(plaintext))).toBe(
              true,
            );
          },
        ),
        { numRuns: 4 },
      );
    },
    SLOW,
  );

  describe('with one derived key per algorithm (stream layer, all sizes)', () => {
    const salt = Buffer.alloc(SALT_SIZE, 0x5a);
    const keys = new Map<PayloadAlgorithmId, Buffer>();

    beforeAll(async () => {
      for (const algorithm of ALGORITHMS) {
        keys.set(algorithm, await deriveKey(algorithm, 'minio123', salt));
      }
    }, SLOW);

    const size = fc.oneof(
      fc.constantFrom(...BOUNDARY_SIZES),
      fc.integer({ min: 0, max: 3 * SIO_BUF_SIZE + 17 }),
    );

    it.each(ALGORITHMS)('id %i round-trips payloads of any size (property)', (algorithm) => {
      const key = keys.get(algorithm) ?? Buffer.alloc(0);
      fc.assert(
        fc.property(
          size,
          fc.integer(),
          fc.uint8Array({ minLength: 8, maxLength: 8 }),
          (n, seed, nonce) => {
            const plaintext = seededBytes(n, seed);
            const envelope = sealEnvelope({ algorithm, key, salt, nonce }, plaintext);
            expect(envelope.length).toBe(HEADER_SIZE + n + streamOverhead(n));
            const parsed = parseEnvelope(envelope);
            expect(parsed.algorithm).toBe(algorithm);
            expect(openEnvelope(parsed, key).equals(plaintext)).toBe(true);
          },
        ),
        { numRuns: 20, examples: BOUNDARY_SIZES.map((n) => [n, 1, new Uint8Array(8)]) },
      );
    });
  });
});
