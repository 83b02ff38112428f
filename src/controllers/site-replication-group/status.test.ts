import { describe, expect, it } from '@jest/globals';

import { findCondition } from '../../runtime/conditions.js';
import {
  type GroupOutcome,
  type SiteOutcome,
  deriveStatus,
  statusDue,
  statusPatch,
} from './status.js';

const site = (name: string, extra: Partial<SiteOutcome> = {}): SiteOutcome => ({
  name,
  reachable: true,
  buckets: { inSync: 3, outOfSync: 0 },
  iam: { inSync: 5, outOfSync: 0 },
  merkleRoot: 'root',
  inSync: true,
  ...extra,
});

const outcome = (extra: Partial<GroupOutcome> = {}): GroupOutcome => ({
  generation: 4,
  mode: 'ActiveActive',
  sites: [site('a'), site('b')],
  knownSites: ['a', 'b'],
  lastSequence: 12,
  merkleRoot: 'root',
  changes: 0,
  paused: false,
  ...extra,
});

const now = new Date('2026-11-23T10:00:00Z');
const cond = (o: GroupOutcome, type: string) =>
  findCondition(deriveStatus(undefined, o, now).conditions, type);

describe('deriveStatus', () => {
  it('is Ready when every site is in sync and nothing changed', () => {
    const s = deriveStatus(undefined, outcome(), now);
    expect(findCondition(s.conditions, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Synced',
      observedGeneration: 4,
    });
    expect(s.sitesInSync).toBe('2/2');
    expect(s.sitesReachable).toBe('2/2');
    expect(s.sites?.[0]?.lastSyncTime).toBe('2026-11-23T10:00:00Z');
  });

  it('is Reconciling, not Ready, right after applying changes', () => {
    const o = outcome({ changes: 7 });
    expect(cond(o, 'Ready')).toMatchObject({ status: 'False', reason: 'Progressing' });
    expect(cond(o, 'Reconciling')).toMatchObject({ status: 'True' });
  });

  it('is Degraded naming the failing site, once', () => {
    const o = outcome({
      sites: [
        site('a'),
        site('b', {
          reachable: false,
          inSync: false,
          error: { reason: 'SiteUnreachable', message: 'b: ListBuckets: cannot reach http://b' },
        }),
      ],
    });
    expect(cond(o, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'SiteUnreachable',
      message: 'b: ListBuckets: cannot reach http://b',
    });
    expect(cond(o, 'Ready')).toMatchObject({ status: 'False', reason: 'SiteUnreachable' });
    expect(deriveStatus(undefined, o, now).sitesReachable).toBe('1/2');
  });

  it('is Stalled with the blocker as the Ready reason', () => {
    const o = outcome({
      blocker: { reason: 'MultipleSitesWithData', message: 'a and b hold data' },
    });
    expect(cond(o, 'Stalled')).toMatchObject({ status: 'True', reason: 'MultipleSitesWithData' });
    expect(cond(o, 'Ready')).toMatchObject({ status: 'False', message: 'a and b hold data' });
  });

  it('keeps the last sync time of a site that fell behind, and the transition time while unchanged', () => {
    const first = deriveStatus(undefined, outcome(), now);
    const later = new Date('2026-11-23T10:05:00Z');
    const behind = deriveStatus(
      first,
      outcome({ sites: [site('a'), site('b', { inSync: false })] }),
      later,
    );
    expect(behind.sites?.[1]?.lastSyncTime).toBe('2026-11-23T10:00:00Z');
    expect(behind.sites?.[0]?.lastSyncTime).toBe('2026-11-23T10:05:00Z');
    const again = deriveStatus(first, outcome(), later);
    expect(findCondition(again.conditions, 'Ready')?.lastTransitionTime).toBe(
      '2026-11-23T10:00:00Z',
    );
  });
});

describe('statusDue', () => {
  const at = (t: string) => new Date(`2026-11-23T${t}Z`);
  const first = deriveStatus(undefined, outcome(), at('10:00:00'));

  it('writes what is new at once', () => {
    const degraded = deriveStatus(
      first,
      outcome({
        sites: [
          site('a'),
          site('b', { inSync: false, error: { reason: 'SiteUnreachable', message: 'down' } }),
        ],
      }),
      at('10:00:01'),
    );
    expect(statusDue(first, degraded, at('10:00:01'), 15_000)).toBe(true);
  });

  it('refreshes lastSyncTime in steady state, at most every refresh period', () => {
    const soon = deriveStatus(first, outcome(), at('10:00:10'));
    expect(statusDue(first, soon, at('10:00:10'), 15_000)).toBe(false);
    const later = deriveStatus(first, outcome(), at('10:00:15'));
    expect(statusDue(first, later, at('10:00:15'), 15_000)).toBe(true);
    expect(later.sites?.map((x) => x.lastSyncTime)).toEqual([
      '2026-11-23T10:00:15Z',
      '2026-11-23T10:00:15Z',
    ]);
  });
});

describe('statusPatch', () => {
  const base = { observedGeneration: 1, conditions: [] };
  it('sets fields a pass dropped to null, so the merge patch removes them', () => {
    const prev = {
      ...base,
      removedSites: [{ name: 'c', message: 'cannot reach it' }],
      deletionsHeld: { total: 50, byKind: { user: 50 }, drivenBy: ['b'], digest: 'abc', bound: 10 },
    };
    expect(statusPatch(prev, base)).toEqual({ ...base, removedSites: null, deletionsHeld: null });
  });

  it("drops the copier's routes once the group has none (no s3 site left)", () => {
    const route = {
      bucket: 'b',
      source: 'a',
      destination: 'aws',
      copied: 1,
      deleteMarkers: 0,
      bytes: 1,
      failed: 0,
      pending: 0,
      lagSeconds: 0,
    };
    expect(statusPatch({ ...base, objectCopies: [route] }, base)).toEqual({
      ...base,
      objectCopies: null,
    });
  });

  it('leaves fields alone that were absent before or are still set', () => {
    const removed = [{ name: 'c', message: 'cannot reach it' }];
    expect(statusPatch(undefined, base)).toEqual(base);
    expect(
      statusPatch({ ...base, removedSites: removed }, { ...base, removedSites: removed }),
    ).toEqual({ ...base, removedSites: removed });
  });
});

describe('deriveStatus: InSync, roots and operations', () => {
  it('adds InSync beside the kstatus conditions, as the outcome says', () => {
    const ok = outcome({ inSync: { ok: true, why: { reason: 'InSync', message: 'all' } } });
    expect(cond(ok, 'InSync')).toMatchObject({ status: 'True', reason: 'InSync' });
    const moving = outcome({
      inSync: { ok: false, why: { reason: 'ObjectsPending', message: 'a: 3 pending' } },
    });
    expect(cond(moving, 'InSync')).toMatchObject({ status: 'False', message: 'a: 3 pending' });
    // Ready keeps its kstatus meaning: the configuration is reconciled.
    expect(cond(moving, 'Ready')).toMatchObject({ status: 'True' });
  });

  it('counts the sites whose root equals the group root as in sync', () => {
    const o = outcome({ sites: [site('a'), site('b', { merkleRoot: 'other' })] });
    expect(deriveStatus(undefined, o, now).sitesInSync).toBe('1/2');
  });

  it('records last_wal per site while in sync, and keeps the last verification per site', () => {
    const verification = { objectsRoot: 'r', versions: 3 };
    const first = deriveStatus(
      undefined,
      outcome({ sites: [site('a', { verification }), site('b')] }),
      now,
    );
    expect(first.sites?.[0]).toMatchObject({ lastSequence: 12, verification });
    const later = deriveStatus(
      first,
      outcome({ lastSequence: 13, sites: [site('a', { inSync: false }), site('b')] }),
      now,
    );
    expect(later.sites?.[0]).toMatchObject({ lastSequence: 12, verification });
    expect(later.sites?.[1]?.lastSequence).toBe(13);
  });

  it('records lastRecover only when the outcome says the recovery is done', () => {
    const recovery = {
      requested: 'r1',
      phase: 'Retrying' as const,
      startedAt: '2026-11-23T09:59:00Z',
      retried: 4,
    };
    const checking = deriveStatus(undefined, outcome({ recovery }), now);
    expect(checking.lastRecover).toBeUndefined();
    expect(checking.recovery).toEqual(recovery);
    const done = deriveStatus(checking, outcome({ lastRecover: 'r1' }), now);
    expect(done.lastRecover).toBe('r1');
    expect(done.recovery).toEqual(recovery);
  });
});
