import { describe, expect, it } from '@jest/globals';

import type { Entity } from '../../replication/merge.js';
import type { SiteSnapshot } from '../../sites/snapshot.js';
import type { Observed } from './observe.js';
import type { Pass } from './pass.js';
import { recoverAgreed } from './recovery.js';

/** A site seen whole, holding `entities` (key -> digest) under deployment ID `id`. */
function seen(name: string, entities: Record<string, string>, id = `${name}-id`): Observed {
  const snap = { deploymentID: id, entities } as unknown as SiteSnapshot;
  return { site: { name }, ok: true, snap } as unknown as Observed;
}

const down = (name: string): Observed =>
  ({ site: { name }, ok: false, reason: 'SiteUnreachable', message: 'down' }) as Observed;

function pass(
  observed: Observed[],
  opts: {
    problem?: Pass['agreedProblem'];
    knownSites?: string[];
    annotations?: Record<string, string>;
    lastRebuild?: string;
  } = {},
): Pass {
  const entities = (snap: SiteSnapshot): Map<string, Entity> =>
    new Map(
      Object.entries((snap as unknown as { entities: Record<string, string> }).entities).map(
        ([k, digest]) => [k, { digest }],
      ),
    );
  return {
    obj: {
      metadata: { annotations: opts.annotations ?? {} },
      status: {
        knownSites: opts.knownSites ?? ['a', 'b'],
        lastSequence: 41,
        ...(opts.lastRebuild === undefined ? {} : { lastRebuild: opts.lastRebuild }),
      },
    },
    observed,
    agreedProblem: opts.problem ?? {
      kind: 'missing',
      message: 'ConfigMap g-sitesync-state does not exist',
    },
    entities,
  } as unknown as Pass;
}

const same = { 'user:alice': 'd1', 'bucket:photos': 'd2' };

describe('recoverAgreed', () => {
  it('does nothing when the agreed state was read', () => {
    const p = pass([seen('a', same)]);
    delete p.agreedProblem;
    expect(recoverAgreed(p)).toEqual({});
  });

  it('a missing ConfigMap of a group that never joined is a new group', () => {
    expect(recoverAgreed(pass([seen('a', same)], { knownSites: [] }))).toEqual({});
  });

  it('rebuilds from sites that hold the same entities: joined, identities kept, sequence carried on', () => {
    const r = recoverAgreed(pass([seen('a', same), seen('b', same)]));
    expect(r.blocker).toBeUndefined();
    expect(r.agreed).toEqual({
      entities: same,
      deviations: {},
      joined: ['a', 'b'],
      sequence: 41,
      identities: { a: 'a-id', b: 'b-id' },
    });
    expect(r.rebuilt?.from).toBe('sites');
    expect(r.rebuilt?.message).toContain('rebuilt from the 2 sites');
  });

  it('a corrupt state is rebuilt the same way when the sites agree', () => {
    const problem = { kind: 'corrupt' as const, message: 'Cannot decode the agreed state' };
    const r = recoverAgreed(pass([seen('a', same), seen('b', same)], { problem }));
    expect(r.agreed?.entities).toEqual(same);
  });

  it('holds (no state, a blocker) when the sites differ, naming what each holds', () => {
    const r = recoverAgreed(pass([seen('a', same), seen('b', { 'user:alice': 'd1' })]));
    expect(r.agreed).toBeUndefined();
    expect(r.blocker?.reason).toBe('AgreedStateLost');
    expect(r.blocker?.message).toContain('a: 2, b: 1');
    expect(r.blocker?.message).toContain('sitesync.io/rebuild-agreed-state');
    const corrupt = recoverAgreed(
      pass([seen('a', same), seen('b', {})], {
        problem: { kind: 'corrupt', message: 'Cannot decode the agreed state' },
      }),
    );
    expect(corrupt.blocker?.reason).toBe('AgreedStateCorrupt');
  });

  it('holds while any site cannot be read: its absence is no vote', () => {
    const r = recoverAgreed(pass([seen('a', same), down('b')]));
    expect(r.agreed).toBeUndefined();
    expect(r.blocker?.message).toContain('not now: b');
  });

  it('rebuilds as an empty base (an initial join: the union) when asked, once per value', () => {
    const asked = { annotations: { 'sitesync.io/rebuild-agreed-state': 'v1' } };
    const differ = [seen('a', same), seen('b', {})];
    const r = recoverAgreed(pass(differ, asked));
    expect(r.agreed).toMatchObject({ entities: {}, joined: [], sequence: 41 });
    expect(r.rebuilt?.from).toBe('union');
    expect(r.rebuildValue).toBe('v1');
    const again = recoverAgreed(pass(differ, { ...asked, lastRebuild: 'v1' }));
    expect(again.agreed).toBeUndefined();
    expect(again.blocker?.reason).toBe('AgreedStateLost');
  });
});
