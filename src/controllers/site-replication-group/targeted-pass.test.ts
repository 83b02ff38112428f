import { describe, expect, it } from '@jest/globals';

import { emptyIamState, type BucketMeta, type SiteSnapshot } from '../../sites/snapshot.js';
import { timingsOf } from './change-detection.js';
import { inScope, overlay, partRequest } from './targeted-pass.js';

const bucket = (name: string, extra: Partial<BucketMeta> = {}): BucketMeta => ({
  name,
  versioning: 'Enabled',
  objectLock: false,
  hasLifecycle: false,
  hasNotification: false,
  targets: [],
  ...extra,
});

describe('targeted pass pieces', () => {
  const pending = {
    iam: false,
    buckets: new Map([
      ['photos', false],
      ['new', true],
    ]),
    sites: new Set(['b']),
  };

  it('reads what the hints name, buckets sorted', () => {
    expect(partRequest(pending)).toEqual({ iam: false, buckets: ['new', 'photos'] });
  });

  it('keeps the keys of named buckets only, and IAM keys when IAM changed', () => {
    expect(inScope(pending, { kind: 'bucket', bucket: 'new' })).toBe(true);
    expect(inScope(pending, { kind: 'bucketConfig', bucket: 'photos', config: 'policy' })).toBe(
      true,
    );
    expect(inScope(pending, { kind: 'bucket', bucket: 'other' })).toBe(false);
    expect(inScope(pending, { kind: 'user', name: 'alice' })).toBe(false);
    expect(inScope({ ...pending, iam: true }, { kind: 'serviceAccount', accessKey: 'x' })).toBe(
      true,
    );
  });

  it('lays a part over a snapshot: new and changed buckets in, removed ones out, the rest kept', () => {
    const iam = emptyIamState();
    iam.users.set('alice', { status: 'enabled', secretKey: 's' });
    const snap: SiteSnapshot = {
      site: 'a',
      deploymentID: 'dep-a',
      buckets: new Map([
        ['photos', bucket('photos')],
        ['old', bucket('old')],
        ['kept', bucket('kept')],
      ]),
      iam,
    };
    const next = overlay(snap, {
      deploymentID: 'dep-a',
      buckets: new Map<string, BucketMeta | null>([
        ['photos', bucket('photos', { policy: { Statement: [] } })],
        ['old', null],
        ['new', bucket('new')],
      ]),
    });
    expect([...next.buckets.keys()].sort()).toEqual(['kept', 'new', 'photos']);
    expect(next.buckets.get('photos')?.policy).toEqual({ Statement: [] });
    expect(next.iam).toBe(iam);
    expect(snap.buckets.has('old')).toBe(true);
  });
});

describe('timingsOf', () => {
  it('splits a change’s time into delivery, queueing and the pass', () => {
    const pending = { iam: true, buckets: new Map(), sites: new Set(['b']) };
    expect(timingsOf({ ...pending, firstAt: 1000, changedAt: 990 }, 1012, 1300)).toEqual({
      deliveredMs: 10,
      queuedMs: 12,
      passMs: 288,
    });
    // A site whose report has no time: no delivery figure; no hint time at all: the pass only.
    expect(timingsOf({ ...pending, firstAt: 1000 }, 1012, 1300)).toEqual({
      queuedMs: 12,
      passMs: 288,
    });
    expect(timingsOf(pending, 1012, 1300)).toEqual({ passMs: 288 });
  });
});
