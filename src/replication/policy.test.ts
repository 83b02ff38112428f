import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { canonicalJSON } from './digest.js';
import { canonicalPolicy, minioOnlyParts } from './policy.js';

const doc = (actions: string[] | string, resource: string[] | string) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: actions, Resource: resource }],
});

describe('canonicalPolicy', () => {
  it('treats action and resource lists as sets, and a string as a one-item list', () => {
    const a = canonicalPolicy(doc(['s3:PutObject', 's3:GetObject'], 'arn:aws:s3:::b/*'));
    const b = canonicalPolicy(doc(['s3:GetObject', 's3:PutObject'], ['arn:aws:s3:::b/*']));
    expect(canonicalJSON(a)).toBe(canonicalJSON(b));
  });

  it('keeps documents that grant different things apart', () => {
    const a = canonicalPolicy(doc(['s3:GetObject'], '*'));
    const b = canonicalPolicy(doc(['s3:PutObject'], '*'));
    expect(canonicalJSON(a)).not.toBe(canonicalJSON(b));
  });

  it('reads a JSON string like the document it holds', () => {
    const d = doc(['s3:GetObject'], '*');
    expect(canonicalPolicy(JSON.stringify(d))).toEqual(canonicalPolicy(d));
  });

  it('property: any permutation of actions gives the same canonical form', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^s3:[A-Za-z]{1,12}$/), { minLength: 1, maxLength: 8 }),
        (actions) => {
          const shuffled = [...actions].reverse();
          expect(canonicalJSON(canonicalPolicy(doc(actions, '*')))).toBe(
            canonicalJSON(canonicalPolicy(doc(shuffled, '*'))),
          );
        },
      ),
    );
  });
});

describe('minioOnlyParts', () => {
  it('names the condition keys and actions only MinIO understands', () => {
    const doc = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 'admin:ServerInfo'],
          Resource: ['arn:aws:s3:::*'],
          Condition: { StringEquals: { 'jwt:groups': ['ops'], 'aws:SourceIp': '10.0.0.1' } },
        },
        {
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::b',
          Condition: { StringLike: { 'ldap:username': 'u*' } },
        },
      ],
    };
    expect(minioOnlyParts(doc)).toEqual([
      'action admin:ServerInfo',
      'condition key jwt:groups',
      'condition key ldap:username',
    ]);
  });

  it('finds nothing in a plain AWS policy, or in what is not a policy', () => {
    const doc = {
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Action: 's3:*', Resource: '*' },
    };
    expect(minioOnlyParts(doc)).toEqual([]);
    expect(minioOnlyParts(null)).toEqual([]);
    expect(minioOnlyParts({ Statement: 'x' })).toEqual([]);
  });
});
