import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import type { Filter, ReplicationConfig, ReplicationRule, Tag } from './replication-config.js';
import {
  type DestinationFlavor,
  type ValidationIssue,
  MINIO_STORAGE_CLASSES,
  S3_REPLICA_STORAGE_CLASSES,
  activeRules,
  validateReplicationConfig,
} from './validate.js';
import { buildReplicationXML, parseReplicationXML } from './xml-codec.js';

const ROLE = 'arn:aws:iam::123456789012:role/replication';
const DEST = 'arn:aws:s3:::dest';
const TARGET = 'arn:minio:replication::7f1c0b2e-1111-2222-3333-444455556666:dest';

/** A valid S3 V2 rule. */
const s3Rule = (extra: Partial<ReplicationRule> = {}): ReplicationRule => ({
  id: 'r1',
  priority: 1,
  status: 'Enabled',
  filter: { prefix: 'logs/' },
  deleteMarkerReplication: { status: 'Disabled' },
  destination: { bucket: DEST },
  ...extra,
});

/** The rule without the given optional elements. */
function without(rule: ReplicationRule, ...keys: (keyof ReplicationRule)[]): ReplicationRule {
  const copy: Partial<ReplicationRule> = { ...rule };
  for (const key of keys) Reflect.deleteProperty(copy, key);
  return copy as ReplicationRule;
}

/** A valid MinIO rule, as mc and site replication write it. */
const minioRule = (extra: Partial<ReplicationRule> = {}): ReplicationRule => ({
  id: 'to-b',
  priority: 1,
  status: 'Enabled',
  filter: { prefix: '' },
  deleteMarkerReplication: { status: 'Enabled' },
  deleteReplication: { status: 'Enabled' },
  existingObjectReplication: { status: 'Enabled' },
  sourceSelectionCriteria: { replicaModifications: { status: 'Enabled' } },
  destination: { bucket: TARGET },
  ...extra,
});

/** A valid Zenko (V1) rule. */
const zenkoRule = (extra: Partial<ReplicationRule> = {}): ReplicationRule => ({
  id: 'rule1',
  status: 'Enabled',
  prefix: 'TaxDocs',
  destination: { bucket: DEST },
  ...extra,
});

const BASE: Record<DestinationFlavor, (rules: ReplicationRule[]) => ReplicationConfig> = {
  s3: (rules) => ({ role: ROLE, rules }),
  minio: (rules) => ({ role: '', rules }),
  zenko: (rules) => ({ role: ROLE, rules }),
};
const RULE: Record<DestinationFlavor, (extra?: Partial<ReplicationRule>) => ReplicationRule> = {
  s3: s3Rule,
  minio: minioRule,
  zenko: zenkoRule,
};

const validate = (config: ReplicationConfig, flavor: DestinationFlavor, locations?: string[]) =>
  validateReplicationConfig(
    config,
    locations === undefined
      ? { destinationFlavor: flavor }
      : { destinationFlavor: flavor, locations },
  );

/** Issue of rule `label` at `spec.rules[index].<field>`. */
const at = (index: number, field: string, message: string, label?: string): ValidationIssue => ({
  path: `spec.rules[${index}]${field === '' ? '' : `.${field}`}`,
  rule: label ?? `#${index}`,
  message,
});

describe('validateReplicationConfig: valid configurations', () => {
  it.each(['s3', 'minio', 'zenko'] as const)('takes the base %s configuration', (flavor) => {
    expect(validate(BASE[flavor]([RULE[flavor]()]), flavor)).toEqual([]);
  });

  it('takes MinIO rules that replicate to several targets with an empty role', () => {
    const config = BASE.minio([
      minioRule({ id: 'to-b', priority: 1 }),
      minioRule({ id: 'to-c', priority: 2, destination: { bucket: `${TARGET}-c` } }),
    ]);
    expect(validate(config, 'minio')).toEqual([]);
  });

  it('takes a MinIO legacy configuration: target ARN as role, one arn:aws:s3::: destination', () => {
    expect(
      validate({ role: TARGET, rules: [minioRule({ destination: { bucket: DEST } })] }, 'minio'),
    ).toEqual([]);
  });

  it('takes site destinations before their ARN is known', () => {
    const config = BASE.minio([minioRule({ destination: { site: { name: 'site-b' } } })]);
    expect(validate(config, 'minio')).toEqual([]);
  });

  it('takes a full S3 rule: RTC with metrics, KMS, ownership, storage class', () => {
    const rule = s3Rule({
      sourceSelectionCriteria: {
        sseKmsEncryptedObjects: { status: 'Enabled' },
        replicaModifications: { status: 'Disabled' },
      },
      existingObjectReplication: { status: 'Enabled' },
      destination: {
        bucket: DEST,
        account: '123456789012',
        storageClass: 'STANDARD_IA',
        accessControlTranslation: { owner: 'Destination' },
        encryptionConfiguration: { replicaKmsKeyID: 'arn:aws:kms:us-east-1:123456789012:key/k' },
        metrics: { status: 'Enabled', eventThreshold: { minutes: 15 } },
        replicationTime: { status: 'Enabled', time: { minutes: 15 } },
      },
    });
    expect(validate(BASE.s3([rule]), 's3')).toEqual([]);
  });

  it('takes RTC with metrics on a MinIO source (sitesync measures the promise itself)', () => {
    const rule = minioRule({
      destination: {
        bucket: TARGET,
        metrics: { status: 'Enabled', eventThreshold: { minutes: 15 } },
        replicationTime: { status: 'Enabled', time: { minutes: 15 } },
      },
    });
    expect(validate(BASE.minio([rule]), 'minio')).toEqual([]);
  });

  it('takes Zenko locations as storage classes, comma-separated', () => {
    const config = BASE.zenko([
      zenkoRule({ destination: { bucket: DEST, storageClass: 'aws-east,azure-1' } }),
    ]);
    expect(validate(config, 'zenko')).toEqual([]);
    expect(validate(config, 'zenko', ['aws-east', 'azure-1'])).toEqual([]);
  });

  it('uses the root given for paths', () => {
    const issues = validateReplicationConfig(
      { rules: [] },
      { destinationFlavor: 'minio', root: 'spec.configurationXML' },
    );
    expect(issues[0]?.path).toBe('spec.configurationXML.rules');
  });
});

describe('validateReplicationConfig: the seeds', () => {
  const seed = (xml: string) => parseReplicationXML(xml);

  it('AWS sample: its two Tag elements share a key, which S3 and MinIO refuse', () => {
    const config = seed(
      '<ReplicationConfiguration> <Role>arn:aws:iam::35667example:role/CrossRegionReplicationRoleForS3</Role> <Rule> <ID>rule1</ID> <Status>Enabled</Status> <Priority>1</Priority> <DeleteMarkerReplication> <Status>Disabled</Status> </DeleteMarkerReplication> <Filter> <And> <Prefix>TaxDocs</Prefix> <Tag> <Key>key1</Key> <Value>value1</Value> </Tag> <Tag> <Key>key1</Key> <Value>value1</Value> </Tag> </And> </Filter> <Destination> <Bucket>arn:aws:s3:::exampletargetbucket</Bucket> </Destination> </Rule> </ReplicationConfiguration>',
    );
    expect(validate(config, 's3')).toEqual([
      at(0, 'filter.and.tags[1].key', "tag key 'key1' appears twice; keys must be unique", 'rule1'),
    ]);
  });

  it('AWS RTC sample: also lacks the DeleteMarkerReplication a Filter requires', () => {
    const config = seed(
      '<ReplicationConfiguration> <Role>arn:aws:iam::35667example:role/CrossRegionReplicationRoleForS3</Role> <Rule> <ID>rule1</ID> <Status>Enabled</Status> <Priority>1</Priority> <Filter> <And> <Prefix>TaxDocs</Prefix> <Tag> <Key>key1</Key> <Value>value1</Value> </Tag> <Tag> <Key>key2</Key> <Value>value1</Value> </Tag> </And> </Filter> <Destination> <Bucket>arn:aws:s3:::exampletargetbucket</Bucket> <Metrics> <Status>Enabled</Status> <EventThreshold> <Minutes>15</Minutes> </EventThreshold> </Metrics> <ReplicationTime> <Status>Enabled</Status> <Time> <Minutes>15</Minutes> </Time> </ReplicationTime> </Destination> </Rule> </ReplicationConfiguration>',
    );
    expect(validate(config, 's3')).toEqual([
      at(
        0,
        'deleteMarkerReplication',
        'deleteMarkerReplication is required when filter is used',
        'rule1',
      ),
    ]);
  });

  it('Zenko sample: valid once its {{exampleTargetBucket}} placeholder is a bucket name', () => {
    const xml = `<ReplicationConfiguration>
  <Role>arn:aws:iam::35667example:role/CrossRegionReplicationRoleForS3</Role>
  <Rule>
    <ID>rule1</ID>
    <Prefix>TaxDocs</Prefix>
    <Status>Enabled</Status>
    <Destination>
      <Bucket>arn:aws:s3:::{{exampleTargetBucket}}</Bucket>
    </Destination>
  </Rule>
</ReplicationConfiguration>`;
    expect(validate(seed(xml), 'zenko')).toEqual([
      at(
        0,
        'destination.bucket',
        "destination.bucket must be a bucket ARN arn:aws:s3:::<bucket name>, not 'arn:aws:s3:::{{exampleTargetBucket}}'",
        'rule1',
      ),
    ]);
    expect(validate(seed(xml.replace('{{exampleTargetBucket}}', 'target')), 'zenko')).toEqual([]);
  });

  it('Zenko acts only on Enabled rules', () => {
    const config = BASE.zenko([
      zenkoRule({ id: 'a', prefix: 'a/' }),
      zenkoRule({ id: 'b', prefix: 'b/', status: 'Disabled' }),
    ]);
    expect(activeRules(config).map((r) => r.id)).toEqual(['a']);
  });
});

/** [what, flavor, config, expected issues, Zenko locations] */
type Case = [string, DestinationFlavor, ReplicationConfig, ValidationIssue[], string[]?];

const tags = (n: number, key = (i: number) => `k${i}`): Tag[] =>
  Array.from({ length: n }, (_, i) => ({ key: key(i), value: 'v' }));

/** Ten tags as long as S3 allows. */
const BIG_TAGS = tags(10, (i) => `${i}`.padEnd(128, 'k')).map((t) => ({
  ...t,
  value: 'v'.repeat(256),
}));

const DOCUMENT_CASES: Case[] = [
  [
    'no rule',
    's3',
    BASE.s3([]),
    [{ path: 'spec.rules', message: 'a replication configuration needs at least one rule' }],
  ],
  [
    'more than 1000 rules',
    'minio',
    BASE.minio(Array.from({ length: 1001 }, (_, i) => minioRule({ id: `r${i}`, priority: i }))),
    [
      {
        path: 'spec.rules',
        message: 'a replication configuration holds at most 1000 rules, not 1001',
      },
    ],
  ],
  [
    'a document over 2 MiB',
    'minio',
    BASE.minio(
      Array.from({ length: 600 }, (_, i) =>
        minioRule({
          id: `r${i}`,
          priority: i,
          deleteMarkerReplication: { status: 'Disabled' },
          filter: { and: { prefix: 'p'.repeat(1024), tags: BIG_TAGS } },
        }),
      ),
    ),
    [
      {
        path: 'spec',
        message: 'the replication document is 3479332 bytes; at most 2097152 (2 MiB) are allowed',
      },
    ],
  ],
  [
    'S3 without a role',
    's3',
    { rules: [s3Rule()] },
    [
      {
        path: 'spec.role',
        message: 'role is required by S3: the ARN of the IAM role that replicates',
      },
    ],
  ],
  [
    'S3 with a role that is not an IAM role ARN',
    's3',
    { role: 'arn:aws:iam::123456789012:user/bob', rules: [s3Rule()] },
    [
      {
        path: 'spec.role',
        message:
          "role must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), not 'arn:aws:iam::123456789012:user/bob'",
      },
    ],
  ],
  [
    'S3 with two roles',
    's3',
    { role: `${ROLE},${ROLE}`, rules: [s3Rule()] },
    [{ path: 'spec.role', message: 'role holds one IAM role ARN; it may not contain a comma' }],
  ],
  [
    'Zenko without a role',
    'zenko',
    { role: '', rules: [zenkoRule()] },
    [
      {
        path: 'spec.role',
        message: 'role is required by Zenko: the ARN of the IAM role that replicates',
      },
    ],
  ],
  [
    'Zenko with three roles',
    'zenko',
    { role: `${ROLE},${ROLE},${ROLE}`, rules: [zenkoRule()] },
    [
      {
        path: 'spec.role',
        message: 'role holds one IAM role ARN, or two separated by a comma (source,destination)',
      },
    ],
  ],
  [
    'MinIO with an IAM role',
    'minio',
    { role: ROLE, rules: [minioRule()] },
    [
      {
        path: 'spec.role',
        message:
          'role must be empty on MinIO (each rule names its remote target), or a remote-target ARN (arn:minio:replication:...) in the legacy form',
      },
    ],
  ],
  [
    'MinIO with a role and several targets',
    'minio',
    {
      role: TARGET,
      rules: [
        minioRule(),
        minioRule({ id: 'to-c', priority: 2, destination: { bucket: `${TARGET}-c` } }),
      ],
    },
    [
      {
        path: 'spec.role',
        message: 'role must be empty when rules replicate to several targets (MinIO)',
      },
    ],
  ],
  [
    'MinIO with an empty role and a plain bucket ARN',
    'minio',
    BASE.minio([minioRule({ destination: { bucket: DEST } })]),
    [
      at(
        0,
        'destination.bucket',
        'arn:aws:s3:::<bucket> needs the legacy form (role = remote-target ARN); with an empty role, MinIO needs a remote-target ARN (arn:minio:replication:...) or destination.site here',
        'to-b',
      ),
    ],
  ],
];

const RULE_CASES: Case[] = [
  [
    'an ID over 255 characters',
    's3',
    BASE.s3([s3Rule({ id: 'i'.repeat(256) })]),
    [at(0, 'id', 'id must be at most 255 characters, not 256', 'i'.repeat(256))],
  ],
  [
    'an ID over 255 bytes on MinIO',
    'minio',
    BASE.minio([minioRule({ id: 'é'.repeat(128) })]),
    [
      at(
        0,
        'id',
        'id must be at most 255 bytes (MinIO counts UTF-8 bytes), not 256',
        'é'.repeat(128),
      ),
    ],
  ],
  [
    'two rules with one ID',
    's3',
    BASE.s3([s3Rule(), s3Rule({ priority: 2 })]),
    [at(1, 'id', "id 'r1' is already used by rules[0]; rule IDs must be unique", 'r1')],
  ],
  [
    'a status that is not Enabled or Disabled',
    's3',
    BASE.s3([s3Rule({ status: 'enabled' })]),
    [at(0, 'status', "status must be Enabled or Disabled, not 'enabled'", 'r1')],
  ],
  [
    'a filter without priority',
    's3',
    BASE.s3([without(s3Rule(), 'priority')]),
    [at(0, 'priority', 'priority is required when filter is used', 'r1')],
  ],
  [
    'a negative priority',
    'minio',
    BASE.minio([minioRule({ priority: -1 })]),
    [at(0, 'priority', 'priority must be an integer from 0 to 2147483647, not -1', 'to-b')],
  ],
  [
    'two V2 rules with one priority',
    's3',
    BASE.s3([s3Rule(), s3Rule({ id: 'r2' })]),
    [at(1, 'priority', 'priority 1 is already used by rules[0]; priorities must be unique', 'r2')],
  ],
  [
    'two MinIO rules without priority (both 0)',
    'minio',
    BASE.minio([
      without(minioRule(), 'priority', 'filter'),
      without(
        minioRule({ id: 'to-c', destination: { bucket: `${TARGET}-c` } }),
        'priority',
        'filter',
      ),
    ]),
    [
      at(
        1,
        'priority',
        'priority 0 is already used by rules[0]; priorities must be unique',
        'to-c',
      ),
    ],
  ],
  [
    'a filter without deleteMarkerReplication',
    's3',
    BASE.s3([without(s3Rule(), 'deleteMarkerReplication')]),
    [
      at(
        0,
        'deleteMarkerReplication',
        'deleteMarkerReplication is required when filter is used',
        'r1',
      ),
    ],
  ],
  [
    'a MinIO rule without deleteMarkerReplication',
    'minio',
    BASE.minio([without(minioRule(), 'deleteMarkerReplication', 'filter')]),
    [at(0, 'deleteMarkerReplication', 'deleteMarkerReplication is required by MinIO', 'to-b')],
  ],
  [
    'a filter prefix over 1024 bytes',
    's3',
    BASE.s3([s3Rule({ filter: { prefix: 'é'.repeat(513) } })]),
    [
      at(
        0,
        'filter.prefix',
        'filter.prefix must be at most 1024 bytes (an object key), not 1026',
        'r1',
      ),
    ],
  ],
  [
    'a rule-level prefix over 1024 bytes',
    'zenko',
    BASE.zenko([zenkoRule({ prefix: 'p'.repeat(1025) })]),
    [at(0, 'prefix', 'prefix must be at most 1024 bytes (an object key), not 1025', 'rule1')],
  ],
  [
    'an And prefix over 1024 bytes',
    'minio',
    BASE.minio([minioRule({ filter: { and: { prefix: 'p'.repeat(1025), tags: [] } } })]),
    [
      at(
        0,
        'filter.and.prefix',
        'filter.and.prefix must be at most 1024 bytes (an object key), not 1025',
        'to-b',
      ),
    ],
  ],
  [
    'a filter with two members',
    's3',
    BASE.s3([s3Rule({ filter: { prefix: 'a', tag: { key: 'k', value: 'v' } } })]),
    [at(0, 'filter', 'filter takes at most one of prefix, tag and and', 'r1')],
  ],
  [
    'an empty tag key and a long tag value',
    's3',
    BASE.s3([s3Rule({ filter: { tag: { key: '', value: 'v'.repeat(257) } } })]),
    [
      at(0, 'filter.tag.key', 'tag key must be 1 to 128 characters, not 0', 'r1'),
      at(0, 'filter.tag.value', 'tag value must be at most 256 characters, not 257', 'r1'),
    ],
  ],
  [
    'a tag key over 128 characters',
    's3',
    BASE.s3([s3Rule({ filter: { and: { tags: [{ key: 'k'.repeat(129), value: '' }] } } })]),
    [at(0, 'filter.and.tags[0].key', 'tag key must be 1 to 128 characters, not 129', 'r1')],
  ],
  [
    'more than 10 tags',
    's3',
    BASE.s3([s3Rule({ filter: { and: { tags: tags(11) } } })]),
    [
      at(
        0,
        'filter.and.tags',
        'filter.and.tags holds at most 10 tags (an object carries at most 10), not 11',
        'r1',
      ),
    ],
  ],
  [
    'delete markers with a single Tag filter on MinIO',
    'minio',
    BASE.minio([minioRule({ filter: { tag: { key: 'k', value: 'v' } } })]),
    [
      at(
        0,
        'deleteMarkerReplication.status',
        'deleteMarkerReplication must be Disabled when the filter selects by tag: delete markers carry no tags',
        'to-b',
      ),
    ],
  ],
  [
    'delete markers with And tags on S3',
    's3',
    BASE.s3([
      s3Rule({
        filter: { and: { prefix: 'a', tags: tags(1) } },
        deleteMarkerReplication: { status: 'Enabled' },
      }),
    ]),
    [
      at(
        0,
        'deleteMarkerReplication.status',
        'deleteMarkerReplication must be Disabled when the filter selects by tag: delete markers carry no tags',
        'r1',
      ),
    ],
  ],
  [
    'V1 and V2 rules mixed',
    's3',
    BASE.s3([s3Rule(), { ...without(s3Rule(), 'filter'), id: 'v1', prefix: 'old/' }]),
    [
      at(
        1,
        'prefix',
        'rules cannot mix the legacy rule-level prefix (V1) with filter (V2); use filter.prefix',
        'v1',
      ),
    ],
  ],
  [
    'filter and the legacy prefix in one rule',
    's3',
    BASE.s3([s3Rule({ prefix: 'old/' })]),
    [at(0, 'prefix', 'a rule takes filter (V2) or the legacy prefix (V1), not both', 'r1')],
  ],
  [
    'sub-element statuses that are not Enabled or Disabled',
    's3',
    BASE.s3([
      s3Rule({
        deleteMarkerReplication: { status: 'Off' },
        existingObjectReplication: { status: '' },
        sourceSelectionCriteria: { replicaModifications: { status: 'yes' } },
      }),
    ]),
    [
      at(
        0,
        'deleteMarkerReplication.status',
        "deleteMarkerReplication.status must be Enabled or Disabled, not 'Off'",
        'r1',
      ),
      at(
        0,
        'existingObjectReplication.status',
        "existingObjectReplication.status must be Enabled or Disabled, not ''",
        'r1',
      ),
      at(
        0,
        'sourceSelectionCriteria.replicaModifications.status',
        "sourceSelectionCriteria.replicaModifications.status must be Enabled or Disabled, not 'yes'",
        'r1',
      ),
    ],
  ],
  [
    'a MinIO deleteReplication status that is not Enabled or Disabled',
    'minio',
    BASE.minio([minioRule({ deleteReplication: { status: 'enable' } })]),
    [
      at(
        0,
        'deleteReplication.status',
        "deleteReplication.status must be Enabled or Disabled, not 'enable'",
        'to-b',
      ),
    ],
  ],
  [
    'a destination with neither bucket nor site',
    'minio',
    BASE.minio([minioRule({ destination: {} })]),
    [
      at(
        0,
        'destination',
        'destination needs bucket (an ARN or a bucket name) or site (a managed site)',
        'to-b',
      ),
    ],
  ],
  [
    'an S3 destination that is not a bucket ARN',
    's3',
    BASE.s3([s3Rule({ destination: { bucket: 'arn:aws:s3:::Bad_Bucket' } })]),
    [
      at(
        0,
        'destination.bucket',
        "destination.bucket must be a bucket ARN arn:aws:s3:::<bucket name>, not 'arn:aws:s3:::Bad_Bucket'",
        'r1',
      ),
    ],
  ],
  [
    'a MinIO destination that is no ARN',
    'minio',
    BASE.minio([minioRule({ destination: { bucket: 'http://site-b:9000/dest' } })]),
    [
      at(
        0,
        'destination.bucket',
        "destination.bucket must be a remote-target ARN (arn:minio:replication:...) or arn:aws:s3:::<bucket> on MinIO, not 'http://site-b:9000/dest'",
        'to-b',
      ),
    ],
  ],
  [
    'two destination buckets on S3',
    's3',
    BASE.s3([
      s3Rule(),
      s3Rule({ id: 'r2', priority: 2, destination: { bucket: 'arn:aws:s3:::other' } }),
    ]),
    [
      at(
        1,
        'destination',
        "all rules must replicate to the destination of rules[0] ('arn:aws:s3:::dest'): S3 takes one destination bucket",
        'r2',
      ),
    ],
  ],
  [
    'two destination buckets on Zenko',
    'zenko',
    BASE.zenko([
      zenkoRule(),
      zenkoRule({ id: 'r2', prefix: 'other/', destination: { site: { name: 'b' } } }),
    ]),
    [
      at(
        1,
        'destination',
        "all rules must replicate to the destination of rules[0] ('arn:aws:s3:::dest'): Zenko takes one destination bucket",
        'r2',
      ),
    ],
  ],
  [
    'an S3 storage class that does not exist',
    's3',
    BASE.s3([s3Rule({ destination: { bucket: DEST, storageClass: 'COLD' } })]),
    [
      at(
        0,
        'destination.storageClass',
        `destination.storageClass must be one of ${S3_REPLICA_STORAGE_CLASSES.join(', ')}, not 'COLD'`,
        'r1',
      ),
    ],
  ],
  [
    'a storage class MinIO does not take',
    'minio',
    BASE.minio([minioRule({ destination: { bucket: TARGET, storageClass: 'GLACIER' } })]),
    [
      at(
        0,
        'destination.storageClass',
        "destination.storageClass must be STANDARD or REDUCED_REDUNDANCY on MinIO, not 'GLACIER'",
        'to-b',
      ),
    ],
  ],
  [
    'a Zenko location that is not defined',
    'zenko',
    BASE.zenko([zenkoRule({ destination: { bucket: DEST, storageClass: 'aws-east,nowhere' } })]),
    [
      at(
        0,
        'destination.storageClass',
        "destination.storageClass names a storage class or Zenko location that does not exist: 'nowhere' (known locations: aws-east)",
        'rule1',
      ),
    ],
    ['aws-east'],
  ],
  [
    'an S3 account that is not 12 digits',
    's3',
    BASE.s3([s3Rule({ destination: { bucket: DEST, account: '1234' } })]),
    [
      at(
        0,
        'destination.account',
        "destination.account must be a 12-digit AWS account ID, not '1234'",
        'r1',
      ),
    ],
  ],
  [
    'access control translation without account, to another owner',
    's3',
    BASE.s3([
      s3Rule({ destination: { bucket: DEST, accessControlTranslation: { owner: 'Source' } } }),
    ]),
    [
      at(
        0,
        'destination.accessControlTranslation.owner',
        "destination.accessControlTranslation.owner must be Destination, not 'Source'",
        'r1',
      ),
      at(
        0,
        'destination.account',
        'destination.account is required with destination.accessControlTranslation',
        'r1',
      ),
    ],
  ],
  [
    'RTC and event thresholds other than 15 minutes',
    's3',
    BASE.s3([
      s3Rule({
        destination: {
          bucket: DEST,
          metrics: { status: 'Enabled', eventThreshold: { minutes: 30 } },
          replicationTime: { status: 'Enabled', time: { minutes: 10 } },
        },
      }),
    ]),
    [
      at(
        0,
        'destination.metrics.eventThreshold.minutes',
        'destination.metrics.eventThreshold.minutes must be 15 (S3 accepts only 15), not 30',
        'r1',
      ),
      at(
        0,
        'destination.replicationTime.time.minutes',
        'destination.replicationTime.time.minutes must be 15 (S3 accepts only 15), not 10',
        'r1',
      ),
    ],
  ],
  [
    'RTC without metrics',
    's3',
    BASE.s3([
      s3Rule({
        destination: {
          bucket: DEST,
          metrics: { status: 'Disabled' },
          replicationTime: { status: 'Enabled', time: { minutes: 15 } },
        },
      }),
    ]),
    [
      at(
        0,
        'destination.metrics',
        'destination.replicationTime Enabled requires destination.metrics Enabled',
        'r1',
      ),
    ],
  ],
  [
    'RTC without time',
    's3',
    BASE.s3([
      s3Rule({
        destination: {
          bucket: DEST,
          metrics: { status: 'Enabled' },
          replicationTime: { status: 'Disabled' },
        },
      }),
    ]),
    [
      at(
        0,
        'destination.replicationTime.time',
        'destination.replicationTime.time is required',
        'r1',
      ),
    ],
  ],
  [
    'RTC on a V1 rule',
    's3',
    BASE.s3([
      {
        ...without(s3Rule(), 'filter'),
        prefix: 'a/',
        destination: {
          bucket: DEST,
          metrics: { status: 'Enabled' },
          replicationTime: { status: 'Enabled', time: { minutes: 15 } },
        },
      },
    ]),
    [
      at(
        0,
        'destination.replicationTime',
        'destination.replicationTime needs a V2 rule (with filter instead of the legacy prefix)',
        'r1',
      ),
    ],
  ],
  [
    'SSE-KMS objects without a replica key',
    's3',
    BASE.s3([
      s3Rule({
        sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
        destination: { bucket: DEST, encryptionConfiguration: {} },
      }),
    ]),
    [
      at(
        0,
        'destination.encryptionConfiguration.replicaKmsKeyID',
        'destination.encryptionConfiguration.replicaKmsKeyID is required when sourceSelectionCriteria.sseKmsEncryptedObjects is Enabled',
        'r1',
      ),
    ],
  ],
  [
    'elements MinIO ignores',
    'minio',
    BASE.minio([
      {
        ...without(minioRule(), 'filter'),
        prefix: 'a/',
        sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Disabled' } },
        destination: {
          bucket: TARGET,
          account: '123456789012',
          accessControlTranslation: { owner: 'Destination' },
          encryptionConfiguration: {},
          metrics: { status: 'Disabled' },
          replicationTime: { status: 'Disabled', time: { minutes: 15 } },
        },
      },
    ]),
    [
      at(
        0,
        'prefix',
        'MinIO ignores the legacy rule-level prefix and would replicate the whole bucket; use filter.prefix',
        'to-b',
      ),
      ...[
        'sourceSelectionCriteria.sseKmsEncryptedObjects',
        'destination.account',
        'destination.accessControlTranslation',
        'destination.encryptionConfiguration',
      ].map((f) =>
        at(0, f, `MinIO ignores ${f} (it drops it and never reports it back); remove it`, 'to-b'),
      ),
    ],
  ],
  [
    'deleteReplication on S3',
    's3',
    BASE.s3([s3Rule({ deleteReplication: { status: 'Enabled' } })]),
    [
      at(
        0,
        'deleteReplication',
        'deleteReplication is a MinIO extension that S3 does not take',
        'r1',
      ),
    ],
  ],
  [
    'a filter on Zenko',
    'zenko',
    BASE.zenko([
      {
        ...without(zenkoRule(), 'prefix'),
        filter: {},
        priority: 1,
        deleteMarkerReplication: { status: 'Disabled' },
      },
    ]),
    [
      at(0, 'filter', 'Zenko does not support filter; use the rule-level prefix', 'rule1'),
      at(0, 'prefix', "prefix is required by Zenko ('' selects every object)", 'rule1'),
    ],
  ],
  [
    'overlapping prefixes on Zenko',
    'zenko',
    BASE.zenko([
      zenkoRule({ id: 'a', prefix: 'TaxDocs/2015' }),
      zenkoRule({ id: 'b', prefix: 'Other' }),
      zenkoRule({ id: 'c', prefix: 'TaxDocs' }),
    ]),
    [
      at(
        2,
        'prefix',
        "prefix 'TaxDocs' overlaps prefix 'TaxDocs/2015' of rules[0]; Zenko does not support overlapping prefixes",
        'c',
      ),
    ],
  ],
  [
    'a character XML cannot carry',
    's3',
    BASE.s3([s3Rule({ filter: { prefix: 'a\u0000b' } })]),
    [
      at(
        0,
        'filter.prefix',
        'filter.prefix holds the character U+0000, which an XML document cannot carry',
        'r1',
      ),
    ],
  ],
];

describe('validateReplicationConfig: every rule has a failing case', () => {
  const rows = [...DOCUMENT_CASES, ...RULE_CASES].map(
    ([what, flavor, config, expected, locations]) => ({
      what,
      flavor,
      config,
      expected,
      locations,
    }),
  );
  it.each(rows)('reports $what', ({ flavor, config, expected, locations }) => {
    expect(validate(config, flavor, locations)).toEqual(expected);
  });

  it('labels a rule without ID by its index', () => {
    const rule = without(s3Rule({ status: 'On' }), 'id');
    expect(validate(BASE.s3([rule]), 's3')).toEqual([
      at(0, 'status', "status must be Enabled or Disabled, not 'On'"),
    ]);
  });

  it('lists document issues first, then each rule in order', () => {
    const issues = validate({ rules: [s3Rule({ status: 'x' }), s3Rule({ status: 'y' })] }, 's3');
    expect(issues.map((i) => i.path)).toEqual([
      'spec.role',
      'spec.rules[0].status',
      'spec.rules[1].id',
      'spec.rules[1].priority',
      'spec.rules[1].status',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const safeChars = fc.constantFrom(
  ...Array.from('abcdefghijklmnopqrstuvwxyz0123456789/-_.!*()é日 '),
);
const safeText = (minLength: number, maxLength: number) =>
  fc.string({ unit: safeChars, minLength, maxLength });
const statusValue = fc.constantFrom('Enabled', 'Disabled');
const tagArb = fc.record({ key: safeText(1, 20), value: safeText(0, 20) });

const filterArb: fc.Arbitrary<Filter> = fc.oneof(
  fc.constant({}),
  fc.record({ prefix: safeText(0, 30) }),
  fc.record({ tag: tagArb }),
  fc.record({
    and: fc.record(
      {
        prefix: safeText(0, 30),
        tags: fc.uniqueArray(tagArb, { maxLength: 10, selector: (t) => t.key }),
      },
      { requiredKeys: ['tags'] },
    ),
  }),
);

/** n unique priorities, shuffled. */
const priorities = (n: number) => fc.uniqueArray(fc.nat(10_000), { minLength: n, maxLength: n });

const validS3: fc.Arbitrary<ReplicationConfig> = fc.integer({ min: 1, max: 6 }).chain((n) =>
  fc
    .record({
      priorities: priorities(n),
      filters: fc.array(filterArb, { minLength: n, maxLength: n }),
      statuses: fc.array(statusValue, { minLength: n, maxLength: n }),
      dmr: fc.array(statusValue, { minLength: n, maxLength: n }),
      storageClass: fc.option(fc.constantFrom(...S3_REPLICA_STORAGE_CLASSES), { nil: undefined }),
      rtc: fc.boolean(),
      kms: fc.boolean(),
      existing: fc.option(statusValue, { nil: undefined }),
    })
    .map(({ priorities: ps, filters, statuses, dmr, storageClass, rtc, kms, existing }) => ({
      role: ROLE,
      rules: filters.map((filter, i): ReplicationRule => {
        const tagged = filter.tag !== undefined || (filter.and?.tags.length ?? 0) > 0;
        const rule: ReplicationRule = {
          id: `rule-${i}`,
          priority: ps[i] ?? i,
          status: statuses[i] ?? 'Enabled',
          filter,
          deleteMarkerReplication: { status: tagged ? 'Disabled' : (dmr[i] ?? 'Disabled') },
          destination: { bucket: DEST },
        };
        if (storageClass !== undefined) rule.destination.storageClass = storageClass;
        if (rtc) {
          rule.destination.metrics = { status: 'Enabled', eventThreshold: { minutes: 15 } };
          rule.destination.replicationTime = { status: 'Enabled', time: { minutes: 15 } };
        }
        if (kms) {
          rule.sourceSelectionCriteria = { sseKmsEncryptedObjects: { status: 'Enabled' } };
          rule.destination.encryptionConfiguration = { replicaKmsKeyID: 'key-1' };
        }
        if (existing !== undefined) rule.existingObjectReplication = { status: existing };
        return rule;
      }),
    })),
);

const validMinio: fc.Arbitrary<ReplicationConfig> = fc.integer({ min: 1, max: 6 }).chain((n) =>
  fc
    .record({
      priorities: priorities(n),
      filters: fc.array(fc.option(filterArb, { nil: undefined }), { minLength: n, maxLength: n }),
      targets: fc.array(fc.constantFrom('b', 'c', 'd'), { minLength: n, maxLength: n }),
      flags: fc.array(fc.tuple(statusValue, statusValue, statusValue, statusValue), {
        minLength: n,
        maxLength: n,
      }),
      storageClass: fc.option(fc.constantFrom(...MINIO_STORAGE_CLASSES), { nil: undefined }),
    })
    .map(({ priorities: ps, filters, targets, flags, storageClass }) => ({
      role: '',
      rules: filters.map((filter, i): ReplicationRule => {
        const [status, dmr, del, existing] = flags[i] ?? [
          'Enabled',
          'Enabled',
          'Enabled',
          'Enabled',
        ];
        const rule: ReplicationRule = {
          id: `to-${targets[i] ?? 'b'}-${i}`,
          priority: ps[i] ?? i,
          status,
          deleteMarkerReplication: { status: filter?.tag === undefined ? dmr : 'Disabled' },
          deleteReplication: { status: del },
          existingObjectReplication: { status: existing },
          destination: { bucket: `${TARGET}-${targets[i] ?? 'b'}` },
        };
        if (filter !== undefined) rule.filter = filter;
        if (storageClass !== undefined) rule.destination.storageClass = storageClass;
        return rule;
      }),
    })),
);

const validZenko: fc.Arbitrary<ReplicationConfig> = fc
  .uniqueArray(fc.nat(50), { minLength: 1, maxLength: 6 })
  .chain((dirs) =>
    fc
      .record({
        statuses: fc.array(statusValue, { minLength: dirs.length, maxLength: dirs.length }),
        storageClass: fc.option(fc.constantFrom('STANDARD', 'aws-east', 'azure,gcp'), {
          nil: undefined,
        }),
      })
      .map(({ statuses, storageClass }) => ({
        role: ROLE,
        rules: dirs.map((d, i): ReplicationRule => ({
          id: `rule-${i}`,
          status: statuses[i] ?? 'Enabled',
          prefix: `dir-${d}/`,
          destination:
            storageClass === undefined ? { bucket: DEST } : { bucket: DEST, storageClass },
        })),
      })),
  );

describe('properties', () => {
  const VALID = [
    ['s3', validS3],
    ['minio', validMinio],
    ['zenko', validZenko],
  ] as const;

  it.each(VALID)(
    'generated valid %s configurations have no issue and round-trip through XML',
    (flavor, arb) => {
      fc.assert(
        fc.property(arb, (config) => {
          expect(validate(config, flavor)).toEqual([]);
          const back = parseReplicationXML(buildReplicationXML(config));
          expect(back).toEqual(config);
          expect(validate(back, flavor)).toEqual([]);
        }),
        { numRuns: 200 },
      );
    },
  );

  it('only Enabled rules are active', () => {
    fc.assert(
      fc.property(validMinio, (config) => {
        const active = activeRules(config);
        expect(active.every((r) => r.status === 'Enabled')).toBe(true);
        expect(active).toHaveLength(config.rules.filter((r) => r.status === 'Enabled').length);
      }),
    );
  });

  const anyText = fc.string({ unit: 'binary', maxLength: 12 });
  const anyNumber = fc.oneof(fc.integer(), fc.double());
  const loose = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const anyStatus = fc.record({ status: anyText });
  const anyTag = fc.record({ key: anyText, value: anyText });
  /** Any model-shaped value, whatever its strings and numbers. */
  const anyRule = fc.record({
    id: loose(anyText),
    priority: loose(anyNumber),
    status: anyText,
    prefix: loose(anyText),
    filter: loose(
      fc.record({
        prefix: loose(anyText),
        tag: loose(anyTag),
        and: loose(
          fc.record({ prefix: loose(anyText), tags: fc.array(anyTag, { maxLength: 12 }) }),
        ),
      }),
    ),
    deleteMarkerReplication: loose(anyStatus),
    deleteReplication: loose(anyStatus),
    existingObjectReplication: loose(anyStatus),
    sourceSelectionCriteria: loose(
      fc.record({
        sseKmsEncryptedObjects: loose(anyStatus),
        replicaModifications: loose(anyStatus),
      }),
    ),
    destination: fc.record({
      bucket: loose(fc.oneof(anyText, fc.constantFrom(DEST, TARGET))),
      site: loose(fc.record({ name: anyText, bucket: loose(anyText) })),
      account: loose(anyText),
      storageClass: loose(anyText),
      accessControlTranslation: loose(fc.record({ owner: anyText })),
      encryptionConfiguration: loose(fc.record({ replicaKmsKeyID: loose(anyText) })),
      metrics: loose(
        fc.record({ status: anyText, eventThreshold: loose(fc.record({ minutes: anyNumber })) }),
      ),
      replicationTime: loose(
        fc.record({ status: anyText, time: loose(fc.record({ minutes: anyNumber })) }),
      ),
    }),
  });
  const anyConfig = fc.record({
    role: loose(anyText),
    rules: fc.array(anyRule, { maxLength: 5 }),
  }) as unknown as fc.Arbitrary<ReplicationConfig>;

  it('never throws, whatever the model, and names a path for every issue', () => {
    fc.assert(
      fc.property(anyConfig, fc.constantFrom('s3', 'minio', 'zenko' as const), (config, flavor) => {
        for (const issue of validate(config, flavor)) {
          expect(issue.path.startsWith('spec')).toBe(true);
          expect(issue.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on whatever the XML parser returns', () => {
    const xmlish = fc
      .array(
        fc.constantFrom(
          '<Rule>',
          '</Rule>',
          '<Status>Enabled</Status>',
          '<Status>x</Status>',
          '<Priority>1</Priority>',
          '<Priority>-3</Priority>',
          '<Filter><Tag><Key>k</Key></Tag></Filter>',
          '<Filter/>',
          '<Prefix>p</Prefix>',
          '<Destination><Bucket>arn:aws:s3:::b</Bucket></Destination>',
          '<Destination/>',
          '<DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication>',
          '<ID>a</ID>',
          '<Role>r</Role>',
        ),
        { maxLength: 12 },
      )
      .map((parts) => `<ReplicationConfiguration>${parts.join('')}</ReplicationConfiguration>`);
    let parsed = 0;
    fc.assert(
      fc.property(xmlish, fc.constantFrom('s3', 'minio', 'zenko' as const), (xml, flavor) => {
        let config: ReplicationConfig;
        try {
          config = parseReplicationXML(xml);
        } catch {
          return;
        }
        parsed++;
        validate(config, flavor);
      }),
      { numRuns: 500 },
    );
    expect(parsed).toBeGreaterThan(0);
  });
});
