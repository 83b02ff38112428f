import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import {
  type ReplicationRuleInput,
  ReplicationConfigurationSchema,
  ReplicationRuleSchema,
} from '../api/replication-config.js';
import {
  type ReplicationConfig,
  activeRules,
  bucketArn,
  documentOf,
  normaliseRules,
  resolveSiteDestinations,
} from './replication-config.js';
import { validateReplicationConfig } from './validate.js';
import { buildReplicationXML, parseReplicationXML } from './xml-codec.js';

const rules = (...input: ReplicationRuleInput[]) =>
  input.map((r) => ReplicationRuleSchema.parse(r));

describe('normaliseRules', () => {
  it('maps every YAML field to the model, defaults included', () => {
    const [rule] = rules({
      id: 'all',
      priority: 3,
      filter: { and: { prefix: 'a/', tags: [{ key: 'k', value: 'v' }] } },
      deleteMarkerReplication: { status: 'Disabled' },
      deleteReplication: { status: 'Enabled' },
      existingObjectReplication: { status: 'Enabled' },
      sourceSelectionCriteria: {
        sseKmsEncryptedObjects: { status: 'Enabled' },
        replicaModifications: { status: 'Disabled' },
      },
      destination: {
        bucket: 'dest',
        account: '123456789012',
        storageClass: 'STANDARD_IA',
        accessControlTranslation: { owner: 'Destination' },
        encryptionConfiguration: { replicaKmsKeyID: 'key' },
        metrics: { status: 'Enabled', eventThreshold: {} },
        replicationTime: { status: 'Enabled' },
      },
    });
    expect(normaliseRules(rule === undefined ? [] : [rule], 'arn:aws:iam::1:role/r')).toEqual({
      role: 'arn:aws:iam::1:role/r',
      rules: [
        {
          id: 'all',
          priority: 3,
          status: 'Enabled',
          filter: { and: { prefix: 'a/', tags: [{ key: 'k', value: 'v' }] } },
          deleteMarkerReplication: { status: 'Disabled' },
          deleteReplication: { status: 'Enabled' },
          existingObjectReplication: { status: 'Enabled' },
          sourceSelectionCriteria: {
            sseKmsEncryptedObjects: { status: 'Enabled' },
            replicaModifications: { status: 'Disabled' },
          },
          destination: {
            bucket: 'arn:aws:s3:::dest',
            account: '123456789012',
            storageClass: 'STANDARD_IA',
            accessControlTranslation: { owner: 'Destination' },
            encryptionConfiguration: { replicaKmsKeyID: 'key' },
            metrics: { status: 'Enabled', eventThreshold: { minutes: 15 } },
            replicationTime: { status: 'Enabled', time: { minutes: 15 } },
          },
        },
      ],
    });
  });

  it('leaves absent what YAML leaves out, and the role when none is given', () => {
    expect(
      normaliseRules(rules({ prefix: 'logs/', destination: { bucket: 'arn:aws:s3:::d' } })),
    ).toEqual({
      rules: [{ status: 'Enabled', prefix: 'logs/', destination: { bucket: 'arn:aws:s3:::d' } }],
    });
    expect(
      normaliseRules(
        rules({ filter: { tag: { key: 'k', value: '' } }, destination: { bucket: 'd' } }),
      ).rules[0]?.filter,
    ).toEqual({ tag: { key: 'k', value: '' } });
    expect(
      normaliseRules(rules({ filter: { and: {} }, destination: { bucket: 'd' } })).rules[0]?.filter,
    ).toEqual({ and: { tags: [] } });
  });

  it('keeps a site destination for the operator, with the bucket on that site', () => {
    const config = normaliseRules(
      rules(
        { destination: { site: 'site-b' } },
        { destination: { site: 'site-c', bucket: 'photos-copy' } },
      ),
    );
    expect(config.rules.map((r) => r.destination)).toEqual([
      { site: { name: 'site-b' } },
      { site: { name: 'site-c', bucket: 'photos-copy' } },
    ]);
  });

  it('gives what validation and the XML codec take', () => {
    const spec = ReplicationConfigurationSchema.parse({
      rules: [
        {
          id: 'to-b',
          priority: 1,
          filter: { prefix: '' },
          deleteMarkerReplication: { status: 'Enabled' },
          deleteReplication: { status: 'Enabled' },
          destination: { bucket: 'arn:minio:replication::x:photos' },
        },
      ],
    });
    const config = normaliseRules(spec.rules, '');
    expect(validateReplicationConfig(config, { destinationFlavor: 'minio' })).toEqual([]);
    expect(parseReplicationXML(buildReplicationXML(config))).toEqual(config);
  });
});

describe('bucketArn', () => {
  it('makes a bucket name an ARN and leaves ARNs alone', () => {
    expect(bucketArn('photos')).toBe('arn:aws:s3:::photos');
    expect(bucketArn('arn:aws:s3:::photos')).toBe('arn:aws:s3:::photos');
    expect(bucketArn('arn:minio:replication::id:photos')).toBe('arn:minio:replication::id:photos');
  });
});

describe('resolveSiteDestinations and documentOf', () => {
  const config = normaliseRules(
    rules(
      { id: 'a', destination: { site: 'site-b' } },
      { id: 'b', destination: { site: 'site-c' } },
      { id: 'c', destination: { bucket: 'arn:aws:s3:::d' } },
    ),
    '',
  );
  const arns: Record<string, string> = { 'site-b': 'arn:minio:replication::b:photos' };

  it('fills the ARNs it knows and leaves the others, without touching its input', () => {
    const before = structuredClone(config);
    const resolved = resolveSiteDestinations(config, (site) => arns[site.name]);
    expect(config).toEqual(before);
    expect(resolved.rules.map((r) => r.destination)).toEqual([
      { site: { name: 'site-b' }, bucket: 'arn:minio:replication::b:photos' },
      { site: { name: 'site-c' } },
      { bucket: 'arn:aws:s3:::d' },
    ]);
    expect(documentOf(resolved).rules.map((r) => r.destination)).toEqual([
      { bucket: 'arn:minio:replication::b:photos' },
      {},
      { bucket: 'arn:aws:s3:::d' },
    ]);
  });
});

describe('activeRules', () => {
  it('keeps exactly the Enabled rules, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('Enabled', 'Disabled', 'enabled', '')), (statuses) => {
        const config: ReplicationConfig = {
          rules: statuses.map((status, i) => ({
            id: `${i}`,
            status,
            destination: { bucket: 'b' },
          })),
        };
        expect(activeRules(config).map((r) => r.id)).toEqual(
          statuses.flatMap((s, i) => (s === 'Enabled' ? [`${i}`] : [])),
        );
      }),
    );
  });
});
