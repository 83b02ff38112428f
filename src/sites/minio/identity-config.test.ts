import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { IdentityProviderSpecSchema } from '../../api/identity-provider.js';
import { parseConfigKV, parseKeyValues } from './admin/config-kv.js';
import {
  conflictingEnv,
  declaredIdentity,
  describeRejection,
  identityDigest,
  liveIdentity,
  liveIdentityDigest,
  setConfigText,
  staleConfigKeys,
} from './identity-config.js';

// What a 2026-02 MinIO answered to get-config-kv, on a fresh server and once configured and
// restarted with the LDAP and OpenID specs below (captured from real servers).
const FRESH = [
  'identity_ldap enable= server_addr= srv_record_name= user_dn_search_base_dn= user_dn_search_filter= user_dn_attributes= group_search_filter= group_search_base_dn= tls_skip_verify=off server_insecure=off server_starttls=off lookup_bind_dn= lookup_bind_password= ',
  'identity_openid enable= display_name= config_url= client_id= client_secret= claim_name=policy claim_userinfo= role_policy= redirect_uri_dynamic=off scopes= vendor= keycloak_realm= keycloak_admin_url= user_readable_claim= user_id_claim= ',
].join('\n');
const LDAP_LIVE =
  'identity_ldap server_addr=127.0.0.1:44535 srv_record_name= user_dn_search_base_dn=ou=people,dc=min,dc=io user_dn_search_filter=(uid=%s) user_dn_attributes= group_search_filter=(&(objectclass=groupOfNames)(member=%d)) group_search_base_dn=ou=swengg,dc=min,dc=io tls_skip_verify=off server_insecure=on server_starttls=off lookup_bind_dn=cn=admin,dc=min,dc=io \n';
const OPENID_LIVE =
  'identity_openid display_name="My IdP" config_url=http://127.0.0.1:39351/.well-known/openid-configuration client_id=sitesync-test claim_name=policy claim_userinfo= role_policy= redirect_uri_dynamic=off scopes=openid,policy vendor= keycloak_realm= keycloak_admin_url= user_readable_claim= user_id_claim= \n';
const OPENID_FRESH = FRESH.split('\n')[1] ?? '';
const LDAP_FRESH = FRESH.split('\n')[0] ?? '';

const ldapSpec = (over: Record<string, unknown> = {}) =>
  IdentityProviderSpecSchema.parse({
    ldap: {
      serverAddr: '127.0.0.1:44535',
      lookupBindDN: 'cn=admin,dc=min,dc=io',
      lookupBindPassword: { name: 'ldap-bind' },
      userDNSearchBaseDN: 'ou=people,dc=min,dc=io',
      userDNSearchFilter: '(uid=%s)',
      groupSearchBaseDN: 'ou=swengg,dc=min,dc=io',
      groupSearchFilter: '(&(objectclass=groupOfNames)(member=%d))',
      tls: { insecure: true },
      ...over,
    },
  });

const openidSpec = (over: Record<string, unknown> = {}) =>
  IdentityProviderSpecSchema.parse({
    openid: {
      configURL: 'http://127.0.0.1:39351/.well-known/openid-configuration',
      clientID: 'sitesync-test',
      clientSecret: { name: 'oidc' },
      scopes: ['openid', 'policy'],
      displayName: 'My IdP',
      ...over,
    },
  });

const SECRET = 'Tr0ub4dor&3-bind-password';

describe('declaredIdentity ↔ live configuration', () => {
  it('maps an LDAP spec to identity_ldap keys and digests alike with what the site reports', () => {
    const d = declaredIdentity(ldapSpec());
    expect(d.subsystem).toBe('identity_ldap');
    expect(d.values).toMatchObject({
      server_addr: '127.0.0.1:44535',
      lookup_bind_dn: 'cn=admin,dc=min,dc=io',
      user_dn_search_base_dn: 'ou=people,dc=min,dc=io',
      user_dn_search_filter: '(uid=%s)',
      group_search_base_dn: 'ou=swengg,dc=min,dc=io',
      server_insecure: 'on',
      server_starttls: 'off',
      tls_skip_verify: 'off',
    });
    const live = parseConfigKV(`${LDAP_LIVE}${OPENID_FRESH}`);
    expect(liveIdentity(live)).toEqual(d.view);
    expect(liveIdentityDigest(live)).toBe(d.digest);
  });

  it('maps an OpenID spec to identity_openid keys and digests alike with what the site reports', () => {
    const d = declaredIdentity(openidSpec());
    expect(d.subsystem).toBe('identity_openid');
    expect(d.values).toMatchObject({
      config_url: 'http://127.0.0.1:39351/.well-known/openid-configuration',
      client_id: 'sitesync-test',
      claim_name: 'policy',
      scopes: 'openid,policy',
      display_name: 'My IdP',
    });
    const live = parseConfigKV(`${LDAP_FRESH}\n${OPENID_LIVE}`);
    expect(liveIdentityDigest(live)).toBe(d.digest);
  });

  it('sees a fresh server as having no identity provider', () => {
    expect(liveIdentity(parseConfigKV(FRESH))).toEqual({ ldap: undefined, openid: {} });
    expect(liveIdentityDigest(parseConfigKV(FRESH))).not.toBe(declaredIdentity(ldapSpec()).digest);
  });

  it('tells apart every declared difference, and a site holding both subsystems', () => {
    const base = declaredIdentity(ldapSpec()).digest;
    for (const over of [
      { serverAddr: '127.0.0.1:1' },
      { lookupBindDN: 'cn=other,dc=min,dc=io' },
      { userDNSearchFilter: '(cn=%s)' },
      { groupSearchBaseDN: undefined },
      { tls: { insecure: false } },
    ]) {
      expect(declaredIdentity(ldapSpec(over)).digest).not.toBe(base);
    }
    const both = parseConfigKV(`${LDAP_LIVE}${OPENID_LIVE}`);
    expect(liveIdentityDigest(both)).not.toBe(base);
    expect(liveIdentityDigest(both)).not.toBe(declaredIdentity(openidSpec()).digest);
  });

  it('takes environment overrides as the effective values and names the conflicting ones', () => {
    const text = [
      '# MINIO_IDENTITY_LDAP_SERVER_ADDR=127.0.0.1:44535',
      '# MINIO_IDENTITY_LDAP_USER_DN_SEARCH_FILTER=(cn=%s)',
      LDAP_FRESH,
    ].join('\n');
    const live = parseConfigKV(text);
    expect(liveIdentity(live).ldap?.['server_addr']).toBe('127.0.0.1:44535');
    const d = declaredIdentity(ldapSpec());
    expect(conflictingEnv(d, live)).toEqual(['MINIO_IDENTITY_LDAP_USER_DN_SEARCH_FILTER']);
    const enablesOpenID = parseConfigKV(
      `# MINIO_IDENTITY_OPENID_CONFIG_URL=https://x/.well-known/openid-configuration\n${OPENID_FRESH}`,
    );
    expect(conflictingEnv(d, enablesOpenID)).toEqual(['MINIO_IDENTITY_OPENID_CONFIG_URL']);
    expect(conflictingEnv(d, parseConfigKV(LDAP_LIVE))).toEqual([]);
  });

  it('treats enable=off as not configured', () => {
    const off = parseConfigKV(LDAP_LIVE.replace('identity_ldap ', 'identity_ldap enable=off '));
    expect(liveIdentity(off).ldap).toBeUndefined();
  });
});

describe('secrets stay out of every digest and view', () => {
  it('the set-config-kv line carries the secret; the view and digest do not', () => {
    const d = declaredIdentity(ldapSpec());
    const text = setConfigText(d, SECRET);
    const kv = Object.fromEntries(parseKeyValues(text.slice('identity_ldap '.length)));
    expect(kv['lookup_bind_password']).toBe(SECRET);
    expect(kv['enable']).toBe('on');
    expect(JSON.stringify(d)).not.toContain(SECRET);
    expect(JSON.stringify(d.view)).not.toContain('lookup_bind_password');
  });

  it('a secret value reported by a site changes neither its view nor its digest', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9]{4,32}$/), (random) => {
        const secret = `Zq9-${random}`; // never a substring of the rest of the configuration
        const withSecret = LDAP_LIVE.replace(
          'lookup_bind_dn=',
          `lookup_bind_password=${secret} lookup_bind_dn=`,
        );
        const live = parseConfigKV(withSecret);
        expect(JSON.stringify(liveIdentity(live))).not.toContain(secret);
        expect(liveIdentityDigest(live)).toBe(liveIdentityDigest(parseConfigKV(LDAP_LIVE)));
        const oidc = parseConfigKV(
          OPENID_LIVE.replace('client_id=', `client_secret=${secret} client_id=`),
        );
        expect(liveIdentityDigest(oidc)).toBe(liveIdentityDigest(parseConfigKV(OPENID_LIVE)));
      }),
    );
  });

  it('digests are short, prefixed and stable whatever the key order', () => {
    const d = declaredIdentity(openidSpec());
    expect(d.digest).toMatch(/^sha256:[0-9a-f]{16}$/);
    const reversed = Object.fromEntries(Object.entries(d.values).reverse());
    expect(identityDigest({ openid: { _: reversed } })).toBe(d.digest);
  });
});

describe('staleConfigKeys', () => {
  it('removes the other subsystem and extra OpenID targets, only when configured', () => {
    const ldap = declaredIdentity(ldapSpec());
    const openid = declaredIdentity(openidSpec());
    const both = liveIdentity(
      parseConfigKV(
        `${LDAP_LIVE}${OPENID_LIVE}${OPENID_LIVE.replace('identity_openid ', 'identity_openid:okta ')}`,
      ),
    );
    expect(staleConfigKeys(ldap, both)).toEqual(['identity_openid', 'identity_openid:okta']);
    expect(staleConfigKeys(openid, both)).toEqual(['identity_ldap', 'identity_openid:okta']);
    expect(staleConfigKeys(ldap, liveIdentity(parseConfigKV(FRESH)))).toEqual([]);
  });
});

describe('describeRejection', () => {
  const prefix = 'a: setConfigKV: PUT /minio/admin/v3/set-config-kv: HTTP 400 ';
  it('names a refused lookup bind DN', () => {
    const r = describeRejection(
      declaredIdentity(ldapSpec()),
      `${prefix}XMinioAdminConfigBadJSON: LDAP Lookup Bind Error: Error connecting as LDAP Lookup Bind user: LDAP Lookup Bind user invalid credentials error: LDAP Result Code 49 "Invalid Credentials": `,
    );
    expect(r.reason).toBe('LDAPBindRefused');
    expect(r.message).toBe(
      'the LDAP server 127.0.0.1:44535 refused the lookup bind DN "cn=admin,dc=min,dc=io" (spec.ldap.lookupBindDN, spec.ldap.lookupBindPassword): LDAP Lookup Bind Error: Error connecting as LDAP Lookup Bind user: LDAP Lookup Bind user invalid credentials error: LDAP Result Code 49 "Invalid Credentials"',
    );
  });

  it('names an LDAP server the site cannot reach', () => {
    const r = describeRejection(
      declaredIdentity(ldapSpec({ serverAddr: '127.0.0.1:1' })),
      `${prefix}XMinioAdminConfigBadJSON: LDAP Server Connection Error: Could not connect to LDAP server: LDAP Result Code 200 "Network Error": dial tcp 127.0.0.1:1: connect: connection refused`,
    );
    expect(r.reason).toBe('LDAPServerUnreachable');
    expect(r.message).toContain('the site cannot reach the LDAP server 127.0.0.1:1');
  });

  it('names an issuer the site cannot reach', () => {
    const url = 'http://127.0.0.1:1/.well-known/openid-configuration';
    const r = describeRejection(
      declaredIdentity(openidSpec({ configURL: url })),
      `${prefix}XMinioAdminConfigBadJSON: Get "${url}": dial tcp 127.0.0.1:1: connect: connection refused`,
    );
    expect(r.reason).toBe('IssuerUnreachable');
    expect(r.message).toBe(
      `the site cannot fetch the OpenID discovery document ${url} (spec.openid.configURL): Get "${url}": dial tcp 127.0.0.1:1: connect: connection refused`,
    );
  });

  it('keeps any other explanation', () => {
    const r = describeRejection(
      declaredIdentity(openidSpec()),
      `${prefix}XMinioConfigError: 'client_secret' is not optional for 'identity_openid' sub-system, please check 'identity_openid' documentation`,
    );
    expect(r).toEqual({
      reason: 'IdentityConfigRejected',
      message:
        "the site rejected the identity_openid configuration: 'client_secret' is not optional for 'identity_openid' sub-system, please check 'identity_openid' documentation",
    });
  });
});
