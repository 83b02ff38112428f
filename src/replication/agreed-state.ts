/**
 * The last agreed state of a group: the base of the three-way merge (merge.ts). It holds digests
 * only, never secrets, and lives in a ConfigMap the operator owns, gzipped JSON in `binaryData`
 * under `state.json.gz`, so that 10 000 entities over 32 sites stay well under the 1 MiB limit.
 *
 * - `entities`: key -> digest every site agreed on (a key not there is agreed ABSENT).
 * - `deviations`: site -> key -> digest (or `ABSENT`) where a site's own base differs from
 *   `entities`: an apply that failed there, or a site that was unreachable when the key changed.
 * - `joined`: sites that have taken part in a merge; only they have a base and vote.
 * - `sequence`: the count of actions applied so far (Vault's `last_wal`); it only grows.
 * - `digestKeyId`: which key sealed the digests of secret-bearing entities (users, service
 *   accounts; see secret-digest.ts). Absent in a state written before digests were keyed
 *   (format 1), whose digests of those entities are unkeyed.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

/** A deviation value: the key is absent on the site. Digests are hex, so it never clashes. */
export const ABSENT = '-';

/** The `binaryData` key of the ConfigMap that holds the agreed state. */
export const AGREED_STATE_KEY = 'state.json.gz';

/** 2: with `digestKeyId` (keyed digests of secret-bearing entities). 1 is still read. */
const _FORMAT_VERSION = 2;
const _READ_VERSIONS: readonly unknown[] = [1, 2];
/** Refuse to inflate more than this: a damaged or hostile ConfigMap must not exhaust memory. */
const _MAX_INFLATED_BYTES = 256 * 1024 * 1024;
const _BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface AgreedState {
  entities: Record<string, string>;
  deviations: Record<string, Record<string, string>>;
  joined: string[];
  sequence: number;
  /** The id of the key that sealed secret-bearing digests; undefined: unkeyed (or empty). */
  digestKeyId?: string | undefined;
}

/** The stored agreed state cannot be read; the message says which part is wrong. */
export class AgreedStateDecodeError extends Error {
  override readonly name = 'AgreedStateDecodeError';

  constructor(message: string, options?: ErrorOptions) {
    super(
      `Cannot decode the agreed state (ConfigMap key ${AGREED_STATE_KEY}): ${message}`,
      options,
    );
  }
}

export function emptyAgreedState(): AgreedState {
  return { entities: {}, deviations: {}, joined: [], sequence: 0 };
}

function _own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The digest the group agreed on for `key`, or null when it is agreed absent. */
export function agreedDigest(state: AgreedState, key: string): string | null {
  return _own(state.entities, key) ?? null;
}

/** The deviations recorded for `site` (empty when it has none). */
export function siteDeviations(state: AgreedState, site: string): Readonly<Record<string, string>> {
  return _own(state.deviations, site) ?? {};
}

/**
 * The base of a joined site for `key`: its deviation if it has one, else the agreed digest;
 * null means absent.
 */
export function agreedBase(state: AgreedState, site: string, key: string): string | null {
  const deviation = _own(siteDeviations(state, site), key);
  if (deviation === undefined) return agreedDigest(state, key);
  return deviation === ABSENT ? null : deviation;
}

function _sorted<T>(record: Readonly<Record<string, T>>, map: (v: T) => unknown): object {
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, map(record[k] as T)]),
  );
}

/** The ConfigMap `binaryData` holding `state`; the same state always gives the same bytes. */
export function encodeAgreedState(state: AgreedState): Record<string, string> {
  const doc = {
    version: _FORMAT_VERSION,
    sequence: state.sequence,
    ...(state.digestKeyId === undefined ? {} : { digestKeyId: state.digestKeyId }),
    joined: state.joined,
    entities: _sorted(state.entities, (d) => d),
    deviations: _sorted(state.deviations, (r) => _sorted(r, (d) => d)),
  };
  const gz = gzipSync(Buffer.from(JSON.stringify(doc), 'utf8'), { level: 9 });
  return { [AGREED_STATE_KEY]: gz.toString('base64') };
}

function _inflate(encoded: string): string {
  if (encoded.length % 4 !== 0 || !_BASE64.test(encoded)) {
    throw new AgreedStateDecodeError('the value is not base64');
  }
  try {
    const json = gunzipSync(Buffer.from(encoded, 'base64'), {
      maxOutputLength: _MAX_INFLATED_BYTES,
    });
    return json.toString('utf8');
  } catch (e: unknown) {
    throw new AgreedStateDecodeError('the value is not gzip data', { cause: e });
  }
}

function _parse(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch (e: unknown) {
    throw new AgreedStateDecodeError('the content is not JSON', { cause: e });
  }
}

function _isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function _stringRecord(value: unknown, field: string): Record<string, string> {
  if (!_isRecord(value)) throw new AgreedStateDecodeError(`${field} is not an object`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new AgreedStateDecodeError(`${field}[${JSON.stringify(k)}] is not a string`);
    }
  }
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

function _deviations(value: unknown): Record<string, Record<string, string>> {
  if (!_isRecord(value)) throw new AgreedStateDecodeError('deviations is not an object');
  return Object.fromEntries(
    Object.entries(value).map(([site, r]) => [
      site,
      _stringRecord(r, `deviations[${JSON.stringify(site)}]`),
    ]),
  );
}

function _joined(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((s): s is string => typeof s === 'string')) {
    throw new AgreedStateDecodeError('joined is not a list of site names');
  }
  return [...value];
}

function _state(doc: unknown): AgreedState {
  if (!_isRecord(doc)) throw new AgreedStateDecodeError('the document is not an object');
  const version = _own(doc, 'version');
  if (!_READ_VERSIONS.includes(version)) {
    throw new AgreedStateDecodeError(`unsupported format version ${JSON.stringify(version)}`);
  }
  const sequence = _own(doc, 'sequence');
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw new AgreedStateDecodeError('sequence is not a non-negative integer');
  }
  const digestKeyId = _own(doc, 'digestKeyId');
  if (digestKeyId !== undefined && typeof digestKeyId !== 'string') {
    throw new AgreedStateDecodeError('digestKeyId is not a string');
  }
  return {
    entities: _stringRecord(_own(doc, 'entities'), 'entities'),
    deviations: _deviations(_own(doc, 'deviations')),
    joined: _joined(_own(doc, 'joined')),
    sequence,
    ...(digestKeyId === undefined ? {} : { digestKeyId }),
  };
}

/**
 * Reads the agreed state from a ConfigMap's `binaryData`. An absent ConfigMap, or one without
 * the key, is the empty state (the next merge is then an initial join, which deletes nothing).
 * Anything else that cannot be read throws `AgreedStateDecodeError`.
 */
export function decodeAgreedState(data: Readonly<Record<string, string>> | undefined): AgreedState {
  const encoded = data === undefined ? undefined : _own(data, AGREED_STATE_KEY);
  if (encoded === undefined) return emptyAgreedState();
  return _state(_parse(_inflate(encoded)));
}
