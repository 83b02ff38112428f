import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';

import {
  DecodeError,
  decodeArn,
  decodeBucketMetadataImport,
  decodeBucketReplicationMetrics,
  decodeBucketTargets,
  decodeGroupDescription,
  decodeReplicationDiffEntry,
  decodeImportIAMResult,
  decodePolicyEntities,
  NotReadyError,
  decodeServerInfo,
  decodeServiceAccountDetails,
  decodeServiceAccountList,
  decodeSiteReplicationInfo,
  decodeSiteReplicationStatus,
  decodeUserMap,
  jsonLines,
  splitPolicies,
} from './decode.js';

// Shapes below were captured from a 2026-02 community MinIO (values shortened).

describe('decodeServerInfo', () => {
  it('takes the deployment ID, region, mode and counts the nodes', () => {
    const info = decodeServerInfo({
      mode: 'online',
      deploymentID: '6f88ecfe-e6e6-47fd-8cc6-ffa5515e9241',
      region: 'eu-west-1',
      backend: { backendType: 'Erasure' },
      servers: [
        { state: 'online', endpoint: 'a:9000', version: '2026-02-12' },
        { state: 'online', endpoint: 'b:9000', version: '2026-02-12' },
      ],
    });
    expect(info).toEqual({
      deploymentID: '6f88ecfe-e6e6-47fd-8cc6-ffa5515e9241',
      region: 'eu-west-1',
      mode: 'online',
      servers: 2,
      versions: ['2026-02-12'],
      backendType: 'Erasure',
    });
  });

  it('rejects an answer without a deployment ID', () => {
    expect(() => decodeServerInfo({ mode: 'online' })).toThrow(DecodeError);
    expect(() => decodeServerInfo({ deploymentID: '' })).toThrow(/no deployment ID yet/);
    expect(() => decodeServerInfo({ mode: 'initializing' })).toThrow(NotReadyError);
    expect(() => decodeServerInfo('<html>')).toThrow(/not a JSON object/);
  });
});

describe('users and groups', () => {
  it('normalises null slices and splits policy lists', () => {
    const users = decodeUserMap({
      alice: {
        policyName: 'p1,readonly',
        status: 'enabled',
        memberOf: ['g1'],
        updatedAt: '2026-11-23T10:17:42Z',
      },
      bob: { status: 'disabled', memberOf: null, userAuthInfo: { type: 'builtin' } },
    });
    expect(users['alice']).toEqual({
      status: 'enabled',
      policies: ['p1', 'readonly'],
      memberOf: ['g1'],
      authType: 'builtin',
      updatedAt: '2026-11-23T10:17:42Z',
    });
    expect(users['bob']?.memberOf).toEqual([]);
    expect(decodeUserMap(null)).toEqual({});
  });

  it('rejects an unknown status', () => {
    expect(() => decodeUserMap({ x: { status: 'maybe' } })).toThrow(DecodeError);
  });

  it('decodes a group description', () => {
    expect(
      decodeGroupDescription({
        name: 'g1',
        status: 'enabled',
        members: null,
        policy: '',
        updatedAt: '0001-01-01T00:00:00Z',
      }),
    ).toEqual({ name: 'g1', status: 'enabled', members: [], policies: [], updatedAt: undefined });
  });

  it('splits policy lists', () => {
    expect(splitPolicies('')).toEqual([]);
    expect(splitPolicies('a, b,,c')).toEqual(['a', 'b', 'c']);
  });
});

describe('decodePolicyEntities', () => {
  it('decodes the three mapping lists', () => {
    const r = decodePolicyEntities({
      timestamp: '2026-11-23T10:17:41Z',
      userMappings: [
        {
          user: 'alice',
          policies: ['p1'],
          memberOfMappings: [{ group: 'g1', policies: ['readonly'] }],
        },
      ],
      groupMappings: [{ group: 'g1', policies: ['readonly'] }],
    });
    expect(r.userMappings[0]?.memberOfMappings).toEqual([{ group: 'g1', policies: ['readonly'] }]);
    expect(r.policyMappings).toEqual([]);
  });
});

describe('service accounts', () => {
  it('treats the epoch expiration as none', () => {
    const [sa] = decodeServiceAccountList({
      accounts: [
        {
          parentUser: 'alice',
          accountStatus: 'on',
          impliedPolicy: false,
          accessKey: 'svc-alice-1',
          name: 'svc1',
          expiration: '1970-01-01T00:00:00Z',
        },
      ],
    });
    expect(sa).toEqual({
      accessKey: 'svc-alice-1',
      parentUser: 'alice',
      accountStatus: 'on',
      impliedPolicy: false,
      name: 'svc1',
      description: undefined,
      expiration: undefined,
    });
    expect(decodeServiceAccountList({ accounts: null })).toEqual([]);
  });

  it('parses the policy string of info-service-account', () => {
    const d = decodeServiceAccountDetails(
      {
        parentUser: 'alice',
        accountStatus: 'off',
        impliedPolicy: false,
        policy: '{\n "Version": "2012-10-17",\n "Statement": []\n}',
      },
      'svc',
    );
    expect(d.policy).toEqual({ Version: '2012-10-17', Statement: [] });
    expect(() =>
      decodeServiceAccountDetails({ parentUser: 'a', accountStatus: 'on', policy: '{bad' }, 'svc'),
    ).toThrow(DecodeError);
  });
});

describe('decodeImportIAMResult', () => {
  it('flattens failures and defaults missing lists', () => {
    const r = decodeImportIAMResult({
      added: { policies: ['p1'], groupPolicies: [{ g1: ['readonly'] }] },
      failed: {
        users: [{ name: 'bob', error: {} }],
        userPolicies: [{ name: 'carol', policies: ['nope'], error: {} }],
      },
    });
    expect(r.detailed).toBe(true);
    expect(r.added.policies).toEqual(['p1']);
    expect(r.added.groupPolicies).toEqual([{ g1: ['readonly'] }]);
    expect(r.skipped.users).toEqual([]);
    expect(r.failed).toEqual([
      { entity: 'users', name: 'bob', policies: undefined, error: '' },
      { entity: 'userPolicies', name: 'carol', policies: ['nope'], error: '' },
    ]);
  });
});

describe('decodeBucketMetadataImport', () => {
  it('collects per-item errors', () => {
    const r = decodeBucketMetadataImport({
      buckets: {
        b1: {
          olock: { isSet: false },
          versioning: { isSet: true },
          sse: { isSet: true, error: 'KMS is not configured' },
        },
        b2: { error: 'malformed zip' },
      },
    });
    expect(r.buckets['b1']?.items['versioning']).toEqual({ isSet: true, error: undefined });
    expect(r.errors).toEqual(['b1/sse: KMS is not configured', 'b2: malformed zip']);
    expect(decodeBucketMetadataImport({}).buckets).toEqual({});
  });
});

describe('remote targets', () => {
  it('decodes the lower-case keys and nanosecond durations', () => {
    const [t] = decodeBucketTargets([
      {
        sourcebucket: 'rbk',
        endpoint: '127.0.0.1:19302',
        credentials: { accessKey: 'admin' },
        targetbucket: 'rbk',
        secure: true,
        path: 'auto',
        api: 's3v4',
        arn: 'arn:minio:replication::0f2a:rbk',
        type: 'replication',
        replicationSync: true,
        healthCheckDuration: 30_000_000_000,
        bandwidthlimit: 0,
        isOnline: false,
      },
    ]);
    expect(t).toMatchObject({
      url: 'https://127.0.0.1:19302',
      accessKey: 'admin',
      healthCheckSeconds: 30,
      replicationSync: true,
      isOnline: false,
    });
    expect(decodeBucketTargets(null)).toEqual([]);
  });

  it('accepts only an ARN string as the set-remote-target answer', () => {
    expect(decodeArn('arn:minio:replication::id:b')).toBe('arn:minio:replication::id:b');
    expect(() => decodeArn({ arn: 'x' })).toThrow(DecodeError);
  });
});

describe('site replication', () => {
  it('decodes info when disabled and enabled', () => {
    expect(decodeSiteReplicationInfo({ enabled: false })).toEqual({
      enabled: false,
      name: '',
      sites: [],
      serviceAccountAccessKey: '',
      apiVersion: '',
    });
    const on = decodeSiteReplicationInfo({
      enabled: true,
      name: 'a',
      sites: [
        {
          endpoint: 'http://a:9000',
          name: 'a',
          deploymentID: 'd1',
          sync: 'disable',
          defaultbandwidth: { bandwidthLimitPerBucket: 0, set: false },
          'replicate-ilm-expiry': false,
        },
      ],
      serviceAccountAccessKey: 'site-replicator-0',
      apiVersion: '1',
    });
    expect(on.sites[0]).toEqual({
      name: 'a',
      endpoint: 'http://a:9000',
      deploymentID: 'd1',
      sync: 'disable',
      replicateILMExpiry: false,
      bandwidthLimitPerBucket: 0,
    });
  });

  it('decodes the PascalCase status', () => {
    const s = decodeSiteReplicationStatus({
      Enabled: true,
      MaxBuckets: 2,
      MaxUsers: 1,
      Sites: { d1: { name: 'a', endpoint: 'http://a', deploymentID: 'd1' } },
      StatsSummary: { d1: { ReplicatedBuckets: 2, TotalBucketsCount: 2, APIVersion: '1' } },
      BucketStats: null,
    });
    expect(s.enabled).toBe(true);
    expect(s.maxBuckets).toBe(2);
    expect(s.sites['d1']?.name).toBe('a');
    expect(s.statsSummary['d1']).toEqual({ ReplicatedBuckets: 2, TotalBucketsCount: 2 });
    expect(s.bucketStats).toEqual({});
  });
});

describe('decodeBucketReplicationMetrics', () => {
  it('sums what the v2 metrics report', () => {
    const m = decodeBucketReplicationMetrics({
      uptime: 45,
      currStats: {
        Stats: {
          'arn:minio:replication::x:rbk': {
            completedReplicationSize: 5,
            replicaSize: 0,
            failed: { lastMinute: { count: 0, bytes: 0 }, totals: { count: 2, bytes: 10 } },
            replicationCount: 1,
            limitInBits: 0,
            currentBandwidth: 0,
          },
        },
        completedReplicationSize: 5,
        replicaSize: 7,
        failed: { totals: { count: 2, bytes: 10 } },
        replicationCount: 1,
        replicaCount: 3,
        queued: { curr: { count: 4, bytes: 400 }, avg: { count: 0, bytes: 0 } },
      },
      queueStats: { nodes: null },
    });
    expect(m).toMatchObject({
      uptimeSeconds: 45,
      replicatedBytes: 5,
      replicaBytes: 7,
      replicaCount: 3,
      failedCount: 2,
      failedBytes: 10,
      queuedCount: 4,
      queuedBytes: 400,
    });
    expect(m.targets['arn:minio:replication::x:rbk']?.failedCount).toBe(2);
    expect(() => decodeBucketReplicationMetrics({ uptime: 1 })).toThrow(DecodeError);
  });
});

describe('jsonLines and replication diff entries', () => {
  const chunks = (parts: string[]): AsyncIterable<Uint8Array> =>
    Readable.from(parts.map((p) => Buffer.from(p, 'utf8')));
  const collect = async (parts: string[]) => {
    const out: unknown[] = [];
    for await (const v of jsonLines(chunks(parts))) out.push(v);
    return out;
  };

  it('yields each line once, whatever the chunking, skipping keep-alive spaces', async () => {
    const text =
      ' {"object":"a","versionId":"v1","lastModified":"2026-01-02T03:04:05Z","deletemarker":false,"targets":{"arn:1":{"rStatus":"PENDING"}}}\n' +
      '  \n{"object":"é","versionId":"v2","deletemarker":true}\n {"object":"c"}';
    const whole = await collect([text]);
    expect(whole).toHaveLength(3);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(text.length), { maxLength: 8 }), async (cuts) => {
        const bytes = Buffer.from(text, 'utf8');
        const at = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((x, y) => x - y);
        const parts: Uint8Array[] = [];
        let from = 0;
        for (const c of [...at, bytes.length]) {
          parts.push(bytes.subarray(from, c));
          from = c;
        }
        const out: unknown[] = [];
        for await (const v of jsonLines(Readable.from(parts))) out.push(v);
        expect(out).toEqual(whole);
      }),
    );
    expect(whole.map(decodeReplicationDiffEntry)).toEqual([
      {
        object: 'a',
        versionId: 'v1',
        lastModified: '2026-01-02T03:04:05Z',
        deleteMarker: false,
        targets: { 'arn:1': { status: 'PENDING', deleteStatus: '' } },
      },
      { object: 'é', versionId: 'v2', lastModified: undefined, deleteMarker: true, targets: {} },
      { object: 'c', versionId: '', lastModified: undefined, deleteMarker: false, targets: {} },
    ]);
  });

  it('throws a DecodeError on a line that is not JSON, and on an entry without an object', async () => {
    await expect(collect(['{"object":"a"}\n{"object":\n'])).rejects.toThrow(DecodeError);
    expect(() => decodeReplicationDiffEntry({ versionId: 'x' })).toThrow(DecodeError);
  });

  it('refuses a line longer than its cap, even one that never ends', async () => {
    const lines = async function* () {
      yield Buffer.from('{"object":"a"}\n');
      // An endless line: without the cap this would be held in memory until the timeout.
      for (;;) {
        await tick();
        yield Buffer.alloc(64 * 1024, 'x');
      }
    };
    const out: unknown[] = [];
    const read = async () => {
      for await (const v of jsonLines(lines(), 1024 * 1024)) out.push(v);
    };
    await expect(read()).rejects.toThrow('a line is longer than 1048576 characters');
    expect(out).toEqual([{ object: 'a' }]);
  });

  it('does not count keep-alive spaces toward the cap', async () => {
    const spaces = Array.from({ length: 50 }, () => Buffer.from(' '.repeat(100)));
    const body = Readable.from([...spaces, Buffer.from('{"object":"a"}\n')]);
    const out: unknown[] = [];
    for await (const v of jsonLines(body, 200)) {
      out.push(v);
    }
    expect(out).toEqual([{ object: 'a' }]);
  });
});
