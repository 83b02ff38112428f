import { describe, expect, it } from '@jest/globals';

import { MerkleStream, leafHash } from '../../replication/merkle.js';
import {
  completeIfDone,
  decodeRun,
  finishBucket,
  newRun,
  noteFinding,
  noteListed,
  runProgress,
  sameRun,
  siteVerifications,
  verificationStatus,
  verifyDue,
} from './verify-run.js';

const t0 = new Date('2026-11-23T10:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const root = (x: string) => {
  const m = new MerkleStream();
  m.add(leafHash(x));
  return m.root();
};

describe('a verification run', () => {
  it('names on each site the buckets whose root is not the one most sites hold', () => {
    const run = newRun({ requested: 'v1', sites: ['a', 'b', 'c'], buckets: ['y', 'x'], now: t0 });
    expect(run.buckets).toEqual(['x', 'y']);
    finishBucket(
      run,
      new Map([
        ['a', root('1')],
        ['b', root('2')],
        ['c', root('1')],
      ]),
    );
    finishBucket(
      run,
      new Map([
        ['a', root('3')],
        ['b', root('3')],
        ['c', root('3')],
      ]),
    );
    noteFinding(run.tally, 'x', 'missing', { site: 'b', key: 'k', versionId: 'v' });
    noteListed(run, { a: 5, b: 4, c: 5 });
    completeIfDone(run, at(30));
    const status = verificationStatus(run, at(30));
    expect(status).toMatchObject({
      phase: 'Completed',
      durationSeconds: 30,
      buckets: 2,
      bucketsDone: 2,
      versionsCompared: 14,
      percent: 100,
      equal: false,
    });
    const sites = siteVerifications(run);
    expect(sites?.get('b')).toMatchObject({
      versions: 4,
      bucketsDiffering: { count: 1, items: ['x'] },
      missing: { count: 1, items: ['x/k@v'] },
    });
    expect(sites?.get('a')?.bucketsDiffering).toBeUndefined();
    expect(sites?.get('a')?.objectsRoot).toBe(sites?.get('c')?.objectsRoot);
    expect(sites?.get('a')?.objectsRoot).not.toBe(sites?.get('b')?.objectsRoot);
  });

  it('a tie goes to the first site of the order (the primary)', () => {
    const run = newRun({ requested: 'v', sites: ['p', 'q'], buckets: ['x'], now: t0 });
    finishBucket(
      run,
      new Map([
        ['p', root('1')],
        ['q', root('2')],
      ]),
    );
    completeIfDone(run, at(1));
    expect(siteVerifications(run)?.get('q')?.bucketsDiffering?.items).toEqual(['x']);
    expect(siteVerifications(run)?.get('p')?.bucketsDiffering).toBeUndefined();
  });

  it('reports percent and ETA by versions when the last count is known, else by buckets', () => {
    const byBuckets = newRun({
      requested: 'v',
      sites: ['a'],
      buckets: ['1', '2', '3', '4'],
      now: t0,
    });
    finishBucket(byBuckets, new Map([['a', root('1')]]));
    expect(runProgress(byBuckets, at(10))).toEqual({ percent: 25, etaSeconds: 30 });
    const byVersions = newRun({
      requested: 'v',
      sites: ['a'],
      buckets: ['1'],
      now: t0,
      estimate: 1000,
    });
    noteListed(byVersions, { a: 900 });
    expect(runProgress(byVersions, at(90))).toEqual({ percent: 90, etaSeconds: 10 });
    noteListed(byVersions, { a: 500 });
    expect(runProgress(byVersions, at(100)).percent).toBe(99);
  });

  it('keeps only a few samples per site, with the count of all', () => {
    const run = newRun({ requested: 'v', sites: ['a', 'b'], buckets: ['x'], now: t0 });
    for (let i = 0; i < 100; i++) {
      noteFinding(run.tally, 'x', 'missing', { site: 'b', key: `k${String(i)}`, versionId: 'v' });
    }
    expect(run.tally['b']?.missing.count).toBe(100);
    expect(run.tally['b']?.missing.items).toHaveLength(5);
  });

  it('survives the trip through its ConfigMap, and refuses what it did not write', () => {
    const run = newRun({ requested: 'v', sites: ['a', 'b'], buckets: ['x'], now: t0 });
    expect(decodeRun(JSON.stringify(run))).toEqual(run);
    expect(decodeRun('{"v":2}')).toBeUndefined();
    expect(decodeRun('not json')).toBeUndefined();
    expect(decodeRun(undefined)).toBeUndefined();
  });
});

describe('verifyDue', () => {
  const base = {
    annotation: undefined,
    lastVerify: undefined,
    intervalMs: undefined,
    last: undefined,
    now: t0,
  };
  const completed = {
    requested: 'schedule',
    phase: 'Completed' as const,
    startedAt: '2026-11-23T09:00:00Z',
    completedAt: '2026-11-23T09:10:00Z',
    buckets: 1,
    bucketsDone: 1,
    versionsCompared: 10,
  };

  it('runs for a new annotation value, once', () => {
    expect(verifyDue({ ...base, annotation: 'x' })).toEqual({ kind: 'annotation', requested: 'x' });
    expect(verifyDue({ ...base, annotation: 'x', lastVerify: 'x' })).toBeUndefined();
  });

  it('continues what status says runs, and runs on schedule once the interval has passed', () => {
    expect(verifyDue({ ...base, last: { ...completed, phase: 'Running' } })).toEqual({
      kind: 'continue',
      requested: 'schedule',
    });
    expect(verifyDue({ ...base, intervalMs: 3_600_000, last: completed })).toBeUndefined();
    expect(verifyDue({ ...base, intervalMs: 600_000, last: completed })).toEqual({
      kind: 'schedule',
      requested: 'schedule',
    });
    expect(verifyDue({ ...base, intervalMs: 600_000 })).toEqual({
      kind: 'schedule',
      requested: 'schedule',
    });
  });

  it('resumes the checkpoint of the same request and sites; a new schedule turn starts afresh', () => {
    const run = newRun({ requested: 'x', sites: ['a', 'b'], buckets: [], now: t0 });
    expect(sameRun(run, { kind: 'annotation', requested: 'x' }, ['b', 'a'])).toBe(true);
    expect(sameRun(run, { kind: 'annotation', requested: 'y' }, ['a', 'b'])).toBe(false);
    expect(sameRun(run, { kind: 'annotation', requested: 'x' }, ['a', 'b', 'c'])).toBe(false);
    const sched = newRun({ requested: 'schedule', sites: ['a'], buckets: [], now: t0 });
    completeIfDone(sched, t0);
    expect(sameRun(sched, { kind: 'schedule', requested: 'schedule' }, ['a'])).toBe(false);
    expect(sameRun(sched, { kind: 'continue', requested: 'schedule' }, ['a'])).toBe(true);
  });
});
