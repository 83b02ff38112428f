/**
 * Digests of secret-bearing entities (users, whose digest covers their secret key, and service
 * accounts) are sealed with a per-group key before they reach the agreed-state ConfigMap, which
 * the built-in `view` role can read: with an unkeyed digest, a word list finds a secret key (a
 * MinIO secret key is also a console password) in one hash per guess. Sealed, a digest is an
 * HMAC-SHA256 under a 192-bit random key the group keeps in its own Secret, and tells nothing
 * about a secret to whoever cannot read that Secret.
 *
 * The seal is applied to the entity's plain digest (`seal(d)`), so an agreed state written
 * before digests were keyed is migrated on read without looking at any site: each of its
 * secret-bearing digests is sealed as it stands, giving exactly the digest the same site value
 * now has. No value changes, so no change is seen and nothing propagates.
 */
import { createHmac } from 'node:crypto';

import { ABSENT, type AgreedState } from './agreed-state.js';
import { decodeKey } from './entity-key.js';

/** A group's digest key: its public id, and the seal of a plain digest. */
export interface DigestKey {
  /** Names the key in the agreed state, reveals nothing of it (an HMAC of a constant). */
  readonly id: string;
  /** The sealed form of a plain entity digest: 16 hex digits, like every entity digest. */
  readonly seal: (digest: string) => string;
}

const hmac = (key: string, text: string) =>
  createHmac('sha256', key).update(text, 'utf8').digest('hex');

export function digestKey(secret: string): DigestKey {
  if (secret.length < 16) throw new Error('a digest key needs at least 16 characters');
  return {
    id: hmac(secret, 'sitesync:digest-key-id').slice(0, 16),
    seal: (digest) => hmac(secret, `sitesync:entity:${digest}`).slice(0, 16),
  };
}

/** Whether the digest of the entity under `key` covers a secret (sealed in the agreed state). */
export function isSecretBearing(key: string): boolean {
  const k = decodeKey(key);
  return k?.kind === 'user' || k?.kind === 'serviceAccount';
}

function sealRecord(record: Readonly<Record<string, string>>, key: DigestKey) {
  return Object.fromEntries(
    Object.entries(record).map(([k, v]) => [
      k,
      v !== ABSENT && isSecretBearing(k) ? key.seal(v) : v,
    ]),
  );
}

/**
 * How an agreed state read from the ConfigMap relates to the group's current key:
 * - `current`: sealed with it;
 * - `migrated`: written before digests were keyed (or empty): its secret-bearing digests are
 *   sealed now, entities and every site's deviations alike;
 * - `keyChanged`: sealed with another key (the group's Secret was replaced): those digests match
 *   no site value any more. They are kept: where the sites agree, the merge records their value
 *   again without acting; where they differ, it resolves the conflict as for a concurrent change.
 */
export type SealOutcome = 'current' | 'migrated' | 'keyChanged';

/** The agreed state with its secret-bearing digests sealed with `key`. Pure. */
export function sealAgreed(
  state: AgreedState,
  key: DigestKey,
): { state: AgreedState; outcome: SealOutcome } {
  if (state.digestKeyId === key.id) return { state, outcome: 'current' };
  if (state.digestKeyId !== undefined) {
    return { state: { ...state, digestKeyId: key.id }, outcome: 'keyChanged' };
  }
  return {
    state: {
      ...state,
      entities: sealRecord(state.entities, key),
      deviations: Object.fromEntries(
        Object.entries(state.deviations).map(([site, r]) => [site, sealRecord(r, key)]),
      ),
      digestKeyId: key.id,
    },
    outcome: 'migrated',
  };
}
