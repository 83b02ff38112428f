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
 * - `identities` (format 2): site -> the identity it joined under (MinIO's deployment ID). A
 *   joined site seen under another identity is no longer the site that agreed.
 * - `members` (format 2): site -> where it is and which Secret logs in to it, as the spec last
 *   said; kept after the site leaves the spec until the group's links on it are removed.
 * - `adopting` (format 2): sites accepted with data of their own under a new identity, not
 *   joined yet: they vote only to add what the group lacks.
 * - `refill` (format 2): sites whose objects the others must send again (a wiped site that
 *   rejoined): their targets towards it get a replication reset once.
 *
 * - `digestKeyId`: which key sealed the digests of secret-bearing entities (users, service
 *   accounts; see secret-digest.ts). Absent in a state written before digests were keyed, whose
 *   digests of those entities are unkeyed (migrated on read).
 *
 * Format 1 (no identities, no members) is still read; it is written as format 2.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

import { z } from 'zod';

import { type Site, SiteSchema } from '../api/common.js';

/** A deviation value: the key is absent on the site. Digests are hex, so it never clashes. */
export const ABSENT = '-';

/** The `binaryData` key of the ConfigMap that holds the agreed state. */
export const AGREED_STATE_KEY = 'state.json.gz';

const _FORMAT_VERSION = 2;
/** Formats this version reads. */
const _READABLE_VERSIONS = new Set([1, 2]);
/** Refuse to inflate more than this: a damaged or hostile ConfigMap must not exhaust memory. */
const _MAX_INFLATED_BYTES = 256 * 1024 * 1024;
const _BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Where a site is and how to log in to it (its spec entry without the name). */
export type MemberRecord = Omit<Site, 'name'> & {
  /** Removed from the spec, and the remaining sites' replication credentials were rotated. */
  removed?: boolean | undefined;
};

const _MemberSchema = SiteSchema.omit({ name: true }).extend({ removed: z.boolean().optional() });

export interface AgreedState {
  entities: Record<string, string>;
  deviations: Record<string, Record<string, string>>;
  joined: string[];
  sequence: number;
  /** The id of the key that sealed secret-bearing digests; undefined: unkeyed (or empty). */
  digestKeyId?: string | undefined;
  identities?: Record<string, string> | undefined;
  members?: Record<string, MemberRecord> | undefined;
  adopting?: string[] | undefined;
  refill?: string[] | undefined;
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

/** The identity `site` joined under, if recorded. */
export function recordedIdentity(state: AgreedState, site: string): string | undefined {
  return _own(state.identities ?? {}, site);
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

/** The text `encodeAgreedState` compresses: the same state always gives the same text. */
export function agreedStateText(state: AgreedState): string {
  const doc = {
    version: _FORMAT_VERSION,
    sequence: state.sequence,
    ...(state.digestKeyId === undefined ? {} : { digestKeyId: state.digestKeyId }),
    joined: state.joined,
    entities: _sorted(state.entities, (d) => d),
    deviations: _sorted(state.deviations, (r) => _sorted(r, (d) => d)),
    identities: _sorted(state.identities ?? {}, (d) => d),
    members: _sorted(state.members ?? {}, (m) => m),
    adopting: [...(state.adopting ?? [])].sort(),
    refill: [...(state.refill ?? [])].sort(),
  };
  return JSON.stringify(doc);
}

/** The ConfigMap `binaryData` holding `state`; the same state always gives the same bytes. */
export function encodeAgreedState(state: AgreedState): Record<string, string> {
  const gz = gzipSync(Buffer.from(agreedStateText(state), 'utf8'), { level: 9 });
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

function _names(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((s): s is string => typeof s === 'string')) {
    throw new AgreedStateDecodeError(`${field} is not a list of site names`);
  }
  return [...value];
}

function _members(value: unknown): Record<string, MemberRecord> {
  if (!_isRecord(value)) throw new AgreedStateDecodeError('members is not an object');
  return Object.fromEntries(
    Object.entries(value).map(([site, m]) => {
      const parsed = _MemberSchema.safeParse(m);
      if (!parsed.success) {
        throw new AgreedStateDecodeError(`members[${JSON.stringify(site)}] is not a site`);
      }
      return [site, parsed.data];
    }),
  );
}

/** The parts format 2 added (format 1 has none of them); empty parts are left out. */
function _v2(doc: Record<string, unknown>): Partial<AgreedState> {
  if (_own(doc, 'version') === 1) return {};
  const parts: Partial<AgreedState> = {
    identities: _stringRecord(_own(doc, 'identities'), 'identities'),
    members: _members(_own(doc, 'members')),
    adopting: _names(_own(doc, 'adopting'), 'adopting'),
    refill: _names(_own(doc, 'refill'), 'refill'),
  };
  return Object.fromEntries(
    Object.entries(parts).filter(([, v]) => Object.keys(v as object).length > 0),
  );
}

function _state(doc: unknown): AgreedState {
  if (!_isRecord(doc)) throw new AgreedStateDecodeError('the document is not an object');
  const version = _own(doc, 'version');
  if (typeof version !== 'number' || !_READABLE_VERSIONS.has(version)) {
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
    joined: _names(_own(doc, 'joined'), 'joined'),
    sequence,
    ...(digestKeyId === undefined ? {} : { digestKeyId }),
    ..._v2(doc),
  };
}

/**
 * Reads the agreed state from a ConfigMap's `binaryData`. An absent ConfigMap, or one without
 * the key, is the empty state (the next merge is then an initial join, which deletes nothing).
 * Anything else that cannot be read throws `AgreedStateDecodeError`.
 */
export function decodeAgreedState(data: Readonly<Record<string, string>> | undefined): AgreedState {
  return decodeAgreedStateText(data).state;
}

/** The state and the text it was stored as (undefined: nothing stored). */
export function decodeAgreedStateText(data: Readonly<Record<string, string>> | undefined): {
  state: AgreedState;
  text: string | undefined;
} {
  const encoded = data === undefined ? undefined : _own(data, AGREED_STATE_KEY);
  if (encoded === undefined) return { state: emptyAgreedState(), text: undefined };
  const text = _inflate(encoded);
  return { state: _state(_parse(text)), text };
}
