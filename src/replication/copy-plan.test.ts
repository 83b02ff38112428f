import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { type KeyMark, emptyCheckpoint } from './copy-checkpoint.js';
import {
  type CopyMode,
  type KeyListing,
  type ObjectVersion,
  type PlanContext,
  markCopied,
  markHandled,
  markInFlight,
  planKey,
  recoverInFlight,
  recoveryCandidates,
  replicaMarker,
  replicaOrigin,
} from './copy-plan.js';

// ---------------------------------------------------------------------------------------------
// A model of two versioned sites and the copier's passes between them.

interface ModelVersion extends ObjectVersion {
  /** What the version holds: the id of the original write it came from, or `deleted`. */
  content: string;
  marker?: string | undefined;
}

class ModelSite {
  readonly keys = new Map<string, ModelVersion[]>();
  private next = 0;
  constructor(
    readonly name: string,
    private readonly clock: { t: number },
  ) {}

  write(key: string, opts: { deleteMarker?: boolean; content?: string; marker?: string } = {}) {
    const list = this.keys.get(key) ?? [];
    for (const v of list) v.isLatest = false;
    const versionId = `${this.name}-${this.next++}`;
    const v: ModelVersion = {
      key,
      versionId,
      isLatest: true,
      deleteMarker: opts.deleteMarker === true,
      size: 1,
      lastModified: new Date(++this.clock.t * 1000).toISOString(),
      content: opts.deleteMarker === true ? 'deleted' : (opts.content ?? versionId),
      marker: opts.marker,
    };
    this.keys.set(key, [v, ...list]);
    return v;
  }

  latest(key: string) {
    return this.keys.get(key)?.[0]?.content ?? 'absent';
  }
}

interface Direction {
  src: ModelSite;
  dst: ModelSite;
  marks: Record<string, KeyMark>;
}

function pass(d: Direction, reverse: Direction, mode: CopyMode) {
  const ctx: PlanContext = { source: d.src.name, destination: d.dst.name, mode };
  let writes = 0;
  const conflicts = [];
  const keys = new Set([...d.src.keys.keys(), ...d.dst.keys.keys()]);
  for (const key of [...keys].sort()) {
    const listing: KeyListing = {
      key,
      source: [...(d.src.keys.get(key) ?? [])],
      destination: [...(d.dst.keys.get(key) ?? [])],
    };
    const plan = planKey(listing, d.marks[key], reverse.marks[key], ctx);
    if (plan.conflict) conflicts.push(plan.conflict);
    let mark = plan.mark;
    for (const a of plan.actions) {
      const v = a.version as ModelVersion;
      if (
        a.kind === 'SkipReplica' ||
        (a.kind === 'CopyObject' && v.marker?.startsWith(`${d.dst.name}/`))
      ) {
        mark = markHandled(mark, v);
        continue;
      }
      const copy = d.dst.write(key, {
        deleteMarker: v.deleteMarker,
        content: v.content,
        ...(v.deleteMarker ? {} : { marker: replicaMarker(d.src.name, v.versionId) }),
      });
      writes++;
      mark = markCopied(mark, v, copy.versionId, mode);
    }
    d.marks[key] = mark;
  }
  return { writes, conflicts };
}

function pair() {
  const clock = { t: 0 };
  const a = new ModelSite('a', clock);
  const b = new ModelSite('b', clock);
  const ab: Direction = { src: a, dst: b, marks: {} };
  const ba: Direction = { src: b, dst: a, marks: {} };
  return { a, b, ab, ba };
}

// ---------------------------------------------------------------------------------------------

describe('planKey', () => {
  it('copies every new version oldest first, delete markers in place, then nothing', () => {
    const { a, b, ab, ba } = pair();
    a.write('k');
    a.write('k', { deleteMarker: true });
    a.write('k');
    expect(pass(ab, ba, 'one-way').writes).toBe(3);
    expect(b.keys.get('k')?.map((v) => v.content)).toEqual(a.keys.get('k')?.map((v) => v.content));
    expect(pass(ab, ba, 'one-way').writes).toBe(0);
  });

  it('never copies back what the other direction copied, delete markers included', () => {
    const { a, b, ab, ba } = pair();
    a.write('k');
    a.write('k', { deleteMarker: true });
    b.write('j');
    for (let i = 0; i < 4; i++) {
      pass(ab, ba, 'two-way');
      pass(ba, ab, 'two-way');
    }
    expect(a.keys.get('k')).toHaveLength(2);
    expect(b.keys.get('k')).toHaveLength(2);
    expect(a.keys.get('j')).toHaveLength(1);
    expect(pass(ab, ba, 'two-way').writes + pass(ba, ab, 'two-way').writes).toBe(0);
  });

  it('skips a version whose marker names the destination, even without the reverse mark', () => {
    const { a, ab, ba } = pair();
    a.write('k', { marker: 'b/b-7' });
    expect(pass(ab, ba, 'two-way').writes).toBe(0);
  });

  it('two-way: a key written on both sides is a conflict the newest write wins, the loser kept where it was', () => {
    const { a, b, ab, ba } = pair();
    a.write('k', { content: 'old-a' });
    b.write('k', { content: 'new-b' });
    const first = pass(ab, ba, 'two-way');
    expect(first.writes).toBe(0);
    expect(first.conflicts).toEqual([
      expect.objectContaining({
        key: 'k',
        winner: expect.objectContaining({ site: 'b' }),
        loser: expect.objectContaining({ site: 'a' }),
      }),
    ]);
    expect(pass(ba, ab, 'two-way')).toEqual({ writes: 1, conflicts: [] });
    expect(a.latest('k')).toBe('new-b');
    expect(a.keys.get('k')?.map((v) => v.content)).toEqual(['new-b', 'old-a']);
    expect(b.keys.get('k')?.map((v) => v.content)).toEqual(['new-b']);
    expect(pass(ab, ba, 'two-way').writes + pass(ba, ab, 'two-way').writes).toBe(0);
  });

  it('two-way: when the source wins, the reverse direction does not copy the loser over it', () => {
    const { a, b, ab, ba } = pair();
    b.write('k', { content: 'old-b' });
    a.write('k', { content: 'new-a' });
    expect(pass(ab, ba, 'two-way').conflicts).toHaveLength(1);
    expect(pass(ba, ab, 'two-way')).toEqual({ writes: 0, conflicts: [] });
    expect([a.latest('k'), b.latest('k')]).toEqual(['new-a', 'new-a']);
  });

  it('one-way: the destination own writes never stop a copy', () => {
    const { a, b, ab, ba } = pair();
    b.write('k', { content: 'newer-b' });
    a.write('k', { content: 'a' });
    b.write('k', { content: 'newest-b' });
    const r = pass(ab, ba, 'one-way');
    expect(r).toEqual({ writes: 1, conflicts: [] });
    expect(b.latest('k')).toBe('a');
  });

  it('keeps its place when the newest handled versions were deleted from the source', () => {
    const { a, ab, ba } = pair();
    a.write('k');
    a.write('k');
    pass(ab, ba, 'one-way');
    // The user deletes both handled versions for good; an older one stays.
    a.keys.set('k', []);
    a.write('k');
    const listing = { key: 'k', source: a.keys.get('k') ?? [], destination: [] };
    const mark = { ...(ab.marks['k'] ?? { h: [] }), h: ['gone-1', 'gone-2'] };
    expect(
      planKey(listing, mark, undefined, { source: 'a', destination: 'b', mode: 'one-way' }).actions,
    ).toHaveLength(1);
  });

  it('converges from any interleaving of writes, deletes and passes, and then stops writing', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('write' as const),
        site: fc.constantFrom('a', 'b'),
        key: fc.constantFrom('x', 'y', 'z'),
      }),
      fc.record({
        kind: fc.constant('delete' as const),
        site: fc.constantFrom('a', 'b'),
        key: fc.constantFrom('x', 'y', 'z'),
      }),
      fc.record({ kind: fc.constant('pass' as const), dir: fc.constantFrom('ab', 'ba') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { a, b, ab, ba } = pair();
        const sites = { a, b };
        for (const o of ops) {
          if (o.kind === 'pass') {
            if (o.dir === 'ab') pass(ab, ba, 'two-way');
            else pass(ba, ab, 'two-way');
          } else sites[o.site].write(o.key, { deleteMarker: o.kind === 'delete' });
        }
        for (let i = 0; i < 2; i++) {
          pass(ab, ba, 'two-way');
          pass(ba, ab, 'two-way');
        }
        for (const key of ['x', 'y', 'z']) expect(a.latest(key)).toBe(b.latest(key));
        expect(pass(ab, ba, 'two-way').writes + pass(ba, ab, 'two-way').writes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('recovery after a crash', () => {
  const ctx: PlanContext = { source: 'a', destination: 'b', mode: 'one-way' };

  it('records the announced copies found on the destination and copies only the rest', () => {
    const { a, b } = pair();
    const v1 = a.write('k');
    const d2 = a.write('k', { deleteMarker: true });
    const v3 = a.write('k');
    const listing0: KeyListing = {
      key: 'k',
      source: [...(a.keys.get('k') ?? [])],
      destination: [],
    };
    const plan = planKey(listing0, undefined, undefined, ctx);
    const announced = markInFlight(plan.mark, plan.actions);
    expect(announced.f).toEqual([v1.versionId, d2.versionId, v3.versionId]);
    // The crash came after two copies reached b.
    const r1 = b.write('k', { content: v1.content, marker: replicaMarker('a', v1.versionId) });
    const r2 = b.write('k', { deleteMarker: true });
    const listing: KeyListing = { ...listing0, destination: [...(b.keys.get('k') ?? [])] };
    const candidates = recoveryCandidates(listing, announced, undefined);
    expect(candidates.map((c) => c.versionId)).toEqual([r2.versionId, r1.versionId]);
    const markers = new Map([[r1.versionId, replicaMarker('a', v1.versionId)]]);
    const mark = recoverInFlight(listing, announced, { candidates, markers }, ctx);
    expect(mark.f).toBeUndefined();
    expect(mark.h[0]).toBe(d2.versionId);
    const again = planKey(listing, mark, undefined, ctx);
    expect(again.actions.map((x) => x.version.versionId)).toEqual([v3.versionId]);
  });

  it('finds nothing when no copy had started: every announced version is new again', () => {
    const { a } = pair();
    const v1 = a.write('k');
    const listing: KeyListing = { key: 'k', source: [v1], destination: [] };
    const announced = markInFlight({ h: [] }, [{ kind: 'CopyObject', version: v1 }]);
    const mark = recoverInFlight(listing, announced, { candidates: [], markers: new Map() }, ctx);
    expect(planKey(listing, mark, undefined, ctx).actions).toHaveLength(1);
  });
});

describe('replica markers', () => {
  it('name the site a copy came from', () => {
    expect(replicaOrigin({ 'sitesync-replica-of': replicaMarker('aws', 'v/1') })).toBe('aws');
    expect(replicaOrigin({})).toBeUndefined();
    expect(replicaOrigin({ 'sitesync-replica-of': 'no-slash' })).toBeUndefined();
  });
});

describe('checkpoint', () => {
  it('starts empty', () => {
    expect(emptyCheckpoint({ bucket: 'b', source: 'a', destination: 'c', range: {} }).keys).toEqual(
      {},
    );
  });
});
