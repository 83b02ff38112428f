/**
 * The CRDs on the real apiserver: they are established, every sample is accepted, and invalid
 * resources are rejected at admission with a message that names the offending field.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';

import { applyCrds, createNamespace, kubectl, mustKubectl } from '../support/kube.js';

let ns: string;

beforeAll(async () => {
  await applyCrds();
  ns = await createNamespace('crds');
});

const site = (name: string, extra: object = {}) => ({
  name,
  endpoint: `http://${name}.example:9000`,
  credentialsSecret: { name: `${name}-creds` },
  ...extra,
});

const srg = (spec: object) => ({
  apiVersion: 'sitesync.io/v1alpha1',
  kind: 'SiteReplicationGroup',
  metadata: { name: 'bad' },
  spec: { sites: [site('a'), site('b')], ...spec },
});

const rule = (extra: object = {}) => ({
  id: 'r1',
  status: 'Enabled',
  priority: 1,
  deleteMarkerReplication: { status: 'Disabled' },
  filter: { prefix: 'logs/' },
  destination: { bucket: 'arn:aws:s3:::dest' },
  ...extra,
});

const brep = (spec: object) => ({
  apiVersion: 'sitesync.io/v1alpha1',
  kind: 'BucketReplication',
  metadata: { name: 'bad' },
  spec: {
    source: { bucket: 'photos', groupRef: { name: 'g' }, site: 'a' },
    rules: [rule()],
    ...spec,
  },
});

const idp = (spec: object) => ({
  apiVersion: 'sitesync.io/v1alpha1',
  kind: 'IdentityProvider',
  metadata: { name: 'bad' },
  spec,
});

const ldap = {
  serverAddr: 'ldap:389',
  lookupBindDN: 'cn=admin',
  lookupBindPassword: { name: 'pw' },
  userDNSearchBaseDN: 'dc=x',
  userDNSearchFilter: '(uid=%s)',
};
const openid = { configURL: 'https://sso.example/.well-known/openid-configuration', clientID: 'x' };

/** [what, resource, text the apiserver's message must contain (the field)] */
const INVALID: [string, object, string][] = [
  [
    'duplicate site names',
    srg({ sites: [site('a'), site('a', { endpoint: 'http://x:1' })] }),
    'spec.sites[1]',
  ],
  [
    'primary not among the sites',
    srg({ primary: 'zzz' }),
    'spec.primary must name one of spec.sites',
  ],
  [
    'PrimarySecondary without primary',
    srg({ mode: 'PrimarySecondary' }),
    'spec.primary is required',
  ],
  [
    'bad endpoint URL',
    srg({ sites: [site('a', { endpoint: 'ftp://a' }), site('b')] }),
    'spec.sites[0].endpoint',
  ],
  [
    'missing credentials secret name',
    srg({ sites: [site('a', { credentialsSecret: {} }), site('b')] }),
    'spec.sites[0].credentialsSecret.name',
  ],
  ['one site only', srg({ sites: [site('a')] }), 'spec.sites'],
  ['33 sites', srg({ sites: Array.from({ length: 33 }, (_, i) => site(`s${i}`)) }), 'spec.sites'],
  ['unknown mode', srg({ mode: 'Mirror' }), 'spec.mode'],
  [
    'unknown flavor',
    srg({ sites: [site('a', { flavor: 'gcs' }), site('b')] }),
    'spec.sites[0].flavor',
  ],
  ['site name not a DNS label', srg({ sites: [site('Site_A'), site('b')] }), 'spec.sites[0].name'],
  ['bad syncInterval', srg({ syncInterval: 'soon' }), 'spec.syncInterval'],
  [
    'two sites on one endpoint',
    srg({ sites: [site('a'), site('b', { endpoint: 'http://a.example:9000' })] }),
    'spec.sites[].endpoint must be unique',
  ],
  [
    'both rules and configurationXML',
    brep({ configurationXML: '<ReplicationConfiguration/>' }),
    'exactly one of spec.rules and spec.configurationXML',
  ],
  [
    'neither rules nor configurationXML',
    brep({ rules: undefined }),
    'exactly one of spec.rules and spec.configurationXML',
  ],
  [
    '1001 rules',
    brep({ rules: Array.from({ length: 1001 }, (_, i) => rule({ id: `r${i}`, priority: i })) }),
    'spec.rules',
  ],
  ['rule ID over 255 chars', brep({ rules: [rule({ id: 'x'.repeat(256) })] }), 'spec.rules[0].id'],
  [
    'prefix over 1024 chars',
    brep({ rules: [rule({ filter: { prefix: 'p'.repeat(1025) } })] }),
    'spec.rules[0].filter.prefix',
  ],
  ['unknown rule status', brep({ rules: [rule({ status: 'On' })] }), 'spec.rules[0].status'],
  ['source without a site', brep({ source: { bucket: 'photos' } }), 'spec.source'],
  [
    'bad bucket name',
    brep({ source: { bucket: 'Bad_Bucket', groupRef: { name: 'g' }, site: 'a' } }),
    'spec.source.bucket',
  ],
  ['both openid and ldap', idp({ openid, ldap }), 'exactly one of spec.openid and spec.ldap'],
  ['neither openid nor ldap', idp({}), 'exactly one of spec.openid and spec.ldap'],
  [
    'LDAP address without port',
    idp({ ldap: { ...ldap, serverAddr: 'ldap.example' } }),
    'spec.ldap.serverAddr',
  ],
];

describe('CRDs on the real apiserver', () => {
  it('accepts every sample', async () => {
    const out = await mustKubectl(['apply', '-n', ns, '-f', 'manifests/samples/']);
    expect(out).toMatch(/sitereplicationgroup.sitesync.io\/europe created/);
    expect(out).toMatch(/identityprovider.sitesync.io\/corporate-ldap created/);
    expect(out).toMatch(/bucketreplication.sitesync.io\/\S+ created/);
    const get = await mustKubectl(['get', 'srg,brep,idp', '-n', ns]);
    expect(get).toMatch(/MODE/);
  });

  it('applies defaults at admission', async () => {
    const name = 'defaults';
    const obj = srg({});
    obj.metadata.name = name;
    await mustKubectl(['apply', '-n', ns, '-f', '-'], stringify(obj));
    const spec = JSON.parse(
      await mustKubectl(['get', 'srg', name, '-n', ns, '-o', 'jsonpath={.spec}']),
    ) as {
      mode: string;
      syncInterval: string;
      replicate: { iam: { users: boolean } };
      sites: { flavor: string; region: string }[];
    };
    expect(spec.mode).toBe('ActiveActive');
    expect(spec.syncInterval).toBe('30s');
    expect(spec.replicate.iam.users).toBe(true);
    expect(spec.sites[0]?.flavor).toBe('minio');
    expect(spec.sites[0]?.region).toBe('us-east-1');
  });

  it.each(INVALID)('rejects %s, naming the field', async (_what, resource, field) => {
    const r = await kubectl(['create', '-n', ns, '-f', '-'], stringify(resource));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('is invalid');
    expect(r.stderr).toContain(field);
  });
});
