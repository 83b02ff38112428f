import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { ABSENT, type AgreedState, agreedBase, emptyAgreedState } from './agreed-state.js';
import {
  type ActionOutcome,
  type Entity,
  type MergeAction,
  type MergeInput,
  type MergePlan,
  type MergeSite,
  nextAgreed,
  planMerge,
} from './merge.js';

// ---------------------------------------------------------------------------------------------
// Helpers

type Held = Record<string, string | Entity>;

function site(
  name: string,
  held: Held,
  opts: { reachable?: boolean; joined?: boolean } = {},
): MergeSite {
  const entities = new Map(
    Object.entries(held).map(([k, v]): [string, Entity] => [
      k,
      typeof v === 'string' ? { digest: v } : v,
    ]),
  );
  return { name, reachable: opts.reachable ?? true, joined: opts.joined ?? true, entities };
}

function agreed(partial: Partial<AgreedState> = {}): AgreedState {
  return { ...emptyAgreedState(), ...partial };
}

const allOk = (plan: MergePlan): ActionOutcome[] => plan.actions.map((a) => ({ ...a, ok: true }));

/** The sites after the actions that `ok` accepts ran; each action reads the state before. */
function apply(
  sites: readonly MergeSite[],
  actions: readonly MergeAction[],
  ok: (a: MergeAction) => boolean = () => true,
): MergeSite[] {
  return sites.map((s) => {
    const entities = new Map(s.entities);
    for (const a of actions) {
      if (a.site !== s.name || !ok(a)) continue;
      if (a.kind === 'Delete') entities.delete(a.key);
      else entities.set(a.key, { digest: a.digest });
    }
    return { ...s, entities };
  });
}

/** One reconcile: plan, execute (actions `ok` accepts succeed), record the agreed state. */
function round(input: MergeInput, ok: (a: MergeAction) => boolean = () => true) {
  const plan = planMerge(input);
  const outcomes = plan.actions.map((a) => ({ ...a, ok: ok(a) }));
  const succeeded = new Set(outcomes.filter((o) => o.ok));
  const sites = apply(input.sites, outcomes, (a) => succeeded.has(a as (typeof outcomes)[number]));
  const next = nextAgreed(plan, outcomes);
  const rejoined = sites.map((s) => ({ ...s, joined: next.joined.includes(s.name) }));
  return { plan, sites: rejoined, agreed: next };
}

const valueOf = (s: MergeSite, key: string) => s.entities.get(key)?.digest ?? null;

// ---------------------------------------------------------------------------------------------
// Examples

describe('planMerge: changes propagate', () => {
  it('propagates a creation', () => {
    const plan = planMerge({
      sites: [site('a', {}), site('b', { 'bucket:new': 'd1' }), site('c', {})],
      agreed: agreed({ joined: ['a', 'b', 'c'] }),
    });
    expect(plan.bootstrap).toBe(false);
    expect(plan.decisions).toEqual([
      { key: 'bucket:new', target: 'd1', cause: 'changed', voters: ['b'] },
    ]);
    expect(plan.actions).toEqual([
      { kind: 'Put', key: 'bucket:new', site: 'a', from: 'b', digest: 'd1' },
      { kind: 'Put', key: 'bucket:new', site: 'c', from: 'b', digest: 'd1' },
    ]);
    expect(plan.conflicts).toEqual([]);
    expect(plan.blocked).toEqual([]);
  });

  it('propagates a deletion', () => {
    const plan = planMerge({
      sites: [site('a', { 'user:alice': 'd1' }), site('b', {}), site('c', { 'user:alice': 'd1' })],
      agreed: agreed({ entities: { 'user:alice': 'd1' }, joined: ['a', 'b', 'c'] }),
    });
    expect(plan.decisions).toEqual([
      { key: 'user:alice', target: null, cause: 'changed', voters: ['b'] },
    ]);
    expect(plan.actions).toEqual([
      { kind: 'Delete', key: 'user:alice', site: 'a' },
      { kind: 'Delete', key: 'user:alice', site: 'c' },
    ]);
    const next = nextAgreed(plan, allOk(plan));
    expect(next.entities).toEqual({});
    expect(next.sequence).toBe(2);
  });

  it('propagates a modification, copying from the first reachable holder', () => {
    const plan = planMerge({
      sites: [
        site('a', { 'policy:p': 'd1' }),
        site('b', { 'policy:p': 'd2' }),
        site('c', { 'policy:p': 'd2' }),
      ],
      agreed: agreed({ entities: { 'policy:p': 'd1' }, joined: ['a', 'b', 'c'] }),
    });
    expect(plan.actions).toEqual([
      { kind: 'Put', key: 'policy:p', site: 'a', from: 'b', digest: 'd2' },
    ]);
  });

  it('does nothing when every site holds the agreed state', () => {
    const plan = planMerge({
      sites: [site('a', { 'bucket:x': 'd1' }), site('b', { 'bucket:x': 'd1' })],
      agreed: agreed({ entities: { 'bucket:x': 'd1' }, joined: ['a', 'b'] }),
    });
    expect(plan.actions).toEqual([]);
    expect(plan.decisions).toEqual([
      { key: 'bucket:x', target: 'd1', cause: 'unchanged', voters: [] },
    ]);
  });
});

describe('planMerge: sites that cover only some keys', () => {
  const bucketsOnly = (key: string) => key.startsWith('bucket:');
  const aws = (held: Held, joined = true): MergeSite => ({
    ...site('aws', held, { joined }),
    covers: bucketsOnly,
  });

  it('gives a site nothing it cannot hold, and takes no vote from it on such keys', () => {
    const plan = planMerge({
      sites: [site('a', { 'bucket:x': 'd1', 'user:u': 'd2' }), aws({ 'bucket:x': 'd1' })],
      agreed: agreed({ entities: { 'bucket:x': 'd1', 'user:u': 'd2' }, joined: ['a', 'aws'] }),
    });
    expect(plan.actions).toEqual([]);
    const next = nextAgreed(plan, allOk(plan));
    // The user stays agreed, and the site that cannot hold it keeps no deviation for it.
    expect(next.entities).toEqual({ 'bucket:x': 'd1', 'user:u': 'd2' });
    expect(next.deviations).toEqual({});
  });

  it('ignores what such a site holds of a kind it does not cover', () => {
    const plan = planMerge({
      sites: [site('a', {}), aws({ 'user:own': 'd9' })],
      agreed: agreed({ joined: ['a', 'aws'] }),
    });
    expect(plan.decisions).toEqual([]);
    expect(plan.actions).toEqual([]);
  });

  it('mirrors what it covers both ways', () => {
    const up = planMerge({
      sites: [site('a', { 'user:u': 'd2' }), aws({ 'bucket:new': 'd1' })],
      agreed: agreed({ entities: { 'user:u': 'd2' }, joined: ['a', 'aws'] }),
    });
    expect(up.actions).toEqual([
      { kind: 'Put', key: 'bucket:new', site: 'a', from: 'aws', digest: 'd1' },
    ]);
    const joining = planMerge({
      sites: [site('a', { 'bucket:x': 'd1', 'user:u': 'd2' }), aws({}, false)],
      agreed: agreed({ entities: { 'bucket:x': 'd1', 'user:u': 'd2' }, joined: ['a'] }),
    });
    expect(joining.actions).toEqual([
      { kind: 'Put', key: 'bucket:x', site: 'aws', from: 'a', digest: 'd1' },
    ]);
  });
});

describe('planMerge: keys a site only receives', () => {
  const iamKeys = (key: string) => /^(user|group|mapping):/.test(key);
  // An AWS-style site: holds users without their secret (the shape), never their source.
  const s3 = (held: Held, joined = true): MergeSite => ({
    ...site('s3', held, { joined }),
    receives: iamKeys,
  });
  const user = (digest: string, shape: string | null) => ({ digest, shape });

  it('gives such a site the shape of the source, and takes no vote from it', () => {
    const plan = planMerge({
      sites: [site('a', { 'user:u': user('d2', 's2') }), s3({ 'user:u': user('e7', 's9') })],
      agreed: agreed({ entities: { 'user:u': 'd2' }, joined: ['a', 's3'] }),
    });
    expect(plan.decisions).toEqual([
      { key: 'user:u', target: 'd2', cause: 'unchanged', voters: [] },
    ]);
    expect(plan.actions).toEqual([
      { kind: 'Put', key: 'user:u', site: 's3', from: 'a', digest: 's2', shape: true },
    ]);
    // It keeps no deviation, whatever it holds.
    expect(nextAgreed(plan, []).deviations).toEqual({});
  });

  it('is in sync when it holds the shape', () => {
    const plan = planMerge({
      sites: [site('a', { 'user:u': user('d2', 's2') }), s3({ 'user:u': user('s2', 's2') })],
      agreed: agreed({ entities: { 'user:u': 'd2' }, joined: ['a', 's3'] }),
    });
    expect(plan.actions).toEqual([]);
  });

  it('compares the digest where the entity has no shape', () => {
    const plan = planMerge({
      sites: [site('a', { 'group:g': 'd3' }), s3({ 'group:g': 'd4' })],
      agreed: agreed({ entities: { 'group:g': 'd3' }, joined: ['a', 's3'] }),
    });
    expect(plan.actions).toEqual([
      { kind: 'Put', key: 'group:g', site: 's3', from: 'a', digest: 'd3', shape: true },
    ]);
  });

  it('never copies or deletes what was made there alone', () => {
    const plan = planMerge({
      sites: [site('a', {}), s3({ 'user:own': user('s1', 's1'), 'group:own': 'd1' })],
      agreed: agreed({ joined: ['a', 's3'] }),
    });
    expect(plan.decisions).toEqual([]);
    expect(plan.actions).toEqual([]);
    const initial = planMerge({
      sites: [site('a', {}, { joined: false }), s3({ 'user:own': 's1' }, false)],
      agreed: agreed(),
    });
    expect(initial.actions).toEqual([]);
  });

  it('deletes there what the group deleted', () => {
    const plan = planMerge({
      sites: [site('a', {}), s3({ 'user:u': user('s2', 's2') })],
      agreed: agreed({ entities: { 'user:u': 'd2' }, joined: ['a', 's3'] }),
    });
    expect(plan.decisions).toEqual([
      { key: 'user:u', target: null, cause: 'changed', voters: ['a'] },
    ]);
    expect(plan.actions).toEqual([{ kind: 'Delete', key: 'user:u', site: 's3' }]);
  });

  it('deletes there what the source says it must not hold (a null shape)', () => {
    const plan = planMerge({
      sites: [site('a', { 'user:u': user('d5', null) }), s3({ 'user:u': user('s2', 's2') })],
      agreed: agreed({ entities: { 'user:u': 'd5' }, joined: ['a', 's3'] }),
    });
    expect(plan.actions).toEqual([{ kind: 'Delete', key: 'user:u', site: 's3' }]);
    const absent = planMerge({
      sites: [site('a', { 'user:u': user('d5', null) }), s3({})],
      agreed: agreed({ entities: { 'user:u': 'd5' }, joined: ['a', 's3'] }),
    });
    expect(absent.actions).toEqual([]);
  });

  it('does not let its deletion of a received key count as a vote', () => {
    const plan = planMerge({
      sites: [site('a', { 'user:u': user('d2', 's2') }), s3({})],
      agreed: agreed({ entities: { 'user:u': 'd2' }, joined: ['a', 's3'] }),
    });
    expect(plan.decisions[0]?.target).toBe('d2');
    expect(plan.actions).toEqual([
      { kind: 'Put', key: 'user:u', site: 's3', from: 'a', digest: 's2', shape: true },
    ]);
  });

  it('holds back while no full site holds the target', () => {
    const plan = planMerge({
      sites: [
        site('a', { 'user:u': user('d2', 's2') }, { reachable: false }),
        s3({ 'user:u': user('s2', 's2') }),
      ],
      agreed: agreed({ entities: { 'user:u': 'd2' }, joined: ['a', 's3'] }),
    });
    expect(plan.actions).toEqual([]);
  });

  it('keeps a held deletion from the site as from every joined site', () => {
    const plan = planMerge({
      sites: [site('a', {}), site('b', { 'user:u': user('d2', 's2') }), s3({ 'user:u': 's2' })],
      agreed: agreed({ entities: { 'user:u': 'd2' }, joined: ['a', 'b', 's3'] }),
      guard: { maxCount: 0, maxPercent: 0 },
    });
    expect(plan.held?.keys).toEqual(['user:u']);
    expect(plan.actions).toEqual([]);
  });
});

describe('planMerge: failed applies', () => {
  it('re-applies the agreed value where an apply failed, instead of reading a deletion', () => {
    // a created bucket:x; the put to b fails.
    const first = round(
      {
        sites: [site('a', { 'bucket:x': 'd1' }), site('b', {})],
        agreed: agreed({ joined: ['a', 'b'] }),
      },
      () => false,
    );
    expect(first.plan.actions).toEqual([
      { kind: 'Put', key: 'bucket:x', site: 'b', from: 'a', digest: 'd1' },
    ]);
    expect(first.agreed).toEqual({
      entities: { 'bucket:x': 'd1' },
      deviations: { b: { 'bucket:x': ABSENT } },
      joined: ['a', 'b'],
      sequence: 0,
    });
    const second = round({ sites: first.sites, agreed: first.agreed });
    expect(second.plan.decisions).toEqual([
      { key: 'bucket:x', target: 'd1', cause: 'unchanged', voters: [] },
    ]);
    expect(second.plan.actions).toEqual([
      { kind: 'Put', key: 'bucket:x', site: 'b', from: 'a', digest: 'd1' },
    ]);
    expect(second.agreed).toEqual({
      entities: { 'bucket:x': 'd1' },
      deviations: {},
      joined: ['a', 'b'],
      sequence: 1,
    });
  });

  it('re-applies a failed deletion', () => {
    const plan = planMerge({
      sites: [site('a', {}), site('b', { 'user:u': 'd1' })],
      agreed: agreed({ joined: ['a', 'b'], deviations: { b: { 'user:u': 'd1' } } }),
    });
    expect(plan.actions).toEqual([{ kind: 'Delete', key: 'user:u', site: 'b' }]);
  });

  it('counts an action without an outcome as failed', () => {
    const plan = planMerge({
      sites: [site('a', { k1: 'd1', k2: 'd2' }), site('b', {}, { joined: false })],
      agreed: agreed({ entities: { k1: 'd1', k2: 'd2' }, joined: ['a'], sequence: 7 }),
    });
    const next = nextAgreed(plan, [{ site: 'b', key: 'k1', ok: true }]);
    expect(next.sequence).toBe(8);
    expect(next.joined).toEqual(['a']); // b had a failure: it has not joined yet
    expect(next.deviations).toEqual({});
  });

  it('ignores outcomes of actions that were not planned', () => {
    const plan = planMerge({ sites: [site('a', {})], agreed: agreed({ joined: ['a'] }) });
    expect(nextAgreed(plan, [{ site: 'a', key: 'k', ok: true }]).sequence).toBe(0);
  });
});

describe('planMerge: sites that have not joined', () => {
  const full = { 'bucket:a': 'd1', 'bucket:a/policy': 'd2', 'user:u': 'd3' };

  it('a new empty site receives everything and deletes nothing', () => {
    const input: MergeInput = {
      sites: [site('a', full), site('b', full), site('new', {}, { joined: false })],
      agreed: agreed({ entities: full, joined: ['a', 'b'] }),
    };
    const { plan, agreed: next } = round(input);
    expect(plan.actions.every((a) => a.kind === 'Put' && a.site === 'new')).toBe(true);
    expect(plan.actions).toHaveLength(3);
    expect(next.entities).toEqual(full);
    expect(next.joined).toEqual(['a', 'b', 'new']);
  });

  it('an initial join copies the seed site everywhere and deletes nothing', () => {
    const {
      plan,
      sites,
      agreed: next,
    } = round({
      sites: [site('seed', full, { joined: false }), site('b', {}, { joined: false })],
      agreed: emptyAgreedState(),
    });
    expect(plan.bootstrap).toBe(true);
    expect(plan.actions).toHaveLength(3);
    expect(plan.actions.some((a) => a.kind === 'Delete')).toBe(false);
    expect(next).toEqual({ entities: full, deviations: {}, joined: ['seed', 'b'], sequence: 3 });
    expect(planMerge({ sites, agreed: next }).actions).toEqual([]);
  });

  it('an initial join unites what the sites hold', () => {
    const plan = planMerge({
      sites: [
        site('a', { k1: 'd1' }, { joined: false }),
        site('b', { k2: 'd2' }, { joined: false }),
      ],
      agreed: emptyAgreedState(),
    });
    expect(plan.actions).toEqual([
      { kind: 'Put', key: 'k1', site: 'b', from: 'a', digest: 'd1' },
      { kind: 'Put', key: 'k2', site: 'a', from: 'b', digest: 'd2' },
    ]);
  });

  it('an initial join that no site completed keeps its decisions', () => {
    const sites = [
      site('a', { k: { digest: 'd1', updatedAt: 1 }, x: 'd5' }, { joined: false }),
      site('b', { k: { digest: 'd2', updatedAt: 2 } }, { joined: false }),
      site('c', {}, { joined: false }),
    ];
    // d2 is newer and wins, but every site has a failure: nobody joins.
    const first = round(
      { sites, agreed: emptyAgreedState() },
      (a) => a.site === 'c' && a.key === 'k',
    );
    expect(first.plan.conflicts[0]).toMatchObject({ winner: 'b', reason: 'newest' });
    expect(first.agreed.joined).toEqual([]);
    // c now holds an untimed copy of d2: that does not turn the decision over to priority.
    const second = planMerge({ sites: first.sites, agreed: first.agreed });
    expect(second.bootstrap).toBe(true);
    expect(second.conflicts).toEqual([]);
    expect(second.decisions).toEqual([
      { key: 'k', target: 'd2', cause: 'unchanged', voters: [] },
      { key: 'x', target: 'd5', cause: 'unchanged', voters: [] },
    ]);
  });

  it('a non-joined site only receives: its different value is overwritten', () => {
    const plan = planMerge({
      sites: [site('a', { k: 'd1' }), site('b', { k: 'd9' }, { joined: false })],
      agreed: agreed({ entities: { k: 'd1' }, joined: ['a'] }),
    });
    expect(plan.actions).toEqual([{ kind: 'Put', key: 'k', site: 'b', from: 'a', digest: 'd1' }]);
  });
});

describe('planMerge: unreachable sites', () => {
  it('neither vote nor receive', () => {
    const plan = planMerge({
      sites: [site('a', { k: 'd2' }), site('b', { other: 'x' }, { reachable: false })],
      agreed: agreed({ entities: { k: 'd1' }, joined: ['a', 'b'] }),
    });
    expect(plan.decisions).toEqual([{ key: 'k', target: 'd2', cause: 'changed', voters: ['a'] }]);
    expect(plan.actions).toEqual([]);
  });

  it('do not propagate their stale values when they return', () => {
    const start: MergeInput = {
      sites: [
        site('a', { k: 'd1', gone: 'd1' }),
        site('b', { k: 'd1', gone: 'd1' }, { reachable: false }),
        site('c', { k: 'd1', gone: 'd1' }),
      ],
      agreed: agreed({ entities: { k: 'd1', gone: 'd1' }, joined: ['a', 'b', 'c'] }),
    };
    // While b is away, a changes k and deletes gone.
    const away = round({
      ...start,
      sites: [site('a', { k: 'd2' }), ...start.sites.slice(1)],
    });
    expect(away.plan.actions).toEqual([
      { kind: 'Delete', key: 'gone', site: 'c' },
      { kind: 'Put', key: 'k', site: 'c', from: 'a', digest: 'd2' },
    ]);
    expect(away.agreed.deviations).toEqual({ b: { gone: 'd1', k: 'd1' } });
    // b returns with its old values: they are its base, not changes.
    const back = planMerge({
      sites: away.sites.map((s) => ({ ...s, reachable: true })),
      agreed: away.agreed,
    });
    expect(back.conflicts).toEqual([]);
    expect(back.actions).toEqual([
      { kind: 'Delete', key: 'gone', site: 'b' },
      { kind: 'Put', key: 'k', site: 'b', from: 'a', digest: 'd2' },
    ]);
  });

  it('a change made on a returning site propagates', () => {
    const plan = planMerge({
      sites: [site('a', { k: 'd2' }), site('b', { k: 'd3' })],
      agreed: agreed({ entities: { k: 'd2' }, deviations: { b: { k: 'd1' } }, joined: ['a', 'b'] }),
    });
    expect(plan.decisions).toEqual([{ key: 'k', target: 'd3', cause: 'changed', voters: ['b'] }]);
  });

  it('keep their base in the agreed state; a base equal to the target is dropped', () => {
    const plan = planMerge({
      sites: [site('a', { k: 'd3' }), site('b', {}, { reachable: false })],
      agreed: agreed({
        entities: { k: 'd2' },
        deviations: { b: { k: 'd3', x: 'd1', y: ABSENT } },
        joined: ['a', 'b'],
      }),
    });
    expect(nextAgreed(plan, allOk(plan)).deviations).toEqual({ b: { x: 'd1' } });
  });
});

describe('planMerge: conflicts', () => {
  const base = agreed({ entities: { k: 'd1' }, joined: ['a', 'b', 'c'] });

  it('the first changed site in priority order wins without timestamps', () => {
    const plan = planMerge({
      sites: [site('a', { k: 'd1' }), site('b', { k: 'd2' }), site('c', { k: 'd3' })],
      agreed: base,
    });
    expect(plan.conflicts).toEqual([
      {
        key: 'k',
        candidates: [
          { site: 'b', digest: 'd2' },
          { site: 'c', digest: 'd3' },
        ],
        winner: 'b',
        reason: 'priority',
      },
    ]);
    expect(plan.actions).toEqual([
      { kind: 'Put', key: 'k', site: 'a', from: 'b', digest: 'd2' },
      { kind: 'Put', key: 'k', site: 'c', from: 'b', digest: 'd2' },
    ]);
  });

  it('the newest change wins when every contender has a timestamp', () => {
    const plan = planMerge({
      sites: [
        site('a', { k: { digest: 'd2', updatedAt: 100 } }),
        site('b', { k: { digest: 'd3', updatedAt: 300 } }),
        site('c', { k: { digest: 'd4', updatedAt: 200 } }),
      ],
      agreed: base,
    });
    expect(plan.conflicts[0]).toMatchObject({ winner: 'b', reason: 'newest' });
    expect(plan.decisions).toEqual([{ key: 'k', target: 'd3', cause: 'conflict', voters: ['b'] }]);
  });

  it('a tie on timestamps goes to priority order', () => {
    const plan = planMerge({
      sites: [
        site('a', { k: { digest: 'd2', updatedAt: 5 } }),
        site('b', { k: { digest: 'd3', updatedAt: 5 } }),
      ],
      agreed: base,
    });
    expect(plan.conflicts[0]).toMatchObject({ winner: 'a', reason: 'newest' });
  });

  it('falls back to priority when a contender has no timestamp (a deletion has none)', () => {
    const plan = planMerge({
      sites: [
        site('a', { k: { digest: 'd1' } }),
        site('b', {}),
        site('c', { k: { digest: 'd3', updatedAt: 9 } }),
      ],
      agreed: base,
    });
    expect(plan.conflicts).toEqual([
      {
        key: 'k',
        candidates: [
          { site: 'b', digest: null },
          { site: 'c', digest: 'd3' },
        ],
        winner: 'b',
        reason: 'priority',
      },
    ]);
    expect(plan.actions).toEqual([
      { kind: 'Delete', key: 'k', site: 'a' },
      { kind: 'Delete', key: 'k', site: 'c' },
    ]);
  });

  it('on an initial join, different digests of one key conflict', () => {
    const sites = [
      site('a', { k: { digest: 'd1', updatedAt: 1 } }, { joined: false }),
      site('b', {}, { joined: false }),
      site('c', { k: { digest: 'd2', updatedAt: 2 } }, { joined: false }),
    ];
    const newest = planMerge({ sites, agreed: emptyAgreedState() });
    expect(newest.conflicts).toEqual([
      {
        key: 'k',
        candidates: [
          { site: 'a', digest: 'd1' },
          { site: 'c', digest: 'd2' },
        ],
        winner: 'c',
        reason: 'newest',
      },
    ]);
    const untimed = sites.map((s) =>
      site(s.name, { k: s.entities.get('k')?.digest ?? 'd0' }, { joined: false }),
    );
    expect(planMerge({ sites: untimed, agreed: emptyAgreedState() }).conflicts[0]).toMatchObject({
      winner: 'a',
      reason: 'priority',
    });
  });
});

describe('planMerge: blocked keys', () => {
  it('reports a target that only an unreachable site holds, and acts on it later', () => {
    const input: MergeInput = {
      sites: [
        site('a', {}),
        site('b', { k: 'd1' }, { reachable: false }),
        site('new', {}, { joined: false }),
      ],
      agreed: agreed({
        entities: { k: 'd1' },
        deviations: { a: { k: ABSENT } },
        joined: ['a', 'b'],
      }),
    };
    const { plan, sites, agreed: next } = round(input);
    expect(plan.blocked).toEqual([{ key: 'k', digest: 'd1' }]);
    expect(plan.actions).toEqual([]);
    expect(next).toEqual({
      entities: { k: 'd1' },
      deviations: { a: { k: ABSENT }, new: { k: ABSENT } },
      joined: ['a', 'b', 'new'],
      sequence: 0,
    });
    const back = planMerge({ sites: sites.map((s) => ({ ...s, reachable: true })), agreed: next });
    expect(back.actions).toEqual([
      { kind: 'Put', key: 'k', site: 'a', from: 'b', digest: 'd1' },
      { kind: 'Put', key: 'k', site: 'new', from: 'b', digest: 'd1' },
    ]);
  });
});

describe('planMerge: scope and order', () => {
  it('leaves ignored keys alone and carries their agreed entries over', () => {
    const input: MergeInput = {
      sites: [site('a', { 'bucket:tmp': 'd2', k: 'd1' }), site('b', { k: 'd1' })],
      agreed: agreed({
        entities: { 'bucket:tmp': 'd1', k: 'd1' },
        deviations: { b: { 'bucket:tmp': 'd0' } },
        joined: ['a', 'b'],
      }),
      ignore: (key) => key.startsWith('bucket:tmp'),
    };
    const plan = planMerge(input);
    expect(plan.decisions.map((d) => d.key)).toEqual(['k']);
    expect(plan.actions).toEqual([]);
    expect(nextAgreed(plan, [])).toEqual(input.agreed);
  });

  it('sorts actions by key, then by site priority', () => {
    const plan = planMerge({
      sites: [site('z', {}), site('a', { 'user:b': 'd', 'bucket:c': 'd', 'policy:a': 'd' })],
      agreed: agreed({ joined: ['z', 'a'] }),
    });
    expect(plan.actions.map((a) => a.key)).toEqual(['bucket:c', 'policy:a', 'user:b']);
    const three = planMerge({
      sites: [site('z', {}), site('m', {}), site('a', { k: 'd' })],
      agreed: agreed({ joined: ['z', 'm', 'a'] }),
    });
    expect(three.actions.map((a) => a.site)).toEqual(['z', 'm']);
  });

  it('drops the deviations of sites no longer in the group', () => {
    const plan = planMerge({
      sites: [site('a', { k: 'd1' })],
      agreed: agreed({
        entities: { k: 'd1' },
        deviations: { gone: { k: ABSENT } },
        joined: ['a', 'gone'],
      }),
    });
    expect(nextAgreed(plan, [])).toEqual({
      entities: { k: 'd1' },
      deviations: {},
      joined: ['a'],
      sequence: 0,
    });
  });

  it('rejects a site listed twice', () => {
    expect(() => planMerge({ sites: [site('a', {}), site('a', {})], agreed: agreed() })).toThrow(
      /site "a" is listed twice/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const KEYS = ['bucket:a', 'bucket:a/policy', 'bucket:b', 'policy:p', 'user:u', 'group:g'];
const DIGESTS = ['d1', 'd2', 'd3'];
const arbKey = fc.constantFrom(...KEYS);

const arbEntity: fc.Arbitrary<Entity> = fc.record({
  digest: fc.constantFrom(...DIGESTS),
  updatedAt: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
});

const arbSite = fc.record({
  reachable: fc.boolean(),
  joined: fc.boolean(),
  entities: fc.dictionary(arbKey, arbEntity, { noNullPrototype: true }),
  deviations: fc.dictionary(arbKey, fc.constantFrom(...DIGESTS, ABSENT), {
    noNullPrototype: true,
    maxKeys: 3,
  }),
});

/** Random sites in any relation to a random agreed state (joined flags agree with it). */
const arbInput: fc.Arbitrary<MergeInput> = fc
  .record({
    sites: fc.array(arbSite, { minLength: 1, maxLength: 5 }),
    entities: fc.dictionary(arbKey, fc.constantFrom(...DIGESTS), { noNullPrototype: true }),
    sequence: fc.nat(100),
  })
  .map(({ sites, entities, sequence }) => {
    const named = sites.map((s, i) => ({ ...s, name: `s${i}` }));
    const joined = named.filter((s) => s.joined);
    return {
      sites: named.map(({ name, reachable, joined: j, entities: held }): MergeSite => ({
        name,
        reachable,
        joined: j,
        entities: new Map(Object.entries(held)),
      })),
      agreed: {
        entities,
        deviations: Object.fromEntries(joined.map((s) => [s.name, s.deviations])),
        joined: joined.map((s) => s.name),
        sequence,
      },
    };
  });

const arbFailures = fc.array(fc.boolean(), { minLength: 32, maxLength: 32 });

function checkSettled(plan: MergePlan, sites: readonly MergeSite[], blocked: ReadonlySet<string>) {
  expect(plan.actions).toEqual([]);
  expect(plan.conflicts).toEqual([]);
  const reachable = sites.filter((s) => s.reachable);
  for (const { key, target } of plan.decisions) {
    if (blocked.has(key)) continue;
    for (const s of reachable) expect(valueOf(s, key)).toBe(target);
  }
}

function baseEntities(state: AgreedState, name: string): Map<string, Entity> {
  return new Map(
    KEYS.flatMap((key): [string, Entity][] => {
      const digest = agreedBase(state, name, key);
      return digest === null ? [] : [[key, { digest }]];
    }),
  );
}

function expectSameTargets(later: MergePlan, earlier: MergePlan) {
  const targets = (p: MergePlan) => new Map(p.decisions.map((d) => [d.key, d.target]));
  const [a, b] = [targets(later), targets(earlier)];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    expect([key, a.get(key) ?? null]).toEqual([key, b.get(key) ?? null]);
  }
}

describe('planMerge properties', () => {
  it('converges: after every action succeeds, the next plan is empty and sites are equal', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const first = round(input);
        expect(first.agreed.sequence).toBe(input.agreed.sequence + first.plan.actions.length);
        const second = planMerge({ sites: first.sites, agreed: first.agreed });
        checkSettled(second, first.sites, new Set(first.plan.blocked.map((b) => b.key)));
        const present = (p: MergePlan) =>
          p.decisions.filter((d) => d.target !== null).map((d) => [d.key, d.target]);
        expect(present(second)).toEqual(present(first.plan));
      }),
      { numRuns: 500 },
    );
  });

  it('converges after failures once the actions succeed', () => {
    fc.assert(
      fc.property(arbInput, arbFailures, (input, failures) => {
        let n = 0;
        const flaky = () => failures[n++ % failures.length] ?? true;
        const first = round(input, flaky);
        expect(first.agreed.sequence).toBeGreaterThanOrEqual(input.agreed.sequence);
        const second = round({ sites: first.sites, agreed: first.agreed });
        // A failed apply is not a change: the decisions stand.
        expect(second.plan.conflicts).toEqual([]);
        expectSameTargets(second.plan, first.plan);
        const third = planMerge({ sites: second.sites, agreed: second.agreed });
        checkSettled(third, second.sites, new Set(second.plan.blocked.map((b) => b.key)));
      }),
      { numRuns: 500 },
    );
  });

  it('does not take the values of returning sites for changes', () => {
    fc.assert(
      fc.property(arbInput, (generated) => {
        // Unreachable joined sites hold exactly their base: they changed nothing while away.
        const sites = generated.sites.map((s) =>
          s.reachable || !s.joined ? s : { ...s, entities: baseEntities(generated.agreed, s.name) },
        );
        const first = round({ ...generated, sites });
        const back = first.sites.map((s) => ({ ...s, reachable: true }));
        const second = planMerge({ sites: back, agreed: first.agreed });
        fc.pre(!second.bootstrap); // nobody was there to join: sites returning now seed the group
        expect(second.conflicts).toEqual([]);
        expectSameTargets(second, first.plan);
        // Only the returning sites are behind, and keys no reachable site could copy before.
        const returning = new Set(sites.filter((s) => !s.reachable).map((s) => s.name));
        const blocked = new Set(first.plan.blocked.map((b) => b.key));
        for (const a of second.actions) {
          expect(returning.has(a.site) || blocked.has(a.key)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent and deterministic: same input, same plan, whatever the map order', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const before = structuredClone(input);
        const plan = planMerge(input);
        expect(planMerge(input)).toEqual(plan);
        expect(input).toEqual(before); // the input is not mutated
        const reversed = input.sites.map((s) => ({
          ...s,
          entities: new Map([...s.entities].reverse()),
        }));
        const again = planMerge({ ...input, sites: reversed });
        expect({ ...again, basis: null }).toEqual({ ...plan, basis: null });
        const next = nextAgreed(plan, allOk(plan));
        expect(nextAgreed(plan, allOk(plan))).toEqual(next);
      }),
    );
  });

  it('acts only on reachable sites, copies from a holder, and keeps the order', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const plan = planMerge(input);
        const order = new Map(input.sites.map((s, i) => [s.name, i]));
        const byName = new Map(input.sites.map((s) => [s.name, s]));
        const ranks = plan.actions.map((a) => [a.key, order.get(a.site) ?? -1] as const);
        const sorted = [...ranks].sort(([k1, i1], [k2, i2]) =>
          k1 === k2 ? i1 - i2 : k1 < k2 ? -1 : 1,
        );
        expect(ranks).toEqual(sorted);
        for (const a of plan.actions) {
          const target = byName.get(a.site);
          expect(target?.reachable).toBe(true);
          if (a.kind === 'Put') {
            const from = byName.get(a.from);
            expect(from?.reachable).toBe(true);
            expect(from && valueOf(from, a.key)).toBe(a.digest);
          }
        }
      }),
    );
  });

  it('never deletes because a site that has not joined lacks a key', () => {
    fc.assert(
      fc.property(arbInput, fc.nat(), (input, pick) => {
        const plan = planMerge(input);
        // Every deletion of an agreed key was voted by a joined, reachable site.
        for (const a of plan.actions) {
          if (a.kind !== 'Delete' || !(a.key in input.agreed.entities)) continue;
          expect(plan.bootstrap).toBe(false);
          const voter = input.sites.find(
            (s) =>
              s.joined &&
              s.reachable &&
              valueOf(s, a.key) === null &&
              agreedBase(input.agreed, s.name, a.key) !== null,
          );
          expect(voter).toBeDefined();
        }
        if (plan.bootstrap) expect(plan.actions.filter((a) => a.kind === 'Delete')).toEqual([]);
        // Emptying a site that has not joined adds no deletion anywhere else.
        const newcomers = input.sites.filter((s) => !s.joined);
        const emptied = newcomers[pick % Math.max(1, newcomers.length)];
        fc.pre(emptied !== undefined);
        const sites = input.sites.map((s) => (s === emptied ? { ...s, entities: new Map() } : s));
        const deletes = (p: MergePlan) =>
          p.actions.filter((a) => a.kind === 'Delete' && a.site !== emptied.name);
        const after = planMerge({ ...input, sites });
        for (const d of deletes(after)) expect(deletes(plan)).toContainEqual(d);
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The deletion guard

describe('planMerge: the deletion guard', () => {
  const users = (n: number, from = 0) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`user:u${from + i}`, 'd1']));
  const guard = { maxCount: 10, maxPercent: 10 };

  it('holds a wave one site drives: no action anywhere, agreed state and deviations untouched', () => {
    const all = users(50);
    const start = agreed({
      entities: all,
      joined: ['a', 'b', 'c'],
      deviations: { c: { 'user:u3': 'd0' } },
    });
    const plan = planMerge({
      sites: [site('a', all), site('b', {}), site('c', { ...all, 'user:u3': 'd0' })],
      agreed: start,
      guard,
    });
    expect(plan.actions).toEqual([]);
    expect(plan.decisions).toEqual([]);
    expect(plan.held).toMatchObject({ drivenBy: ['b'], bound: 10 });
    expect(plan.held?.keys).toHaveLength(50);
    const next = nextAgreed(plan, []);
    expect(next.entities).toEqual(start.entities);
    expect(next.deviations).toEqual(start.deviations);
  });

  it('lets a wave within the bound, or one a majority drives, through', () => {
    const all = users(50);
    const small = planMerge({
      sites: [site('a', users(40, 10)), site('b', all), site('c', all)],
      agreed: agreed({ entities: all, joined: ['a', 'b', 'c'] }),
      guard,
    });
    expect(small.held).toBeUndefined();
    expect(small.actions.filter((a) => a.kind === 'Delete')).toHaveLength(20);
    const majority = planMerge({
      sites: [site('a', {}), site('b', {}), site('c', all)],
      agreed: agreed({ entities: all, joined: ['a', 'b', 'c'] }),
      guard,
    });
    expect(majority.held).toBeUndefined();
    expect(majority.actions).toHaveLength(50);
  });

  it('the bound is the larger of maxCount and maxPercent of the agreed entities', () => {
    const all = users(300);
    const sites = [site('a', users(270, 30)), site('b', all)];
    const input = { sites, agreed: agreed({ entities: all, joined: ['a', 'b'] }) };
    expect(planMerge({ ...input, guard }).held).toBeUndefined(); // 30 <= 10 % of 300
    expect(planMerge({ ...input, guard: { maxCount: 10, maxPercent: 5 } }).held?.bound).toBe(15);
    expect(planMerge({ ...input, guard: { maxCount: 29, maxPercent: 0 } }).held?.bound).toBe(29);
  });

  it('carries out exactly the approved plan; a different wave needs its own approval', () => {
    const all = users(50);
    const input: MergeInput = {
      sites: [site('a', all), site('b', users(10))],
      agreed: agreed({ entities: all, joined: ['a', 'b'] }),
      guard,
    };
    const held = planMerge(input).held;
    expect(held?.keys).toHaveLength(40);
    const approved = planMerge({ ...input, guard: { ...guard, approved: held?.digest } });
    expect(approved.held).toBeUndefined();
    expect(approved.approved?.digest).toBe(held?.digest);
    expect(approved.actions).toHaveLength(40);
    expect(approved.actions.every((a) => a.kind === 'Delete' && a.site === 'a')).toBe(true);
    // One more user deleted: another plan, another digest, held again.
    const wider = planMerge({
      ...input,
      sites: [site('a', all), site('b', users(9))],
      guard: { ...guard, approved: held?.digest },
    });
    expect(wider.held?.keys).toHaveLength(41);
    expect(wider.held?.digest).not.toBe(held?.digest);
    expect(wider.actions).toEqual([]);
  });

  it('a site that has not joined still receives held keys, so it never joins without them', () => {
    const all = users(20);
    const plan = planMerge({
      sites: [site('a', all), site('b', {}), site('c', {}, { joined: false })],
      agreed: agreed({ entities: all, joined: ['a', 'b'] }),
      guard,
    });
    expect(plan.held?.drivenBy).toEqual(['b']);
    expect(plan.actions.every((a) => a.kind === 'Put' && a.site === 'c')).toBe(true);
    expect(plan.actions).toHaveLength(20);
    const next = nextAgreed(plan, allOk(plan));
    expect(next.joined).toEqual(['a', 'b', 'c']);
    expect(next.entities).toEqual(all);
    expect(next.deviations).toEqual({});
  });
});

describe('planMerge: a site accepted with data of its own (addsOnly)', () => {
  it('adds what the group lacks, never deletes or changes what it agreed', () => {
    const plan = planMerge({
      sites: [
        site('a', { k: 'd1', shared: 'd1' }),
        { ...site('b', { shared: 'd9', mine: 'd5' }, { joined: false }), addsOnly: true },
      ],
      agreed: agreed({ entities: { k: 'd1', shared: 'd1' }, joined: ['a'] }),
    });
    expect(plan.actions).toEqual([
      { kind: 'Put', key: 'k', site: 'b', from: 'a', digest: 'd1' },
      { kind: 'Put', key: 'mine', site: 'a', from: 'b', digest: 'd5' },
      { kind: 'Put', key: 'shared', site: 'b', from: 'a', digest: 'd1' },
    ]);
    expect(nextAgreed(plan, allOk(plan)).joined).toEqual(['a', 'b']);
  });
});

describe('planMerge properties: the deletion guard', () => {
  const ALL = Array.from({ length: 40 }, (_, i) => `user:u${i}`);
  /** A converged group of 2..5 sites, one of which comes back empty or with a strict subset. */
  const arbShrunk = fc.record({
    sites: fc.integer({ min: 2, max: 5 }),
    agreedKeys: fc.subarray(ALL, { minLength: 1 }),
    kept: fc.func(fc.boolean()),
    empty: fc.boolean(),
    shrunk: fc.nat(),
    maxCount: fc.integer({ min: 0, max: 20 }),
    maxPercent: fc.integer({ min: 0, max: 50 }),
  });

  it('a joined site that comes back empty or with a strict subset deletes no more than the bound', () => {
    fc.assert(
      fc.property(arbShrunk, (g) => {
        const entities = Object.fromEntries(g.agreedKeys.map((k) => [k, 'd1']));
        const names = Array.from({ length: g.sites }, (_, i) => `s${i}`);
        const victim = names[g.shrunk % names.length] ?? 's0';
        const subset = g.empty ? [] : g.agreedKeys.filter((k) => g.kept(k));
        fc.pre(subset.length < g.agreedKeys.length); // a strict subset
        const held = Object.fromEntries(subset.map((k) => [k, 'd1']));
        const sites = names.map((n) => site(n, n === victim ? held : entities));
        const settings = { maxCount: g.maxCount, maxPercent: g.maxPercent };
        const input = { sites, agreed: agreed({ entities, joined: names }), guard: settings };
        const plan = planMerge(input);
        const missing = g.agreedKeys.length - subset.length;
        const bound = Math.max(g.maxCount, Math.ceil((g.maxPercent * g.agreedKeys.length) / 100));
        const deleted = new Set(plan.actions.filter((a) => a.kind === 'Delete').map((a) => a.key));
        expect(deleted.size).toBeLessThanOrEqual(bound);
        if (missing > bound) {
          // Held: reported with the site that drove it, not planned, the agreed state kept.
          expect(plan.held?.keys).toHaveLength(missing);
          expect(plan.held?.drivenBy).toEqual([victim]);
          expect(plan.actions).toEqual([]);
          const next = nextAgreed(plan, allOk(plan));
          expect(next.entities).toEqual(entities);
          expect(next.deviations).toEqual({});
          // The held site keeps voting: the next pass holds the same plan.
          expect(planMerge({ ...input, agreed: next }).held?.digest).toBe(plan.held?.digest);
        } else {
          expect(plan.held).toBeUndefined();
          expect(deleted.size).toBe(missing);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('planMerge: followers (PrimarySecondary secondaries)', () => {
  const follower = (s: MergeSite): MergeSite => ({ ...s, follower: true });
  it("reverts a follower's change instead of merging it", () => {
    const plan = planMerge({
      sites: [
        site('a', { 'policy:p': 'd1', 'user:x': 'u1' }),
        follower(site('b', { 'policy:p': 'd2', 'user:x': 'u1', 'user:y': 'u2' })),
        follower(site('c', { 'policy:p': 'd1' })),
      ],
      agreed: agreed({ entities: { 'policy:p': 'd1', 'user:x': 'u1' }, joined: ['a', 'b', 'c'] }),
    });
    expect(plan.decisions.every((d) => d.cause === 'unchanged')).toBe(true);
    expect(plan.actions).toEqual([
      { kind: 'Put', key: 'policy:p', site: 'b', from: 'a', digest: 'd1' },
      { kind: 'Put', key: 'user:x', site: 'c', from: 'a', digest: 'u1' },
      { kind: 'Delete', key: 'user:y', site: 'b' },
    ]);
  });

  it("propagates the leader's changes to followers", () => {
    const plan = planMerge({
      sites: [site('a', { 'bucket:n': 'd1' }), follower(site('b', {}))],
      agreed: agreed({ joined: ['a', 'b'] }),
    });
    expect(plan.actions).toEqual([
      { kind: 'Put', key: 'bucket:n', site: 'b', from: 'a', digest: 'd1' },
    ]);
  });

  it('never takes a follower as the seed of a new group', () => {
    const plan = planMerge({
      sites: [site('a', {}), follower(site('b', { 'bucket:n': 'd1' }))],
      agreed: agreed(),
    });
    expect(plan.actions).toEqual([{ kind: 'Delete', key: 'bucket:n', site: 'b' }]);
  });
});
