import { describe, expect, it } from '@jest/globals';

import { decodePolicyDocument, iamStateFromDetails } from './iam-details.js';
import { iamEndpointOf } from './s3-iam.js';
import { putReplicationHeaders } from './s3-replication-xml.js';
import { describeSample } from './s3-site-client.js';
import { contentMD5, parseS3Error } from '../s3-transport.js';

const doc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*' }] };

describe('iamStateFromDetails', () => {
  it('maps users, groups (members from users), policies and attachments over pages', () => {
    const iam = iamStateFromDetails([
      {
        UserDetailList: [
          { UserName: 'bob', GroupList: ['team'], AttachedManagedPolicies: [{ PolicyName: 'p' }] },
        ],
        GroupDetailList: [{ GroupName: 'empty' }],
        Policies: [
          {
            // moto leaves PolicyName out: the name comes from the ARN.
            Arn: 'arn:aws:iam::123456789012:policy/path/p',
            DefaultVersionId: 'v2',
            PolicyVersionList: [
              { VersionId: 'v1', IsDefaultVersion: false, Document: '{}' },
              {
                VersionId: 'v2',
                IsDefaultVersion: true,
                Document: encodeURIComponent(JSON.stringify(doc)),
              },
            ],
          },
        ],
      },
      {
        UserDetailList: [{ UserName: 'alice', GroupList: ['team'] }],
        GroupDetailList: [{ GroupName: 'team', AttachedManagedPolicies: [{ PolicyName: 'p' }] }],
      },
    ]);
    expect(iam.policies.get('p')).toEqual(doc);
    expect([...iam.users.keys()].sort()).toEqual(['alice', 'bob']);
    expect(iam.users.get('bob')).toEqual({ status: 'enabled', secretKey: '' });
    expect(iam.groups.get('team')).toEqual({ status: 'enabled', members: ['alice', 'bob'] });
    expect(iam.groups.get('empty')).toEqual({ status: 'enabled', members: [] });
    expect(iam.userPolicies.get('bob')).toEqual({ policies: ['p'] });
    expect(iam.userPolicies.has('alice')).toBe(false);
    expect(iam.groupPolicies.get('team')).toEqual({ policies: ['p'] });
    expect(iam.serviceAccounts.size).toBe(0);
  });

  it('reads policy documents URL-encoded or plain', () => {
    expect(decodePolicyDocument(encodeURIComponent(JSON.stringify(doc)))).toEqual(doc);
    expect(decodePolicyDocument(JSON.stringify(doc))).toEqual(doc);
  });
});

describe('PutBucketReplication headers', () => {
  it('carry Content-MD5 of the exact body, and the optional ones only when given', () => {
    const body = Buffer.from('<ReplicationConfiguration/>');
    expect(contentMD5(Buffer.from(''))).toBe('1B2M2Y8AsgTpgAmY7PhCfg==');
    expect(putReplicationHeaders(body)).toEqual({
      'content-type': 'application/xml',
      'content-md5': contentMD5(body),
    });
    expect(
      putReplicationHeaders(body, { expectedBucketOwner: '123456789012', objectLockToken: 't' }),
    ).toMatchObject({
      'x-amz-expected-bucket-owner': '123456789012',
      'x-amz-bucket-object-lock-token': 't',
    });
  });
});

describe('parseS3Error', () => {
  it('reads Code and Message, and nothing from a body that is not an S3 error', () => {
    const xml =
      '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
    expect(parseS3Error(Buffer.from(xml))).toEqual({
      code: 'AccessDenied',
      message: 'Access Denied',
    });
    expect(parseS3Error(Buffer.from('<html>bad gateway</html>'))).toEqual({});
    expect(parseS3Error(Buffer.from(''))).toEqual({});
  });
});

describe('iamEndpointOf', () => {
  it('is the global IAM endpoint for AWS, the S3 endpoint elsewhere', () => {
    expect(iamEndpointOf('https://s3.eu-west-1.amazonaws.com')).toBeUndefined();
    expect(iamEndpointOf('https://s3.cn-north-1.amazonaws.com.cn')).toBeUndefined();
    expect(iamEndpointOf('http://127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(iamEndpointOf('https://amazonaws.com.example.org')).toBe(
      'https://amazonaws.com.example.org',
    );
  });
});

describe('describeSample', () => {
  it('says what the progress figures are', () => {
    expect(describeSample(0, 0, false)).toContain('holds no object version');
    expect(describeSample(5, 0, false)).toContain('none carries it');
    expect(describeSample(32, 3, true)).toContain('the first 32 object versions');
    expect(describeSample(32, 3, true)).toContain('of the sample, not the bucket');
  });
});
