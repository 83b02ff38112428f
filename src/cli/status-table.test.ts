import { describe, expect, it } from '@jest/globals';

import type { SiteReplicationGroup } from '../api/site-replication-group.js';
import { type SiteOutcome, deriveStatus } from '../controllers/site-replication-group/status.js';
import { formatTable, humanDuration, renderStatus, siteRows } from './status-table.js';

const now = new Date('2026-11-23T10:00:00Z');
const earlier = new Date('2026-11-23T09:58:30Z');

const outcome = (name: string, extra: Partial<SiteOutcome> = {}): SiteOutcome => ({
  name,
  reachable: true,
  deploymentID: `dep-${name}`,
  buckets: { inSync: 4, outOfSync: 0 },
  iam: { inSync: 7, outOfSync: 0 },
  merkleRoot: 'root',
  inSync: true,
  ...extra,
});

/** A group whose status is what the controller's own status derivation writes. */
function group(sites: SiteOutcome[], opts: { changes?: number; generation?: number } = {}) {
  const generation = opts.generation ?? 2;
  const status = deriveStatus(
    undefined,
    {
      generation,
      mode: 'ActiveActive',
      primary: 'site-a',
      sites,
      knownSites: sites.map((s) => s.name),
      lastSequence: 17,
      merkleRoot: 'root',
      changes: opts.changes ?? 0,
      paused: false,
    },
    earlier,
  );
  const g: SiteReplicationGroup = {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'SiteReplicationGroup',
    metadata: { name: 'europe', namespace: 'storage', generation },
    spec: {
      sites: sites.map((s) => ({
        name: s.name,
        endpoint: `http://${s.name}:9000`,
        flavor: 'minio',
        region: 'us-east-1',
        credentialsSecret: { name: s.name, accessKeyKey: 'accessKey', secretKeyKey: 'secretKey' },
      })),
      mode: 'ActiveActive',
      primary: 'site-a',
      buckets: { include: ['*'], exclude: [] },
      verify: {},
      replicate: {
        objects: true,
        deletes: true,
        deleteMarkers: true,
        iam: { policies: true, users: true, groups: true, serviceAccounts: true },
        bucketConfig: { policy: true, tags: true, objectLock: true, encryption: true },
      },
      syncInterval: '30s',
      deletionGuard: { maxCount: 10, maxPercent: 10 },
      objectCopier: { concurrency: 4 },
      changeDetection: 'events',
      paused: false,
      allowSiteRemoval: false,
    },
    status,
  };
  return g;
}

describe('humanDuration', () => {
  it.each([
    [0, '0s'],
    [45_000, '45s'],
    [119_000, '119s'],
    [192_000, '3m12s'],
    [300_000, '5m'],
    [25 * 60_000, '25m'],
    [(4 * 60 + 10) * 60_000, '4h10m'],
    [30 * 3_600_000, '30h'],
    [(3 * 24 + 4) * 3_600_000, '3d4h'],
    [12 * 24 * 3_600_000, '12d'],
    [-5000, '0s'],
  ])('%d ms is %s, as kubectl prints ages', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe('formatTable', () => {
  it('aligns columns with three spaces and leaves no trailing blanks', () => {
    expect(
      formatTable([
        ['SITE', 'REACHABLE', 'ERROR'],
        ['a', 'yes', '-'],
        ['long-name', 'NO', 'SiteUnreachable: connect ECONNREFUSED'],
      ]),
    ).toBe(
      [
        'SITE        REACHABLE   ERROR',
        'a           yes         -',
        'long-name   NO          SiteUnreachable: connect ECONNREFUSED',
      ].join('\n'),
    );
  });
});

describe('renderStatus', () => {
  it('prints the summary, the Ready condition and one row per site when all is in sync', () => {
    const text = renderStatus(group([outcome('site-a'), outcome('site-b')]), { now });
    expect(text).toBe(
      [
        'SiteReplicationGroup storage/europe',
        'Mode: ActiveActive   Primary: site-a   Sites reachable: 2/2   In sync: 2/2   Last sequence: 17',
        'Ready=True (Synced: 2 sites in sync)',
        '',
        'SITE     REACHABLE   BUCKETS IN SYNC/OUT   IAM IN SYNC/OUT   OBJECTS PENDING/FAILED   LAST SYNC   ERROR',
        'site-a   yes         4/0                   7/0               -                        90s ago     -',
        'site-b   yes         4/0                   7/0               -                        90s ago     -',
        '',
      ].join('\n'),
    );
  });

  it('shows an unreachable site, its error and the Degraded condition', () => {
    const down = outcome('site-b', {
      reachable: false,
      inSync: false,
      deploymentID: undefined,
      buckets: { inSync: 0, outOfSync: 0 },
      iam: { inSync: 0, outOfSync: 0 },
      error: { reason: 'SiteUnreachable', message: 'connect ECONNREFUSED 127.0.0.1:9000' },
    });
    const text = renderStatus(group([outcome('site-a'), down]), { now });
    expect(text).toContain('Degraded=True (SiteUnreachable: site-b: connect ECONNREFUSED');
    expect(text).toContain('Ready=False (SiteUnreachable:');
    const rows = siteRows(group([outcome('site-a'), down]), { now });
    expect(rows[1]).toEqual([
      'site-b',
      'NO',
      '0/0',
      '0/0',
      '-',
      'never',
      'SiteUnreachable: connect ECONNREFUSED 127.0.0.1:9000',
    ]);
  });

  it('counts what is out of sync and the objects pending and failed', () => {
    const behind = outcome('site-b', {
      inSync: false,
      buckets: { inSync: 3, outOfSync: 1 },
      iam: { inSync: 5, outOfSync: 2 },
      objects: { pending: 12, replicated: 100, failed: 3, bytes: 4096, unknown: [], countedAt: 0 },
    });
    const [, row] = siteRows(group([outcome('site-a'), behind], { changes: 3 }), { now });
    expect(row?.slice(0, 6)).toEqual(['site-b', 'yes', '3/1', '5/2', '12/3', 'never']);
    const text = renderStatus(group([outcome('site-a'), behind], { changes: 3 }), { now });
    expect(text).toContain('Reconciling=True (Progressing: Applied 3 changes; verifying)');
    // With a lag, the age of the oldest waiting object follows.
    const late = outcome('site-b', {
      objects: {
        pending: 2,
        replicated: 0,
        failed: 0,
        bytes: 0,
        lagSeconds: 200,
        unknown: [],
        countedAt: 0,
      },
    });
    expect(siteRows(group([late]), { now })[0]?.[4]).toBe('2/0 (oldest 3m20s)');
  });

  it('cuts long errors to one line unless wide', () => {
    const message = `line one\n${'x'.repeat(200)}`;
    const bad = outcome('site-b', { error: { reason: 'ApplyFailed', message }, inSync: false });
    const g = group([outcome('site-a'), bad]);
    const narrow = siteRows(g, { now, errorWidth: 40 })[1]?.[6] ?? '';
    expect(narrow).toHaveLength(40);
    expect(narrow.endsWith('...')).toBe(true);
    expect(narrow).not.toContain('\n');
    expect(siteRows(g, { now, wide: true })[1]?.[6]).toBe(`ApplyFailed: ${message}`);
    const text = renderStatus(g, { now, errorWidth: 40 });
    const degraded = text.split('\n').find((l) => l.startsWith('Degraded=True'));
    expect(degraded).toHaveLength('Degraded=True ()'.length + 120);
  });

  it('does not repeat the site name the row already shows', () => {
    const bad = outcome('site-b', {
      inSync: false,
      error: { reason: 'ApplyFailed', message: 'site-b: s3:PutBucketReplication: HTTP 404' },
    });
    const [, row] = siteRows(group([outcome('site-a'), bad]), { now });
    expect(row?.[6]).toBe('ApplyFailed: s3:PutBucketReplication: HTTP 404');
  });

  it('says when the operator has not reported yet, and lists the spec sites', () => {
    const g = group([outcome('site-a'), outcome('site-b')]);
    delete g.status;
    const text = renderStatus(g, { now });
    expect(text).toContain('No status yet: is the sitesync operator running?');
    expect(siteRows(g, { now }).map((r) => [r[0], r[1], r[6]])).toEqual([
      ['site-a', 'unknown', 'not observed yet'],
      ['site-b', 'unknown', 'not observed yet'],
    ]);
  });

  it('says when the status is of an older generation', () => {
    const g = group([outcome('site-a'), outcome('site-b')]);
    g.metadata.generation = 3;
    expect(renderStatus(g, { now })).toContain(
      'Generation 3 not observed yet (status is of generation 2)',
    );
  });

  it('prints what differs where, the objects each site still has to send, the last verification and recovery', () => {
    const b = outcome('site-b', {
      inSync: false,
      buckets: { inSync: 3, outOfSync: 2 },
      outOfSync: {
        buckets: { count: 2, items: ['photos (missing)', 'logs (extra)'] },
        users: { count: 12, items: ['alice (differs)'] },
      },
      objects: {
        pending: 12,
        replicated: 100,
        failed: 2,
        bytes: 0,
        pendingBytes: 3 * 1024 * 1024,
        lagSeconds: 42,
        etaSeconds: 10,
        unknown: [],
        countedAt: now.getTime() - 5000,
      },
      verification: {
        objectsRoot: 'ff00ff00ff00ff00',
        versions: 99,
        bucketsDiffering: { count: 1, items: ['photos'] },
        missing: { count: 1, items: ['photos/cat.jpg@v1'] },
      },
    });
    const g = group([
      outcome('site-a', { verification: { objectsRoot: 'aa11aa11aa11aa11', versions: 100 } }),
      b,
    ]);
    g.status = {
      ...g.status,
      verification: {
        requested: 'v1',
        phase: 'Completed',
        startedAt: '2026-11-23T09:59:00Z',
        completedAt: '2026-11-23T09:59:30Z',
        durationSeconds: 30,
        buckets: 3,
        bucketsDone: 3,
        versionsCompared: 199,
        percent: 100,
        equal: false,
      },
      recovery: { requested: 'r1', phase: 'Completed', startedAt: 't', retried: 5, remaining: 0 },
    };
    const text = renderStatus(g, { now });
    expect(text).toContain('Objects each site still has to replicate:');
    expect(text).toMatch(/site-b\s+12\s+2\s+3\.0 MiB\s+42s\s+10s\s+5s ago/);
    expect(text).toContain('Buckets out of sync:');
    expect(text).toMatch(/site-b\s+2\s+photos \(missing\), logs \(extra\)/);
    expect(text).toMatch(/site-b\s+12\s+alice \(differs\) and 11 more/);
    expect(text).toContain(
      'Verification (v1): Completed 30s ago in 30s, 3 buckets, 199 versions compared: sites differ',
    );
    expect(text).toMatch(/site-b\s+ff00ff00ff00\s+99\s+1: photos\s+1: photos\/cat\.jpg@v1\s+-/);
    expect(text).toContain('Recovery (r1): Completed, retried 5, 0 left');
    const users = renderStatus(g, { now, only: ['users'] });
    expect(users).toContain('Users out of sync:');
    expect(users).not.toContain('Buckets out of sync:');
    expect(users).not.toContain('Objects each site');
  });

  it("prints the object copier's routes and what a site cannot hold", () => {
    const g = group([
      outcome('site-a'),
      outcome('aws', {
        unmappable: {
          count: 21,
          items: ['user:alice: the site cannot set secret keys', 'svcacct:AK: no service accounts'],
        },
      }),
    ]);
    g.status = {
      ...g.status,
      objectCopies: [
        {
          bucket: 'photos',
          source: 'site-a',
          destination: 'aws',
          copied: 40,
          deleteMarkers: 3,
          bytes: 2048,
          failed: 1,
          pending: 2,
          lagSeconds: 90,
          lastPassTime: '2026-11-23T09:59:50Z',
          message: 'k@v1: AccessDenied',
        },
      ],
    };
    const text = renderStatus(g, { now });
    expect(text).toContain('Objects the copier carries (sites without native replication):');
    expect(text).toMatch(
      /photos\s+site-a -> aws\s+40\s+3\s+2\.0 KiB\s+2\s+1\s+90s\s+10s ago\s+k@v1: AccessDenied/,
    );
    expect(text).toContain('Not mirrored to a site whose flavor cannot hold them');
    expect(text).toContain('aws (21):\n  user:alice: the site cannot set secret keys');
    expect(text).toContain('  and 19 more');
    expect(renderStatus(g, { now, only: ['users'] })).not.toContain('copier carries');
  });
});
