/**
 * MinIO admin API payload encryption: madmin-go `EncryptData` / `DecryptData`.
 *
 * Envelope (reference minio-admin-api.md §2):
 *
 *   offset 0   32 bytes  salt, random per message
 *   offset 32   1 byte   algorithm id (0x00 argon2id + AES-256-GCM, 0x01 argon2id +
 *                        ChaCha20-Poly1305, 0x02 PBKDF2-SHA256 + AES-256-GCM)
 *   offset 33   8 bytes  stream nonce, random per message
 *   offset 41   …        secure-io/sio-go stream, no further header
 *
 * The sio-go stream splits the plaintext into fragments of `bufSize` bytes (16 KiB for madmin).
 * Every fragment is sealed with the AEAD nonce `streamNonce ‖ LE32(seq)` and the 17-byte
 * associated data `flag ‖ T`, where `T` is the tag of an empty message sealed with sequence
 * number 0 and the caller's associated data, `seq` counts from 1, and `flag` is 0x80 on the
 * final fragment and 0x00 on all others. All fragments but the last hold exactly `bufSize`
 * bytes; the last holds the rest and is never empty unless the whole plaintext is.
 *
 * The password is the secret key of the credential that signs the request. It never appears in
 * an error.
 */
import {
  argon2,
  createCipheriv,
  createDecipheriv,
  pbkdf2,
  randomBytes,
  type CipherKey,
} from 'node:crypto';

/** Algorithm ids of the madmin envelope. */
export const PayloadAlgorithm = {
  Argon2idAesGcm: 0x00,
  Argon2idChaCha20Poly1305: 0x01,
  Pbkdf2AesGcm: 0x02,
} as const;

export type PayloadAlgorithmId = (typeof PayloadAlgorithm)[keyof typeof PayloadAlgorithm];

export const SALT_SIZE = 32;
export const STREAM_NONCE_SIZE = 8;
export const HEADER_SIZE = SALT_SIZE + 1 + STREAM_NONCE_SIZE;
export const TAG_SIZE = 16;
/** sio-go `BufSize`, the plaintext bytes per fragment that madmin uses. */
export const SIO_BUF_SIZE = 1 << 14;
/** sio-go `MaxBufSize`. */
export const SIO_MAX_BUF_SIZE = (1 << 24) - 1;
/** The smallest envelope: header plus the tag of one empty final fragment. */
export const MIN_PAYLOAD_SIZE = HEADER_SIZE + TAG_SIZE;

const ARGON2ID_PASSES = 1;
const ARGON2ID_MEMORY_KIB = 64 * 1024;
const ARGON2ID_PARALLELISM = 4;
const PBKDF2_ITERATIONS = 8192;
const KEY_SIZE = 32;
const SEQ_SIZE = 4;
const MAX_SEQ = 0xffffffff;
const FLAG_MORE = 0x00;
const FLAG_FINAL = 0x80;

export type PayloadCryptoErrorKind =
  | 'TooShort'
  | 'UnknownAlgorithm'
  | 'NotAuthentic'
  | 'KeyDerivation'
  | 'Exceeded'
  | 'InvalidArgument';

/** The one error type of this module. Messages never contain key material. */
export class PayloadCryptoError extends Error {
  override readonly name = 'PayloadCryptoError';
  readonly kind: PayloadCryptoErrorKind;

  constructor(kind: PayloadCryptoErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

const NOT_AUTHENTIC_MESSAGE = 'authentication failed: wrong secret key or corrupted payload';

function throwNotAuthentic(cause?: unknown): never {
  throw new PayloadCryptoError(
    'NotAuthentic',
    NOT_AUTHENTIC_MESSAGE,
    cause === undefined ? undefined : { cause },
  );
}

// ---------------------------------------------------------------------------------------------
// AEAD over node:crypto

export type AeadCipher = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

/** A nonce-based AEAD with 16-byte tags appended to the ciphertext, like Go's cipher.AEAD. */
export interface Aead {
  readonly nonceSize: number;
  readonly tagSize: number;
  seal(nonce: Uint8Array, plaintext: Uint8Array, associatedData: Uint8Array): Buffer;
  /** Returns the plaintext, or throws a `PayloadCryptoError` of kind `NotAuthentic`. */
  open(nonce: Uint8Array, ciphertext: Uint8Array, associatedData: Uint8Array): Buffer;
}

const AEAD_KEY_SIZES: Readonly<Record<AeadCipher, number>> = {
  'aes-128-gcm': 16,
  'aes-256-gcm': 32,
  'chacha20-poly1305': 32,
};

// Both branches are the same call; the split lets TypeScript pick the GCM or the ChaCha20-Poly1305
// overload, whose results have setAAD/getAuthTag/setAuthTag.
function createCipher(cipher: AeadCipher, key: CipherKey, nonce: Uint8Array) {
  return cipher === 'chacha20-poly1305'
    ? createCipheriv(cipher, key, nonce, { authTagLength: TAG_SIZE })
    : createCipheriv(cipher, key, nonce, { authTagLength: TAG_SIZE });
}

function createDecipher(cipher: AeadCipher, key: CipherKey, nonce: Uint8Array) {
  return cipher === 'chacha20-poly1305'
    ? createDecipheriv(cipher, key, nonce, { authTagLength: TAG_SIZE })
    : createDecipheriv(cipher, key, nonce, { authTagLength: TAG_SIZE });
}

/**
 * Creates an AEAD with 12-byte nonces and 16-byte tags. The key is not copied: it must not
 * change while the AEAD is in use.
 */
export function createAead(cipher: AeadCipher, key: Uint8Array): Aead {
  const keySize = AEAD_KEY_SIZES[cipher];
  if (key.length !== keySize) {
    throw new PayloadCryptoError(
      'InvalidArgument',
      `${cipher} needs a ${String(keySize)}-byte key, got ${String(key.length)} bytes`,
    );
  }
  return {
    nonceSize: 12,
    tagSize: TAG_SIZE,
    seal(nonce, plaintext, associatedData) {
      const c = createCipher(cipher, key, nonce);
      c.setAAD(associatedData, { plaintextLength: plaintext.length });
      const head = c.update(plaintext);
      const tail = c.final();
      return Buffer.concat([head, tail, c.getAuthTag()]);
    },
    open(nonce, ciphertext, associatedData) {
      if (ciphertext.length < TAG_SIZE) {
        throwNotAuthentic();
      }
      const bodyLength = ciphertext.length - TAG_SIZE;
      const d = createDecipher(cipher, key, nonce);
      d.setAuthTag(ciphertext.subarray(bodyLength));
      d.setAAD(associatedData, { plaintextLength: bodyLength });
      const head = d.update(ciphertext.subarray(0, bodyLength));
      try {
        return Buffer.concat([head, d.final()]);
      } catch (e: unknown) {
        return throwNotAuthentic(e);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// secure-io/sio-go stream

export interface SioStreamOptions {
  /** Authenticated, not encrypted, not transmitted. madmin passes none. */
  readonly associatedData?: Uint8Array;
  /** Plaintext bytes per fragment; must match on both sides. Default 16 KiB. */
  readonly bufSize?: number;
}

function checkedBufSize(bufSize: number): number {
  if (!Number.isInteger(bufSize) || bufSize < 1 || bufSize > SIO_MAX_BUF_SIZE) {
    throw new PayloadCryptoError(
      'InvalidArgument',
      `sio buffer size must be an integer in [1, ${String(SIO_MAX_BUF_SIZE)}]`,
    );
  }
  return bufSize;
}

function checkStreamNonce(aead: Aead, nonce: Uint8Array): void {
  if (nonce.length !== aead.nonceSize - SEQ_SIZE) {
    throw new PayloadCryptoError(
      'InvalidArgument',
      `sio stream nonce must be ${String(aead.nonceSize - SEQ_SIZE)} bytes, got ${String(nonce.length)}`,
    );
  }
}

function fragmentNonce(streamNonce: Uint8Array, seq: number): Buffer {
  if (seq > MAX_SEQ) {
    throw new PayloadCryptoError('Exceeded', 'sio stream exceeds 2^32-1 fragments');
  }
  const nonce = Buffer.alloc(streamNonce.length + SEQ_SIZE);
  nonce.set(streamNonce);
  nonce.writeUInt32LE(seq, streamNonce.length);
  return nonce;
}

/** `0x00 ‖ T`: T is the tag of an empty message under sequence number 0 and the user's AD. */
function fragmentAssociatedData(aead: Aead, streamNonce: Uint8Array, userAd: Uint8Array): Buffer {
  const t = aead.seal(fragmentNonce(streamNonce, 0), new Uint8Array(0), userAd);
  return Buffer.concat([Buffer.from([FLAG_MORE]), t]);
}

/** Bytes a sealed stream adds to `size` plaintext bytes (sio-go `Stream.Overhead`). */
export function streamOverhead(size: number, bufSize = SIO_BUF_SIZE, tagSize = TAG_SIZE): number {
  return tagSize * Math.max(1, Math.ceil(size / checkedBufSize(bufSize)));
}

/** Encrypts `plaintext` as one sio-go stream under `streamNonce` (the AEAD nonce minus 4). */
export function sealStream(
  aead: Aead,
  streamNonce: Uint8Array,
  plaintext: Uint8Array,
  options: SioStreamOptions = {},
): Buffer {
  const bufSize = checkedBufSize(options.bufSize ?? SIO_BUF_SIZE);
  checkStreamNonce(aead, streamNonce);
  const ad = fragmentAssociatedData(aead, streamNonce, options.associatedData ?? new Uint8Array(0));
  const parts: Buffer[] = [];
  let offset = 0;
  let seq = 1;
  while (plaintext.length - offset > bufSize) {
    const fragment = plaintext.subarray(offset, offset + bufSize);
    parts.push(aead.seal(fragmentNonce(streamNonce, seq), fragment, ad));
    offset += bufSize;
    seq += 1;
  }
  ad[0] = FLAG_FINAL;
  parts.push(aead.seal(fragmentNonce(streamNonce, seq), plaintext.subarray(offset), ad));
  return Buffer.concat(parts);
}

/**
 * Decrypts and verifies a whole sio-go stream. A fragment is the final one iff nothing follows
 * it, so truncation at a fragment boundary and appended data both fail authentication.
 */
export function openStream(
  aead: Aead,
  streamNonce: Uint8Array,
  ciphertext: Uint8Array,
  options: SioStreamOptions = {},
): Buffer {
  const bufSize = checkedBufSize(options.bufSize ?? SIO_BUF_SIZE);
  checkStreamNonce(aead, streamNonce);
  if (ciphertext.length < aead.tagSize) {
    throwNotAuthentic();
  }
  const ad = fragmentAssociatedData(aead, streamNonce, options.associatedData ?? new Uint8Array(0));
  const sealedSize = bufSize + aead.tagSize;
  const parts: Buffer[] = [];
  let offset = 0;
  let seq = 1;
  while (ciphertext.length - offset > sealedSize) {
    const fragment = ciphertext.subarray(offset, offset + sealedSize);
    parts.push(aead.open(fragmentNonce(streamNonce, seq), fragment, ad));
    offset += sealedSize;
    seq += 1;
  }
  ad[0] = FLAG_FINAL;
  parts.push(aead.open(fragmentNonce(streamNonce, seq), ciphertext.subarray(offset), ad));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Key derivation

let argon2Tail: Promise<unknown> = Promise.resolve();

/**
 * Runs argon2 derivations one at a time, as madmin does with its mutex: each one takes 64 MiB
 * and several threads, so running them side by side gains nothing.
 */
function serializeArgon2<T>(task: () => Promise<T>): Promise<T> {
  const run = argon2Tail.then(task, task);
  argon2Tail = run.catch(() => undefined);
  return run;
}

function runArgon2id(password: Buffer, salt: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    argon2(
      'argon2id',
      {
        message: password,
        nonce: salt,
        passes: ARGON2ID_PASSES,
        memory: ARGON2ID_MEMORY_KIB,
        parallelism: ARGON2ID_PARALLELISM,
        tagLength: KEY_SIZE,
      },
      (err, key) => {
        if (err) reject(err);
        else resolve(key);
      },
    );
  });
}

function runPbkdf2(password: Buffer, salt: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, PBKDF2_ITERATIONS, KEY_SIZE, 'sha256', (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

/** Derives the 32-byte stream key for `algorithm` from the secret key and the envelope salt. */
export async function deriveKey(
  algorithm: PayloadAlgorithmId,
  secretKey: string,
  salt: Uint8Array,
): Promise<Buffer> {
  const password = Buffer.from(secretKey, 'utf8');
  try {
    switch (algorithm) {
      case PayloadAlgorithm.Argon2idAesGcm:
      case PayloadAlgorithm.Argon2idChaCha20Poly1305:
        return await serializeArgon2(() => runArgon2id(password, salt));
      case PayloadAlgorithm.Pbkdf2AesGcm:
        return await runPbkdf2(password, salt);
    }
  } catch (e: unknown) {
    throw new PayloadCryptoError('KeyDerivation', 'payload key derivation failed', { cause: e });
  } finally {
    password.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------
// Envelope

export interface PayloadEnvelope {
  readonly salt: Buffer;
  readonly algorithm: PayloadAlgorithmId;
  readonly nonce: Buffer;
  /** The sio-go stream after the 41-byte header. */
  readonly stream: Buffer;
}

function isPayloadAlgorithmId(id: number): id is PayloadAlgorithmId {
  return (
    id === PayloadAlgorithm.Argon2idAesGcm ||
    id === PayloadAlgorithm.Argon2idChaCha20Poly1305 ||
    id === PayloadAlgorithm.Pbkdf2AesGcm
  );
}

/** Throws unless `id` is a known algorithm id (callers from plain JavaScript may pass anything). */
function checkAlgorithmId(id: number): asserts id is PayloadAlgorithmId {
  if (!isPayloadAlgorithmId(id)) {
    const shown =
      Number.isInteger(id) && id >= 0 ? `0x${id.toString(16).padStart(2, '0')}` : String(id);
    throw new PayloadCryptoError('UnknownAlgorithm', `unknown algorithm id ${shown}`);
  }
}

function aeadFor(algorithm: PayloadAlgorithmId, key: Uint8Array): Aead {
  const cipher =
    algorithm === PayloadAlgorithm.Argon2idChaCha20Poly1305 ? 'chacha20-poly1305' : 'aes-256-gcm';
  return createAead(cipher, key);
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** madmin `IsEncrypted`: a heuristic only (longer than the salt, known id byte). */
export function isEncryptedPayload(data: Uint8Array): boolean {
  const id = data[SALT_SIZE];
  return id !== undefined && isPayloadAlgorithmId(id);
}

/** Splits an envelope into its parts; the parts share memory with `data`. */
export function parseEnvelope(data: Uint8Array): PayloadEnvelope {
  if (data.length < MIN_PAYLOAD_SIZE) {
    throw new PayloadCryptoError(
      'TooShort',
      `payload too short: ${String(data.length)} bytes, an encrypted payload has at least ${String(MIN_PAYLOAD_SIZE)}`,
    );
  }
  const buf = toBuffer(data);
  const id = buf[SALT_SIZE] ?? -1;
  checkAlgorithmId(id);
  return {
    salt: buf.subarray(0, SALT_SIZE),
    algorithm: id,
    nonce: buf.subarray(SALT_SIZE + 1, HEADER_SIZE),
    stream: buf.subarray(HEADER_SIZE),
  };
}

export interface SealEnvelopeParams {
  readonly algorithm: PayloadAlgorithmId;
  /** The key derived from the secret key and `salt` (see `deriveKey`). */
  readonly key: Uint8Array;
  readonly salt: Uint8Array;
  readonly nonce: Uint8Array;
}

/**
 * Builds an envelope from an already derived key. Lower level than `encryptPayload`: the
 * caller owns salt and nonce and must never reuse a nonce under the same key.
 */
export function sealEnvelope(params: SealEnvelopeParams, plaintext: Uint8Array): Buffer {
  const { algorithm, key, salt, nonce } = params;
  checkAlgorithmId(algorithm);
  if (salt.length !== SALT_SIZE || nonce.length !== STREAM_NONCE_SIZE) {
    throw new PayloadCryptoError(
      'InvalidArgument',
      `envelope needs a ${String(SALT_SIZE)}-byte salt and an ${String(STREAM_NONCE_SIZE)}-byte nonce`,
    );
  }
  const stream = sealStream(aeadFor(algorithm, key), nonce, plaintext);
  return Buffer.concat([salt, Buffer.from([algorithm]), nonce, stream]);
}

/** Opens a parsed envelope with an already derived key. */
export function openEnvelope(envelope: PayloadEnvelope, key: Uint8Array): Buffer {
  return openStream(aeadFor(envelope.algorithm, key), envelope.nonce, envelope.stream);
}

export interface EncryptPayloadOptions {
  /** Default 0x00 (argon2id + AES-256-GCM), what madmin writes on CPUs with AES instructions. */
  readonly algorithm?: PayloadAlgorithmId;
}

/** madmin `EncryptData`: encrypts an admin request body for the signing credential's secret key. */
export async function encryptPayload(
  plaintext: Uint8Array,
  secretKey: string,
  options: EncryptPayloadOptions = {},
): Promise<Buffer> {
  const algorithm = options.algorithm ?? PayloadAlgorithm.Argon2idAesGcm;
  checkAlgorithmId(algorithm);
  const salt = randomBytes(SALT_SIZE);
  const nonce = randomBytes(STREAM_NONCE_SIZE);
  const key = await deriveKey(algorithm, secretKey, salt);
  try {
    return sealEnvelope({ algorithm, key, salt, nonce }, plaintext);
  } finally {
    key.fill(0);
  }
}

/** madmin `DecryptData`: decrypts an admin response body with the signing secret key. */
export async function decryptPayload(ciphertext: Uint8Array, secretKey: string): Promise<Buffer> {
  const envelope = parseEnvelope(ciphertext);
  const key = await deriveKey(envelope.algorithm, secretKey, envelope.salt);
  try {
    return openEnvelope(envelope, key);
  } finally {
    key.fill(0);
  }
}
