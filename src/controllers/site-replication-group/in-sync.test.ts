import { describe, expect, it } from '@jest/globals';

import { type InSyncSite, inSyncWhy, movingText, outOfSyncEntities } from './in-sync.js';
import type { SiteObjects } from './progress.js';

const objects = (extra: Partial<SiteObjects> = {}): SiteObjects => ({
  pending: 0,
  replicated: 10,
  failed: 0,
  bytes: 100,
  lagSeconds: 0,
  unknown: [],
  countedAt: Date.parse('2026-11-23T10:00:00Z'),
  ...extra,
});

const site = (name: string, extra: Partial<InSyncSite> = {}): InSyncSite => ({
  name,
  observed: true,
  inSync: true,
  buckets: { outOfSync: 0 },
  iam: { outOfSync: 0 },
  objects: objects(),
  ...extra,
});

const input = (sites: InSyncSite[], extra = {}) => ({
  sites,
  objects: true,
  planned: true,
  now: Date.parse('2026-11-23T10:00:05Z'),
  ...extra,
});

describe('inSyncWhy', () => {
  it('is True only when metadata agrees and no version waits anywhere, saying when it counted', () => {
    const r = inSyncWhy(input([site('a'), site('b')]));
    expect(r).toEqual({
      ok: true,
      why: {
        reason: 'InSync',
        message:
          '2 sites hold the agreed metadata; no object version pending or failed (counted at 2026-11-23T10:00:00Z)',
      },
    });
  });

  it('says what is still moving: counts, bytes, oldest lag and time left', () => {
    const moving = site('a', {
      objects: objects({
        pending: 200,
        pendingBytes: 3 * 1024 * 1024,
        lagSeconds: 42,
        etaSeconds: 10,
      }),
    });
    const r = inSyncWhy(input([moving, site('b')]));
    expect(r.ok).toBe(false);
    expect(r.why).toEqual({
      reason: 'ObjectsPending',
      message:
        'Object versions still to replicate: a: 200 pending (3.0 MiB queued), oldest waiting 42s, about 10s left',
    });
  });

  it('names failures first among the reasons', () => {
    const r = inSyncWhy(
      input([
        site('a', { objects: objects({ pending: 1 }) }),
        site('b', { objects: objects({ failed: 2 }) }),
      ]),
    );
    expect(r.why.reason).toBe('ObjectsFailed');
    expect(r.why.message).toContain('b: 0 pending, 2 failed');
  });

  it('is False while a site is not observed, metadata differs, or objects are not counted', () => {
    expect(
      inSyncWhy(
        input([
          site('a'),
          site('b', { observed: false, error: { reason: 'SiteUnreachable', message: 'x' } }),
        ]),
      ).why,
    ).toMatchObject({
      reason: 'SiteUnreachable',
      message: 'Not known to hold the agreed state: b (SiteUnreachable)',
    });
    expect(
      inSyncWhy(input([site('a'), site('b', { inSync: false, buckets: { outOfSync: 2 } })])).why
        .reason,
    ).toBe('MetadataOutOfSync');
    expect(inSyncWhy(input([site('a', { objects: undefined })])).why.reason).toBe(
      'ObjectsNotCounted',
    );
    expect(
      inSyncWhy(input([site('a', { objects: objects({ unknown: ['b1: timeout'] }) })])).why,
    ).toMatchObject({
      reason: 'ObjectsNotCounted',
      message: expect.stringContaining('a: b1: timeout') as unknown,
    });
  });

  it('ignores objects when the group does not replicate them, and a blocker wins', () => {
    expect(inSyncWhy(input([site('a', { objects: undefined })], { objects: false })).ok).toBe(true);
    expect(
      inSyncWhy(input([site('a')], { blocker: { reason: 'PrimaryNotSeed', message: 'm' } })).why
        .reason,
    ).toBe('PrimaryNotSeed');
  });
});

describe('movingText', () => {
  it('leaves out what is zero', () => {
    expect(movingText('s', objects({ pending: 3 }))).toBe('s: 3 pending');
  });
});

describe('outOfSyncEntities', () => {
  it('lists per kind the first names with what is wrong, and counts all', () => {
    const actions = [
      { kind: 'Put' as const, site: 'b', key: 'bucket:photos', digest: 'd', from: 'a' },
      { kind: 'Put' as const, site: 'b', key: 'bucket:photos/tags', digest: 'd', from: 'a' },
      { kind: 'Delete' as const, site: 'b', key: 'user:old' },
      { kind: 'Put' as const, site: 'b', key: 'mapping:group:ops', digest: 'd', from: 'a' },
      ...Array.from({ length: 12 }, (_, i) => ({
        kind: 'Put' as const,
        site: 'b',
        key: `policy:p${String(i)}`,
        digest: 'd',
        from: 'a',
      })),
    ];
    const out = outOfSyncEntities(actions, new Set(['bucket:photos/tags', 'user:old']));
    expect(out?.buckets).toEqual({ count: 1, items: ['photos (missing)'] });
    expect(out?.bucketConfigs).toEqual({ count: 1, items: ['photos/tags (differs)'] });
    expect(out?.users).toEqual({ count: 1, items: ['old (extra)'] });
    expect(out?.policyMappings).toEqual({ count: 1, items: ['group:ops (missing)'] });
    expect(out?.policies?.count).toBe(12);
    expect(out?.policies?.items).toHaveLength(10);
    expect(outOfSyncEntities([], new Set())).toBeUndefined();
  });
});
