/**
 * Resources the apiserver refuses, shared by the CRD test (each is refused, naming the field)
 * and the comparison of `sitesync validate` with `kubectl apply --dry-run=server` (both give the
 * same verdict on each of these, on every sample, and on the YAML texts below).
 */

export const site = (name: string, extra: object = {}) => ({
  name,
  endpoint: `http://${name}.example:9000`,
  credentialsSecret: { name: `${name}-creds` },
  ...extra,
});

export const srg = (spec: object, metadata: object = {}) => ({
  apiVersion: 'sitesync.io/v1alpha1',
  kind: 'SiteReplicationGroup',
  metadata: { name: 'bad', ...metadata },
  spec: { sites: [site('a'), site('b')], ...spec },
});

/** A MinIO remote-target ARN, what a rule on a MinIO source names. */
const MINIO_TARGET = 'arn:minio:replication::0f4a4c9e-3a1b-4c6e-9b8f-1d2e3f4a5b6c:dest';

export const rule = (extra: object = {}) => ({
  id: 'r1',
  status: 'Enabled',
  priority: 1,
  deleteMarkerReplication: { status: 'Disabled' },
  filter: { prefix: 'logs/' },
  destination: { bucket: MINIO_TARGET },
  ...extra,
});

export const brep = (spec: object) => ({
  apiVersion: 'sitesync.io/v1alpha1',
  kind: 'BucketReplication',
  metadata: { name: 'bad' },
  spec: {
    source: { bucket: 'photos', groupRef: { name: 'g' }, site: 'a' },
    rules: [rule()],
    ...spec,
  },
});

export const idp = (spec: object) => ({
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

/** What every invalid case below changes one thing of: both verdicts accept these. */
export const VALID: [string, object][] = [
  ['a group', srg({})],
  ['a group synced every second (the minimum)', srg({ syncInterval: '1s' })],
  ['a bucket replication', brep({})],
  ['an LDAP provider', idp({ ldap })],
  ['an OpenID provider', idp({ openid })],
];

/** [what, resource, text kubectl's refusal must contain (the field)] */
export const INVALID: [string, object, string][] = [
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
  ['a null site', srg({ sites: [site('a'), site('b'), null] }), 'spec.sites[2]'],
  ['unknown mode', srg({ mode: 'Mirror' }), 'spec.mode'],
  [
    'unknown flavor',
    srg({ sites: [site('a', { flavor: 'gcs' }), site('b')] }),
    'spec.sites[0].flavor',
  ],
  ['site name not a DNS label', srg({ sites: [site('Site_A'), site('b')] }), 'spec.sites[0].name'],
  ['bad syncInterval', srg({ syncInterval: 'soon' }), 'spec.syncInterval'],
  ['a number where a string goes', srg({ syncInterval: 30 }), 'spec.syncInterval'],
  ['syncInterval 0s', srg({ syncInterval: '0s' }), 'spec.syncInterval must be at least 1s'],
  ['syncInterval 500ms', srg({ syncInterval: '500ms' }), 'spec.syncInterval must be at least 1s'],
  [
    'two spellings of one endpoint',
    srg({
      sites: [
        site('a', { endpoint: 'http://A.Example:80/' }),
        site('b', { endpoint: 'http://a.example' }),
      ],
    }),
    'spec.sites[].endpoint must be unique',
  ],
  [
    'a deletion guard over 100 %',
    srg({ deletionGuard: { maxPercent: 101 } }),
    'spec.deletionGuard.maxPercent',
  ],
  [
    'two sites on one endpoint',
    srg({ sites: [site('a'), site('b', { endpoint: 'http://a.example:9000' })] }),
    'spec.sites[].endpoint must be unique',
  ],
  ['an unknown spec field', srg({ mdoe: 'ActiveActive' }), 'spec.mdoe'],
  [
    'an unknown nested field',
    srg({ replicate: { iam: { user: false } } }),
    'spec.replicate.iam.user',
  ],
  ['an unknown top-level field', { ...srg({}), spce: {} }, 'spce'],
  ['an unknown metadata field', srg({}, { lables: { a: 'b' } }), 'metadata.lables'],
  ['an unknown status field', { ...srg({}), status: { ready: true } }, 'status.ready'],
  ['a label key with a space', srg({}, { labels: { 'a b': 'x' } }), 'metadata.labels'],
  ['a label value that is a number', srg({}, { labels: { tier: 1 } }), 'metadata.labels'],
  [
    'a label value over 63 characters',
    srg({}, { labels: { a: 'x'.repeat(64) } }),
    'metadata.labels',
  ],
  ['an upper-case name', srg({}, { name: 'Europe' }), 'metadata.name'],
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
  [
    'a tag key twice in a filter',
    brep({
      rules: [
        rule({
          filter: {
            and: {
              tags: [
                { key: 'k', value: '1' },
                { key: 'k', value: '2' },
              ],
            },
          },
        }),
      ],
    }),
    'spec.rules[0].filter.and.tags[1]',
  ],
  ['a negative priority', brep({ rules: [rule({ priority: -1 })] }), 'spec.rules[0].priority'],
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
  [
    'too many scopes',
    idp({ openid: { ...openid, scopes: Array(65).fill('s') } }),
    'spec.openid.scopes',
  ],
];

const SRG_HEAD = `apiVersion: sitesync.io/v1alpha1
kind: SiteReplicationGroup
metadata: {name: text}
spec:
  sites:
    - {name: a, endpoint: 'http://a:9000', credentialsSecret: {name: a}}
`;
const SITE_B = `    - {name: b, endpoint: 'http://b:9000', credentialsSecret: {name: b}}\n`;
const RULE = `{id: r, priority: 1, filter: {prefix: a/}, deleteMarkerReplication: {status: Disabled}, destination: {bucket: '${MINIO_TARGET}'}}`;

/** [what, YAML text, accepted]: where how the text is read decides the verdict. */
export const YAML_CASES: [string, string, boolean][] = [
  [
    'yes/no/on/off are booleans (YAML 1.1)',
    `${SRG_HEAD}${SITE_B}  paused: yes\n  allowSiteRemoval: Off\n`,
    true,
  ],
  [
    'a null field is dropped',
    `${SRG_HEAD}${SITE_B}  primary: null\n  identityProviderRef: ~\n`,
    true,
  ],
  ['an unknown field set to null is dropped too', `${SRG_HEAD}${SITE_B}  foo: null\n`, true],
  [
    'a repeated key keeps its last value',
    `${SRG_HEAD}${SITE_B}  mode: Mirror\n  mode: ActiveActive\n`,
    true,
  ],
  [
    'a repeated key keeps its last value (invalid)',
    `${SRG_HEAD}${SITE_B}  mode: ActiveActive\n  mode: Mirror\n`,
    false,
  ],
  [
    'merge keys',
    `${SRG_HEAD.replace('    - {name: a,', '    - &a {name: a,')}    - {<<: *a, name: b, endpoint: 'http://b:9000'}\n`,
    true,
  ],
  ['an integer with _ is an integer', `${SRG_HEAD}${SITE_B}  syncInterval: 1_000\n`, false],
  [
    'a site named 0b1 is an integer',
    `${SRG_HEAD}    - {name: 0b1, endpoint: 'http://b:9000', credentialsSecret: {name: b}}\n`,
    false,
  ],
  [
    'a site named "0b1" is a string',
    `${SRG_HEAD}    - {name: "0b1", endpoint: 'http://b:9000', credentialsSecret: {name: b}}\n`,
    true,
  ],
  ['a time-like value stays a string', `${SRG_HEAD}${SITE_B}  syncInterval: 1:20\n`, false],
  ['empty documents around', `---\n---\n${SRG_HEAD}${SITE_B}---\n`, true],
  [
    'a document without kind',
    'apiVersion: sitesync.io/v1alpha1\nmetadata: {name: x}\nspec: {}\n',
    false,
  ],
  [
    'a document without a name',
    SRG_HEAD.replace('metadata: {name: text}', 'metadata: {}') + SITE_B,
    false,
  ],
  [
    'a v1 List of a valid group',
    `apiVersion: v1\nkind: List\nitems:\n- ${(SRG_HEAD + SITE_B).replace(/\n(?!$)/g, '\n  ')}`,
    true,
  ],
  [
    'a v1 List of an invalid group',
    `apiVersion: v1\nkind: List\nitems:\n- ${SRG_HEAD.replace(/\n(?!$)/g, '\n  ')}`,
    false,
  ],
  [
    '1001 rules aliasing one anchor',
    `apiVersion: sitesync.io/v1alpha1
kind: BucketReplication
metadata: {name: many}
spec:
  source: {bucket: photos, groupRef: {name: g}, site: a}
  rules:
    - &r ${RULE}
${'    - *r\n'.repeat(1000)}`,
    false,
  ],
  [
    '1000 rules sharing one destination through 999 aliases',
    `apiVersion: sitesync.io/v1alpha1
kind: BucketReplication
metadata: {name: many}
spec:
  source: {bucket: photos, groupRef: {name: g}, site: a}
  rules:
${Array.from(
  { length: 1000 },
  (_, i) =>
    `    - {id: r${i}, priority: ${i}, filter: {prefix: p${i}/}, deleteMarkerReplication: {status: Disabled}, destination: ${i === 0 ? `&d {bucket: '${MINIO_TARGET}'}` : '*d'}}\n`,
).join('')}`,
    true,
  ],
  [
    'an alias bomb',
    `${SRG_HEAD}${SITE_B}  x:\n${Array.from({ length: 12 }, (_, i) =>
      i === 0
        ? '    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'
        : `    a${i}: &a${i} [${Array(9)
            .fill(`*a${i - 1}`)
            .join(', ')}]`,
    ).join('\n')}\n`,
    false,
  ],
  ['an anchor inside itself', `${SRG_HEAD}${SITE_B}  replicate: &r {iam: *r}\n`, false],
];

/**
 * What only the operator refuses (it would report Stalled/InvalidSpec) and `sitesync validate`
 * reports too: the apiserver accepts these.
 */
export const OPERATOR_ONLY: [string, object][] = [
  ['two rules with one priority', brep({ rules: [rule(), rule({ id: 'r2' })] })],
  ['a reserved rule ID', brep({ rules: [rule({ id: 'sitesync-b' })] })],
];
