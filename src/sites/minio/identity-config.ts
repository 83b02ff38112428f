/**
 * The mapping between an IdentityProvider spec and MinIO's `identity_openid` / `identity_ldap`
 * configuration keys, and a digest of the identity configuration that leaves every secret out.
 *
 * The digest covers one "identity view" of a site: the LDAP configuration (if enabled) and every
 * enabled OpenID target, each as its known non-secret keys with MinIO's defaults filled in, so
 * what we declare and what `get-config-kv` reports digest alike when they mean the same thing.
 * MinIO never returns secret values (`client_secret`, `lookup_bind_password`), so secrets cannot
 * be compared: they are applied when the Secret changes (the controller tracks its version).
 *
 * Facts from minio/minio internal/config/identity/{openid,ldap} (2026-02), checked on real
 * servers: neither subsystem is dynamic (a change needs a restart; get-config-kv reports the
 * running configuration until then); set-config-kv validates live (fetches the discovery
 * document, binds as the lookup DN) and answers 400 XMinioAdminConfigBadJSON when that fails;
 * OpenID requires `client_secret`; an environment variable overrides the stored value and shows
 * up as a `# MINIO_IDENTITY_...=` comment line.
 */
import { createHash } from 'node:crypto';

import type { LDAP, OpenID } from '../../api/identity-provider.js';
import { DEFAULT_TARGET, type SubsysConfig, formatConfigLine } from './admin/config-kv.js';

export const OPENID_SUBSYS = 'identity_openid';
export const LDAP_SUBSYS = 'identity_ldap';
export const IDENTITY_SUBSYSTEMS = [OPENID_SUBSYS, LDAP_SUBSYS] as const;
export type IdentitySubsystem = (typeof IDENTITY_SUBSYSTEMS)[number];

/** The one secret key of each subsystem: never read back, never part of a digest. */
export const SECRET_KEYS: Readonly<Record<IdentitySubsystem, string>> = {
  identity_openid: 'client_secret',
  identity_ldap: 'lookup_bind_password',
};

/** Every non-secret key the digest covers, with MinIO's default value. */
const OPENID_DEFAULTS: Readonly<Record<string, string>> = {
  config_url: '',
  client_id: '',
  claim_name: 'policy',
  claim_prefix: '',
  claim_userinfo: '',
  role_policy: '',
  redirect_uri: '',
  redirect_uri_dynamic: 'off',
  scopes: '',
  display_name: '',
  vendor: '',
  keycloak_realm: '',
  keycloak_admin_url: '',
  user_readable_claim: '',
  user_id_claim: '',
};

const LDAP_DEFAULTS: Readonly<Record<string, string>> = {
  server_addr: '',
  srv_record_name: '',
  user_dn_search_base_dn: '',
  user_dn_search_filter: '',
  user_dn_attributes: '',
  group_search_filter: '',
  group_search_base_dn: '',
  tls_skip_verify: 'off',
  server_insecure: 'off',
  server_starttls: 'off',
  lookup_bind_dn: '',
};

/** What a site's identity configuration means, without secrets. */
export interface IdentityView {
  /** The LDAP configuration, when LDAP is enabled. */
  ldap?: Readonly<Record<string, string>> | undefined;
  /** Enabled OpenID targets by name (`_` is the default target). */
  openid: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** The declared configuration for MinIO: one subsystem, its values, and where its secret goes. */
export interface DeclaredIdentity {
  subsystem: IdentitySubsystem;
  /** Every key the digest covers (defaults included), without the secret. */
  values: Readonly<Record<string, string>>;
  view: IdentityView;
  digest: string;
}

const onOff = (b: boolean) => (b ? 'on' : 'off');

function openidValues(o: OpenID): Record<string, string> {
  return {
    ...OPENID_DEFAULTS,
    config_url: o.configURL,
    client_id: o.clientID,
    claim_name: o.claimName,
    claim_prefix: o.claimPrefix ?? '',
    role_policy: o.rolePolicy ?? '',
    scopes: (o.scopes ?? []).join(','),
    redirect_uri: o.redirectURI ?? '',
    display_name: o.displayName ?? '',
  };
}

function ldapValues(l: LDAP): Record<string, string> {
  return {
    ...LDAP_DEFAULTS,
    server_addr: l.serverAddr,
    lookup_bind_dn: l.lookupBindDN,
    user_dn_search_base_dn: l.userDNSearchBaseDN,
    user_dn_search_filter: l.userDNSearchFilter,
    group_search_base_dn: l.groupSearchBaseDN ?? '',
    group_search_filter: l.groupSearchFilter ?? '',
    server_insecure: onOff(l.tls.insecure),
    server_starttls: onOff(l.tls.startTLS),
    tls_skip_verify: onOff(l.tls.skipVerify),
  };
}

/** The MinIO configuration an IdentityProvider spec declares (exactly one of openid / ldap). */
export function declaredIdentity(spec: {
  openid?: OpenID | undefined;
  ldap?: LDAP | undefined;
}): DeclaredIdentity {
  if (spec.ldap) {
    const values = ldapValues(spec.ldap);
    const view: IdentityView = { ldap: values, openid: {} };
    return declared(LDAP_SUBSYS, values, view);
  }
  if (spec.openid) {
    const values = openidValues(spec.openid);
    const view: IdentityView = { openid: { [DEFAULT_TARGET]: values } };
    return declared(OPENID_SUBSYS, values, view);
  }
  throw new Error('exactly one of spec.openid and spec.ldap must be set');
}

function declared(
  subsystem: IdentitySubsystem,
  values: Record<string, string>,
  view: IdentityView,
): DeclaredIdentity {
  return { subsystem, values, view, digest: identityDigest(view) };
}

/** Effective values of one target: stored values, then environment overrides, known keys only. */
function effective(cfg: SubsysConfig, defaults: Readonly<Record<string, string>>) {
  const out: Record<string, string> = {};
  for (const [k, d] of Object.entries(defaults)) {
    out[k] = cfg.env[k]?.value ?? cfg.values[k] ?? d;
  }
  const enable = cfg.env['enable']?.value ?? cfg.values['enable'] ?? '';
  return { values: out, off: enable === 'off' };
}

/** What the identity subsystems read from a site mean (secret keys and `enable` left out). */
export function liveIdentity(subsystems: readonly SubsysConfig[]): IdentityView {
  let ldap: Record<string, string> | undefined;
  const openid: Record<string, Record<string, string>> = {};
  for (const cfg of subsystems) {
    if (cfg.subsystem === LDAP_SUBSYS && cfg.target === DEFAULT_TARGET) {
      const { values, off } = effective(cfg, LDAP_DEFAULTS);
      if (!off && values['server_addr'] !== '') ldap = values;
    } else if (cfg.subsystem === OPENID_SUBSYS) {
      const { values, off } = effective(cfg, OPENID_DEFAULTS);
      if (!off && values['config_url'] !== '') openid[cfg.target] = values;
    }
  }
  return { ldap, openid };
}

/** Canonical JSON with sorted keys. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * A short digest of an identity view: `sha256:` and 16 hex digits. Secrets are not in a view,
 * so they cannot be in its digest.
 */
export function identityDigest(view: IdentityView): string {
  const value = { ldap: view.ldap ?? null, openid: view.openid };
  return `sha256:${createHash('sha256').update(canonical(value), 'utf8').digest('hex').slice(0, 16)}`;
}

/** The digest of a site's identity configuration as read with get-config-kv. */
export function liveIdentityDigest(subsystems: readonly SubsysConfig[]): string {
  return identityDigest(liveIdentity(subsystems));
}

/** One `set-config-kv` line that makes the declared subsystem hold exactly its values. */
export function setConfigText(d: DeclaredIdentity, secret: string): string {
  return formatConfigLine(d.subsystem, DEFAULT_TARGET, {
    ...d.values,
    enable: 'on',
    [SECRET_KEYS[d.subsystem]]: secret,
  });
}

/**
 * The `del-config-kv` keys that remove every other identity configuration: the other subsystem,
 * and OpenID targets other than the default one. Only what is configured now is listed.
 */
export function staleConfigKeys(d: DeclaredIdentity, live: IdentityView): string[] {
  const out: string[] = [];
  if (d.subsystem !== LDAP_SUBSYS && live.ldap) out.push(LDAP_SUBSYS);
  for (const target of Object.keys(live.openid).sort()) {
    if (d.subsystem === OPENID_SUBSYS && target === DEFAULT_TARGET) continue;
    out.push(target === DEFAULT_TARGET ? OPENID_SUBSYS : `${OPENID_SUBSYS}:${target}`);
  }
  return out;
}

/**
 * Environment variables on the site that hold the identity configuration away from the declared
 * one (the API cannot change them): overridden keys of the declared subsystem whose value
 * differs, and variables that enable another identity configuration.
 */
export function conflictingEnv(d: DeclaredIdentity, subsystems: readonly SubsysConfig[]): string[] {
  const out: string[] = [];
  for (const cfg of subsystems) {
    const own = cfg.subsystem === d.subsystem && cfg.target === DEFAULT_TARGET;
    for (const [key, env] of Object.entries(cfg.env)) {
      if (key === SECRET_KEYS[d.subsystem]) continue;
      const differs = own ? (d.values[key] ?? '') !== env.value : env.value !== '';
      if (differs) out.push(env.name);
    }
  }
  return out.sort();
}

/** Why a site refused the declared configuration, as a condition reason and message. */
export interface IdentityRejection {
  reason:
    'LDAPBindRefused' | 'LDAPServerUnreachable' | 'IssuerUnreachable' | 'IdentityConfigRejected';
  message: string;
}

/** MinIO's own explanation inside a SiteError message (`... HTTP 400 Code: explanation`). */
function serverExplanation(message: string): string {
  const m = /HTTP \d{3} [A-Za-z]+: ([\s\S]*)$/.exec(message);
  return (m?.[1] ?? message).trim().replace(/[:\s]+$/, '');
}

/**
 * Classifies the answer of a site that rejected `set-config-kv` (HTTP 400): the words name what
 * the site could not do, the spec field to look at, and keep MinIO's explanation.
 */
export function describeRejection(d: DeclaredIdentity, message: string): IdentityRejection {
  const why = serverExplanation(message);
  if (d.subsystem === LDAP_SUBSYS) {
    const addr = d.values['server_addr'] ?? '';
    if (/Lookup Bind|Result Code 49|Invalid Credentials/i.test(why)) {
      return {
        reason: 'LDAPBindRefused',
        message: `the LDAP server ${addr} refused the lookup bind DN "${d.values['lookup_bind_dn'] ?? ''}" (spec.ldap.lookupBindDN, spec.ldap.lookupBindPassword): ${why}`,
      };
    }
    if (/Could not connect to LDAP server|Network Error|Connection Error/i.test(why)) {
      return {
        reason: 'LDAPServerUnreachable',
        message: `the site cannot reach the LDAP server ${addr} (spec.ldap.serverAddr): ${why}`,
      };
    }
  } else if (/^Get "|dial tcp|no such host|discovery|jwks|timeout|certificate/i.test(why)) {
    return {
      reason: 'IssuerUnreachable',
      message: `the site cannot fetch the OpenID discovery document ${d.values['config_url'] ?? ''} (spec.openid.configURL): ${why}`,
    };
  }
  return {
    reason: 'IdentityConfigRejected',
    message: `the site rejected the ${d.subsystem} configuration: ${why}`,
  };
}
