/**
 * Identity configuration as a capability of a site (`SiteCapabilities.identityConfig`): what the
 * IdentityProvider controller needs, in words that name no flavor. A driver that has it exposes
 * `SiteClient.identity`. Digests never cover secrets: a site cannot give them back.
 */
import type { LDAP, OpenID } from '../api/identity-provider.js';
import { declaredIdentity } from './minio/identity-config.js';

/** The part of an IdentityProvider spec a site is configured with (exactly one is set). */
export interface IdentitySpec {
  openid?: OpenID | undefined;
  ldap?: LDAP | undefined;
}

/** The declared configuration as the sites hold it. */
export interface IdentityDeclaration {
  /** What it configures, for messages (e.g. MinIO's `identity_ldap`). */
  readonly target: string;
  /** A site whose live configuration is the declared one reports this digest. */
  readonly digest: string;
}

/** What a site's running identity configuration is, next to a declared one. */
export interface LiveIdentity {
  readonly digest: string;
  /** Environment variables on the site holding the configuration away from the declared one. */
  readonly envConflicts: readonly string[];
  /** Other identity configurations the declared one replaces (removed by `write`). */
  readonly stale: readonly string[];
}

/** Why a site refused a configuration: a condition reason and a message naming the field. */
export interface IdentityRejection {
  reason: string;
  message: string;
}

export interface IdentityConfigOps {
  /** The running configuration, read against the declared one. */
  read(spec: IdentitySpec, signal: AbortSignal): Promise<LiveIdentity>;
  /** Writes the declared configuration with its secret and removes `stale` ones. */
  write(
    spec: IdentitySpec,
    secret: string,
    stale: readonly string[],
    signal: AbortSignal,
  ): Promise<{ restartRequired: boolean }>;
  /** The words for a refused write (HTTP 400), from the site's error message. */
  describeRejection(spec: IdentitySpec, message: string): IdentityRejection;
  /** Seconds since the site (its most recently started server) started. */
  uptimeSeconds(signal: AbortSignal): Promise<number>;
  restart(signal: AbortSignal): Promise<void>;
}

/**
 * The declaration every flavor with identity configuration holds. MinIO is the only one today,
 * so it is MinIO's form; a flavor that digests its configuration differently makes this a
 * per-flavor function, as `newSiteClient` is.
 */
export function declareIdentity(spec: IdentitySpec): IdentityDeclaration {
  const d = declaredIdentity(spec);
  return { target: d.subsystem, digest: d.digest };
}
