import { describe, expect, it } from '@jest/globals';

import { digestReplicationConfig } from './digest.js';
import {
  type SourceFacts,
  checkBucketReplication,
  configOf,
  conflictOf,
  formatIssue,
  parseSpec,
  validateForSource,
} from './bucket-replication-spec.js';

const ARN = 'arn:minio:replication::0f4a4c9e-3a1b-4c6e-9b8f-1d2e3f4a5b6c:photos';
const group = { groupRef: { name: 'europe' }, site: 'site-a', bucket: 'photos' };
const facts: SourceFacts = {
  flavor: 'minio',
  siteName: 'site-a',
  groupSites: ['site-a', 'site-b'],
};

const rule = (id: string, priority: number, extra: object = {}) => ({
  id,
  priority,
  filter: { prefix: `${id}/` },
  deleteMarkerReplication: { status: 'Disabled' },
  destination: { site: 'site-b' },
  ...extra,
});

const messages = (raw: unknown, f: SourceFacts = facts) => {
  const r = checkBucketReplication(raw, f);
  return r.ok ? [] : r.issues.map(formatIssue);
};

describe('checkBucketReplication', () => {
  it('accepts a valid spec and gives the one model', () => {
    const r = checkBucketReplication({ source: group, rules: [rule('a', 1), rule('b', 2)] }, facts);
    expect(r.ok).toBe(true);
    if (r.ok)
      expect(r.value.config.rules.map((x) => x.destination.site?.name)).toEqual([
        'site-b',
        'site-b',
      ]);
  });

  it('names the rule and the field of what only the operator can check', () => {
    expect(messages({ source: group, rules: [rule('a', 1), rule('b', 1)] })).toEqual([
      'spec.rules[1].priority: rule "b": priority 1 is already used by rules[0]; priorities must be unique',
    ]);
  });

  it('reports zod errors at their path, with the rule', () => {
    expect(messages({ source: group, rules: [rule('a', 1), rule('b', -1)] })).toEqual([
      'spec.rules[1].priority: rule "b": Too small: expected number to be >=0',
    ]);
  });

  it('runs the cross-field rules of src/api (source, spec, rules)', () => {
    expect(messages({ source: { bucket: 'photos', site: 'a' }, rules: [rule('a', 1)] })).toEqual([
      'spec.source: spec.source needs exactly one of groupRef (with site) and siteSpec',
      'spec.source: spec.source.site names the site inside spec.source.groupRef; give both or neither',
    ]);
    expect(messages({ source: group })).toEqual([
      'spec: exactly one of spec.rules and spec.configurationXML must be set',
    ]);
    const noPriority = { ...rule('a', 1), priority: undefined };
    expect(messages({ source: group, rules: [noPriority] })).toEqual([
      'spec.rules[0]: rule "a": a rule with a filter needs priority and deleteMarkerReplication',
    ]);
  });

  it('rejects rule IDs reserved for group peer links', () => {
    expect(messages({ source: group, rules: [rule('sitesync-b', 1)] })).toEqual([
      'spec.rules[0].id: rule "sitesync-b": rule IDs starting with sitesync- are reserved for the peer links of a SiteReplicationGroup',
    ]);
  });

  it('checks managed destinations against the group', () => {
    expect(
      messages({ source: group, rules: [rule('a', 1, { destination: { site: 'site-z' } })] }),
    ).toEqual([
      'spec.rules[0].destination.site: rule "a": site site-z is not a site of SiteReplicationGroup europe (sites: site-a, site-b)',
    ]);
    expect(
      messages({ source: group, rules: [rule('a', 1, { destination: { site: 'site-a' } })] }),
    ).toEqual([
      'spec.rules[0].destination.site: rule "a": the rule replicates bucket photos on site site-a to itself; name another site or destination.bucket',
    ]);
    const inline = {
      bucket: 'photos',
      siteSpec: { name: 'a', endpoint: 'http://a:9000', credentialsSecret: { name: 's' } },
    };
    expect(
      messages({ source: inline, rules: [rule('a', 1)] }, { flavor: 'minio', siteName: 'a' }),
    ).toEqual([
      'spec.rules[0].destination.site: rule "a": a managed destination site needs spec.source.groupRef: sites are found in the group',
    ]);
  });

  it('gives the same model for rules and for the equivalent XML', () => {
    const rules = [
      {
        id: 'raw',
        priority: 1,
        filter: { and: { prefix: 'raw/', tags: [{ key: 'replicate', value: 'yes' }] } },
        deleteMarkerReplication: { status: 'Disabled' },
        existingObjectReplication: { status: 'Enabled' },
        destination: { bucket: ARN, storageClass: 'STANDARD' },
      },
    ];
    const xml = `<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
      <Rule><ID>raw</ID><Priority>1</Priority><Status>Enabled</Status>
        <Filter><And><Prefix>raw/</Prefix><Tag><Key>replicate</Key><Value>yes</Value></Tag></And></Filter>
        <DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>
        <ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication>
        <Destination><Bucket>${ARN}</Bucket><StorageClass>STANDARD</StorageClass></Destination>
      </Rule></ReplicationConfiguration>`;
    const fromRules = checkBucketReplication({ source: group, rules }, facts);
    const fromXml = checkBucketReplication({ source: group, configurationXML: xml }, facts);
    expect(fromRules.ok && fromXml.ok).toBe(true);
    if (fromRules.ok && fromXml.ok) {
      expect(fromXml.value.config).toEqual(fromRules.value.config);
      expect(digestReplicationConfig(fromXml.value.config)).toBe(
        digestReplicationConfig(fromRules.value.config),
      );
    }
  });

  it('reports XML errors under spec.configurationXML, naming the rule', () => {
    const bad = `<ReplicationConfiguration><Rule><Priority>x</Priority><Status>Enabled</Status><Destination><Bucket>${ARN}</Bucket></Destination></Rule></ReplicationConfiguration>`;
    const [m] = messages({ source: group, configurationXML: bad });
    expect(m).toMatch(/^spec\.configurationXML: rule #0: .*Priority/);
    const dup = `<ReplicationConfiguration><Rule><ID>a</ID><Status>Enabled</Status><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>${ARN}</Bucket></Destination></Rule><Rule><ID>a</ID><Priority>1</Priority><Status>Enabled</Status><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>${ARN}</Bucket></Destination></Rule></ReplicationConfiguration>`;
    expect(messages({ source: group, configurationXML: dup })).toEqual([
      `spec.configurationXML.rules[1].id: rule "a": id 'a' is already used by rules[0]; rule IDs must be unique`,
    ]);
  });

  it('refuses spec.role beside configurationXML', () => {
    const spec = parseSpec({ source: group, role: '', configurationXML: '<x/>' });
    expect(spec.ok).toBe(true);
    if (spec.ok) {
      const c = configOf(spec.value);
      expect(c.ok ? [] : c.issues.map(formatIssue)).toEqual([
        'spec.role: with spec.configurationXML, give the role as <Role> inside the document, not in spec.role',
      ]);
    }
  });

  it('validates for the flavor of the source site', () => {
    const spec = parseSpec({
      source: group,
      rules: [rule('a', 1, { destination: { bucket: 'other' } })],
    });
    const config = spec.ok ? configOf(spec.value) : undefined;
    if (!spec.ok || !config?.ok) throw new Error('setup');
    const minio = validateForSource(spec.value, config.value, facts).map(formatIssue);
    expect(minio[0]).toMatch(
      /^spec\.rules\[0\]\.destination\.bucket: rule "a": arn:aws:s3:::<bucket> needs the legacy form/,
    );
    const s3 = validateForSource(spec.value, config.value, { ...facts, flavor: 's3' }).map(
      formatIssue,
    );
    expect(s3).toContain(
      'spec.role: role is required by S3: the ARN of the IAM role that replicates',
    );
  });
});

describe('conflictOf', () => {
  const br = (name: string, created: string, source: object, deleting = false) => ({
    metadata: {
      name,
      namespace: 'ns',
      creationTimestamp: created,
      ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { source },
  });
  const old = br('old', '2026-01-01T00:00:00Z', group);
  const young = br('young', '2026-01-02T00:00:00Z', group);
  const other = br('other', '2025-01-01T00:00:00Z', { ...group, bucket: 'logs' });

  it('lets the oldest resource of a bucket win', () => {
    const all = [old, young, other];
    expect(conflictOf(young, all)).toBe('ns/old');
    expect(conflictOf(old, all)).toBeUndefined();
    expect(conflictOf(other, all)).toBeUndefined();
  });

  it('ignores resources being deleted and unreadable sources', () => {
    const leaving = br('old', '2026-01-01T00:00:00Z', group, true);
    expect(conflictOf(young, [leaving, young])).toBeUndefined();
    expect(
      conflictOf(young, [br('junk', '2020-01-01T00:00:00Z', { bucket: 'X' }), young]),
    ).toBeUndefined();
  });

  it('compares inline sites by endpoint', () => {
    const site = (endpoint: string) => ({ name: 'a', endpoint, credentialsSecret: { name: 's' } });
    const a = br('a', '2026-01-01T00:00:00Z', {
      bucket: 'photos',
      siteSpec: site('http://h:9000/'),
    });
    const b = br('b', '2026-01-02T00:00:00Z', {
      bucket: 'photos',
      siteSpec: site('http://H:9000'),
    });
    expect(conflictOf(b, [a, b])).toBe('ns/a');
  });
});

describe('PutBucketReplication request headers in the spec', () => {
  const spec = {
    source: {
      bucket: 'photos',
      siteSpec: {
        name: 'aws',
        endpoint: 'https://s3.us-east-1.amazonaws.com',
        flavor: 's3',
        credentialsSecret: { name: 'aws' },
      },
      expectedBucketOwner: '123456789012',
    },
    objectLockToken: 'token',
    role: 'arn:aws:iam::123456789012:role/replication',
    rules: [
      {
        id: 'all',
        priority: 1,
        filter: { prefix: '' },
        deleteMarkerReplication: { status: 'Disabled' },
        destination: { bucket: 'backup' },
      },
    ],
  };

  it('are taken on an s3 source and refused on a MinIO source, naming the field', () => {
    expect(checkBucketReplication(spec, { flavor: 's3', siteName: 'aws' }).ok).toBe(true);
    const minio = checkBucketReplication(spec, { flavor: 'minio', siteName: 'aws' });
    expect(minio.ok).toBe(false);
    const paths = minio.ok ? [] : minio.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['spec.source.expectedBucketOwner', 'spec.objectLockToken']),
    );
  });

  it('expectedBucketOwner is a 12-digit account', () => {
    const bad = { ...spec, source: { ...spec.source, expectedBucketOwner: '1234' } };
    const r = checkBucketReplication(bad, { flavor: 's3', siteName: 'aws' });
    expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual(['spec.source.expectedBucketOwner']);
  });
});
