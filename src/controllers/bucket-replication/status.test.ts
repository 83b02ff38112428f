import { describe, expect, it } from '@jest/globals';

import type { ReplicationConfig } from '../../replication/replication-config.js';
import { findCondition } from '../../runtime/conditions.js';
import {
  type BrepOutcome,
  type BucketCounters,
  deriveStatus,
  ruleProgress,
  singleTargetCounters,
} from './status.js';
import { type BacklogEntry, type TargetBacklog, noteWaiting } from '../../sites/backlog.js';

const T1 = 'arn:minio:replication::t1:photos';
const T2 = 'arn:minio:replication::t2:photos-copy';
const now = new Date('2026-01-02T03:04:05Z');

const config: ReplicationConfig = {
  rules: [
    {
      id: 'raw',
      priority: 2,
      status: 'Enabled',
      deleteMarkerReplication: { status: 'Disabled' },
      destination: { bucket: T1, site: { name: 'site-b' } },
    },
    {
      id: 'all',
      priority: 1,
      status: 'Enabled',
      deleteMarkerReplication: { status: 'Enabled' },
      destination: { bucket: T1, site: { name: 'site-b' } },
    },
    {
      priority: 3,
      status: 'Enabled',
      deleteMarkerReplication: { status: 'Disabled' },
      destination: { bucket: T2, site: { name: 'site-c', bucket: 'photos-copy' } },
    },
    {
      id: 'off',
      priority: 4,
      status: 'Disabled',
      deleteMarkerReplication: { status: 'Disabled' },
      destination: { bucket: 'arn:minio:replication::t3:x' },
    },
  ],
};

const counters: BucketCounters = {
  queuedCount: 0,
  targets: {
    [T1]: { replicatedCount: 5, replicatedBytes: 500, failedCount: 1 },
    [T2]: { replicatedCount: 2, replicatedBytes: 20, failedCount: 0 },
  },
};

function backlogOf(entries: BacklogEntry[], overdueBefore: number) {
  const by: Record<string, TargetBacklog> = {};
  for (const e of entries) noteWaiting(by, e, overdueBefore);
  return by;
}

describe('ruleProgress', () => {
  it("maps each rule to its destination target's counters", () => {
    expect(ruleProgress(config, counters, 'photos')).toEqual([
      {
        id: 'raw',
        destination: 'site-b/photos',
        pending: 0,
        replicated: 5,
        failed: 1,
        bytes: 500,
        lagSeconds: 0,
      },
      {
        id: 'all',
        destination: 'site-b/photos',
        pending: 0,
        replicated: 5,
        failed: 1,
        bytes: 500,
        lagSeconds: 0,
      },
      {
        id: '#2',
        destination: 'site-c/photos-copy',
        pending: 0,
        replicated: 2,
        failed: 0,
        bytes: 20,
        lagSeconds: 0,
      },
      {
        id: 'off',
        destination: 'arn:minio:replication::t3:x',
        pending: 0,
        replicated: 0,
        failed: 0,
        bytes: 0,
      },
    ]);
  });

  it('reports the queue as pending and no lag it cannot measure', () => {
    const busy = ruleProgress(config, { ...counters, queuedCount: 7 }, 'photos');
    expect(busy.map((r) => [r.id, r.pending, r.lagSeconds])).toEqual([
      ['raw', 7, undefined],
      ['all', 7, undefined],
      ['#2', 7, undefined],
      ['off', 0, undefined],
    ]);
    expect(busy.every((r) => r.rtcThresholdBreaches === undefined)).toBe(true);
  });

  it("reports as lag the age of the oldest version still waiting for each rule's target", () => {
    const atMs = Date.parse('2026-01-02T03:00:00Z');
    const by = backlogOf(
      [
        {
          lastModified: '2026-01-02T02:59:00Z',
          targets: { [T1]: { status: 'PENDING', deleteStatus: '' } },
        },
        {
          lastModified: '2026-01-02T02:55:00Z',
          targets: { [T1]: { status: 'FAILED', deleteStatus: '' } },
        },
        // Replicated to T2 already: not waiting for it.
        {
          lastModified: '2026-01-02T02:00:00Z',
          targets: { [T2]: { status: 'COMPLETED', deleteStatus: '' } },
        },
        // A version delete still to replicate waits too.
        {
          lastModified: '2026-01-02T02:58:30Z',
          targets: { [T2]: { status: '', deleteStatus: 'PENDING' } },
        },
        { targets: { [T1]: { status: 'PENDING', deleteStatus: '' } } },
      ],
      atMs - 4 * 60_000,
    );
    // Overdue: written before the cut-off (02:56): only the version from 02:55.
    expect(by).toEqual({
      [T1]: { oldest: Date.parse('2026-01-02T02:55:00Z'), overdue: 1 },
      [T2]: { oldest: Date.parse('2026-01-02T02:58:30Z'), overdue: 0 },
    });
    const busy = ruleProgress(
      config,
      { ...counters, queuedCount: 3, waiting: { atMs, by } },
      'photos',
    );
    expect(busy.map((r) => [r.id, r.lagSeconds])).toEqual([
      ['raw', 300],
      ['all', 300],
      ['#2', 90],
      ['off', undefined],
    ]);
    // Listed, and nothing waits for T2: no lag there even with a queue.
    const onlyT1 = ruleProgress(
      config,
      {
        ...counters,
        queuedCount: 3,
        waiting: { atMs, by: { [T1]: { oldest: atMs - 4000, overdue: 0 } } },
      },
      'photos',
    );
    expect(onlyT1.map((r) => r.lagSeconds)).toEqual([4, 4, 0, undefined]);
    // No rule asks for RTC: no breach count anywhere.
    expect(busy.every((r) => r.rtcThresholdBreaches === undefined)).toBe(true);
  });

  it('counts RTC threshold breaches for the rules with replicationTime Enabled only', () => {
    const rtc = {
      metrics: { status: 'Enabled' as const, eventThreshold: { minutes: 15 } },
      replicationTime: { status: 'Enabled' as const, time: { minutes: 15 } },
    };
    const withRtc: ReplicationConfig = {
      rules: config.rules.map((r, i) =>
        i === 0 || i === 2 ? { ...r, destination: { ...r.destination, ...rtc } } : r,
      ),
    };
    const atMs = Date.parse('2026-01-02T03:00:00Z');
    const waiting = {
      atMs,
      by: { [T1]: { oldest: atMs - 20 * 60_000, overdue: 4 } },
    };
    const progress = ruleProgress(withRtc, { ...counters, queuedCount: 9, waiting }, 'photos');
    expect(progress.map((r) => [r.id, r.rtcThresholdBreaches, r.lagSeconds])).toEqual([
      ['raw', 4, 1200],
      ['all', undefined, 1200],
      ['#2', 0, 0],
      ['off', undefined, undefined],
    ]);
    // Nothing queued and nothing listed: nothing can be late.
    expect(ruleProgress(withRtc, counters, 'photos')[0]?.rtcThresholdBreaches).toBe(0);
    // Queued but not listed: unknown.
    expect(
      ruleProgress(withRtc, { ...counters, queuedCount: 2 }, 'photos')[0]?.rtcThresholdBreaches,
    ).toBeUndefined();
  });

  it('uses bucket totals only when one target is in play', () => {
    const total = { pending: 1, replicated: 3, failed: 0, bytes: 30 };
    expect(singleTargetCounters(config, total)).toBeUndefined();
    const one: ReplicationConfig = { rules: config.rules.slice(0, 2) };
    expect(singleTargetCounters(one, total)).toEqual({
      queuedCount: 1,
      targets: { [T1]: { replicatedCount: 3, replicatedBytes: 30, failedCount: 0 } },
    });
  });
});

const base: BrepOutcome = { generation: 3, sourceSite: 'site-a', problems: [], changes: [] };
const applied = { digest: 'abc', rules: 2, where: 'site-a/photos' };

describe('deriveStatus', () => {
  it('is Ready when the document is in place and nothing changed or failed', () => {
    const s = deriveStatus(undefined, { ...base, applied }, now);
    expect(s.observedGeneration).toBe(3);
    expect(s.appliedDigest).toBe('abc');
    expect(s.sourceSite).toBe('site-a');
    expect(findCondition(s.conditions, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Applied',
      message: '2 rule(s) applied to site-a/photos',
      observedGeneration: 3,
    });
    for (const t of ['Reconciling', 'Degraded', 'Stalled'])
      expect(findCondition(s.conditions, t)?.status).toBe('False');
  });

  it('is Reconciling, not Ready, in the pass that changed something', () => {
    const s = deriveStatus(
      undefined,
      { ...base, applied, changes: ['put replication configuration'] },
      now,
    );
    expect(findCondition(s.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Progressing',
    });
    expect(findCondition(s.conditions, 'Reconciling')).toMatchObject({
      status: 'True',
      message: 'put replication configuration; verifying',
    });
  });

  it('is Degraded naming the site when a destination fails', () => {
    const problems = [
      {
        reason: 'SiteUnreachable',
        message: 'destination site-c/photos: site-c: connect ECONNREFUSED',
      },
    ];
    const s = deriveStatus(undefined, { ...base, problems }, now);
    expect(findCondition(s.conditions, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'SiteUnreachable',
      message: 'destination site-c/photos: site-c: connect ECONNREFUSED',
    });
    expect(findCondition(s.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'SiteUnreachable',
    });
  });

  it('is Stalled when blocked, keeping the digest and progress already known', () => {
    const prev = deriveStatus(undefined, { ...base, applied, rules: [] }, now);
    const s = deriveStatus(
      prev,
      { ...base, blocker: { reason: 'GroupNotFound', message: 'spec.source.groupRef: ...' } },
      now,
    );
    expect(findCondition(s.conditions, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'GroupNotFound',
    });
    expect(findCondition(s.conditions, 'Ready')?.status).toBe('False');
    expect(s.appliedDigest).toBe('abc');
    expect(s.rules).toEqual([]);
  });

  it('moves lastTransitionTime only when a condition flips', () => {
    const first = deriveStatus(undefined, { ...base, applied }, now);
    const later = new Date(now.getTime() + 60_000);
    const same = deriveStatus(first, { ...base, applied }, later);
    expect(same.conditions).toEqual(first.conditions);
    const flipped = deriveStatus(
      same,
      { ...base, problems: [{ reason: 'X', message: 'y' }] },
      later,
    );
    expect(findCondition(flipped.conditions, 'Ready')?.lastTransitionTime).toBe(
      '2026-01-02T03:05:05Z',
    );
    expect(findCondition(flipped.conditions, 'Stalled')?.lastTransitionTime).toBe(
      '2026-01-02T03:04:05Z',
    );
  });
});
