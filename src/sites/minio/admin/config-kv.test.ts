import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import {
  ConfigKVSyntaxError,
  DEFAULT_TARGET,
  formatConfigLine,
  parseConfigKV,
  parseKeyValues,
} from './config-kv.js';

// What a 2026-02 MinIO answered to get-config-kv?key=identity_ldap on a fresh server.
const LDAP_DEFAULT =
  'identity_ldap enable= server_addr= srv_record_name= user_dn_search_base_dn= user_dn_search_filter= user_dn_attributes= group_search_filter= group_search_base_dn= tls_skip_verify=off server_insecure=off server_starttls=off lookup_bind_dn= lookup_bind_password= \n';

describe('parseConfigKV', () => {
  it('parses a default target with empty values', () => {
    const [cfg, ...rest] = parseConfigKV(LDAP_DEFAULT);
    expect(rest).toEqual([]);
    expect(cfg?.subsystem).toBe('identity_ldap');
    expect(cfg?.target).toBe(DEFAULT_TARGET);
    expect(cfg?.values['server_addr']).toBe('');
    expect(cfg?.values['tls_skip_verify']).toBe('off');
    expect(Object.keys(cfg?.values ?? {})).toHaveLength(13);
  });

  it('groups env overrides with the config line that follows, per target', () => {
    const text = [
      '# MINIO_IDENTITY_OPENID_CLIENT_ID=minio-env',
      'identity_openid client_id=minio config_url="https://idp.example/.well-known/openid-configuration" scopes="openid, email"',
      '# a plain comment',
      '# MINIO_IDENTITY_OPENID_CLAIM_NAME_OKTA=groups',
      'identity_openid:okta client_id=okta-app claim_name=policy',
      '',
    ].join('\n');
    const [def, okta] = parseConfigKV(text);
    expect(def).toEqual({
      subsystem: 'identity_openid',
      target: '_',
      values: {
        client_id: 'minio',
        config_url: 'https://idp.example/.well-known/openid-configuration',
        scopes: 'openid, email',
      },
      env: { client_id: { name: 'MINIO_IDENTITY_OPENID_CLIENT_ID', value: 'minio-env' } },
    });
    expect(okta).toEqual({
      subsystem: 'identity_openid',
      target: 'okta',
      values: { client_id: 'okta-app', claim_name: 'policy' },
      env: { claim_name: { name: 'MINIO_IDENTITY_OPENID_CLAIM_NAME_OKTA', value: 'groups' } },
    });
  });

  it('accepts a subsystem line without values and an empty text', () => {
    expect(parseConfigKV('region')).toEqual([
      { subsystem: 'region', target: '_', values: {}, env: {} },
    ]);
    expect(parseConfigKV('\n\n')).toEqual([]);
  });

  it('rejects malformed lines', () => {
    expect(() => parseConfigKV('api requests_max')).toThrow(ConfigKVSyntaxError);
    expect(() => parseConfigKV('api comment="unterminated')).toThrow(ConfigKVSyntaxError);
    expect(() => parseConfigKV('# MINIO_OTHER_X=1\napi a=b')).toThrow(ConfigKVSyntaxError);
  });
});

describe('parseKeyValues', () => {
  it('keeps `=` inside values and order of keys', () => {
    expect(parseKeyValues('a=1 filter="(&(uid=%s))" b=x=y')).toEqual([
      ['a', '1'],
      ['filter', '(&(uid=%s))'],
      ['b', 'x=y'],
    ]);
  });
});

describe('formatConfigLine', () => {
  it('quotes empty values and values with spaces, sorts keys, names non-default targets', () => {
    expect(
      formatConfigLine('identity_openid', 'okta', {
        scopes: 'openid email',
        client_id: 'a',
        comment: '',
      }),
    ).toBe('identity_openid:okta client_id=a comment="" scopes="openid email"');
    expect(formatConfigLine('identity_ldap', '_', { server_addr: 'ldap:389' })).toBe(
      'identity_ldap server_addr=ldap:389',
    );
  });

  it('refuses a double quote in a value (the format has no escape)', () => {
    expect(() => formatConfigLine('api', '_', { comment: 'say "hi"' })).toThrow(
      ConfigKVSyntaxError,
    );
  });

  it('round-trips through parseConfigKV', () => {
    const key = fc.stringMatching(/^[a-z][a-z_]{0,15}$/);
    const value = fc
      .string({ maxLength: 20 })
      .filter((v) => !v.includes('"') && !/[\n\r]/.test(v) && v.trim() === v);
    const target = fc.oneof(fc.constant('_'), fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/));
    fc.assert(
      fc.property(
        key,
        target,
        fc.dictionary(key, value, { maxKeys: 6 }),
        (subsystem, tgt, values) => {
          const [parsed] = parseConfigKV(formatConfigLine(subsystem, tgt, values));
          expect(parsed?.subsystem).toBe(subsystem);
          expect(parsed?.target).toBe(tgt);
          expect(parsed?.values).toEqual(values);
        },
      ),
    );
  });
});
