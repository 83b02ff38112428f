import { describe, expect, it } from '@jest/globals';

import type { AgreedState } from '../../replication/agreed-state.js';
import {
  describeOutcome,
  judgeIdentities,
  parseAccept,
  recordIdentities,
} from './site-identity.js';

const state = (partial: Partial<AgreedState> = {}): AgreedState => ({
  entities: { 'user:alice': 'd1' },
  deviations: { b: { 'user:alice': '-' } },
  joined: ['a', 'b', 'c'],
  sequence: 7,
  identities: { a: 'id-a', b: 'id-b', c: 'id-c' },
  ...partial,
});

describe('parseAccept', () => {
  it('reads <site> and <site>:<deployment ID>', () => {
    expect(parseAccept('b')).toEqual({ value: 'b', site: 'b' });
    expect(parseAccept(' b:1234-ab ')).toEqual({
      value: 'b:1234-ab',
      site: 'b',
      identity: '1234-ab',
    });
    expect(parseAccept('')).toBeUndefined();
    expect(parseAccept(undefined)).toBeUndefined();
  });
});

describe('judgeIdentities', () => {
  it('leaves sites seen under the identity they joined with alone', () => {
    const seen = [
      { name: 'a', identity: 'id-a', entities: 3 },
      { name: 'b', identity: 'id-b', entities: 0 },
    ];
    const j = judgeIdentities(state(), seen);
    expect(j.outcomes).toEqual([]);
    expect(j.state).toEqual(state());
  });

  it('an empty site under a new identity rejoins as a receiver, to be refilled', () => {
    const j = judgeIdentities(state(), [{ name: 'b', identity: 'id-b2', entities: 0 }]);
    expect(j.outcomes).toEqual([{ site: 'b', kind: 'rejoined', was: 'id-b', now: 'id-b2' }]);
    expect(j.state.joined).toEqual(['a', 'c']);
    expect(j.state.deviations).toEqual({});
    expect(j.state.identities?.['b']).toBe('id-b2');
    expect(j.state.refill).toEqual(['b']);
    expect(j.held.size).toBe(0);
    expect(describeOutcome(j.outcomes[0]!)).toMatch(/rejoins as a receiving site/);
  });

  it('a site holding data under a new identity is held, its old identity kept', () => {
    const j = judgeIdentities(state(), [{ name: 'c', identity: 'id-c2', entities: 5 }]);
    expect(j.held.get('c')).toEqual({
      site: 'c',
      kind: 'held',
      was: 'id-c',
      now: 'id-c2',
      entities: 5,
    });
    expect(j.state.joined).toEqual(['a', 'b', 'c']);
    expect(j.state.identities?.['c']).toBe('id-c');
    expect(describeOutcome(j.held.get('c')!)).toMatch(/sitesync.io\/accept-site=c/);
  });

  it('a held site is accepted by its name, or by its name and exactly its new identity', () => {
    const seen = [{ name: 'c', identity: 'id-c2', entities: 5 }];
    for (const accept of [parseAccept('c'), parseAccept('c:id-c2')]) {
      const j = judgeIdentities(state(), seen, { accept });
      expect(j.outcomes.map((o) => o.kind)).toEqual(['accepted']);
      expect(j.state.joined).toEqual(['a', 'b']);
      expect(j.state.adopting).toEqual(['c']);
      expect(j.state.identities?.['c']).toBe('id-c2');
    }
    for (const accept of [parseAccept('c:id-other'), parseAccept('b')]) {
      expect(judgeIdentities(state(), seen, { accept }).held.has('c')).toBe(true);
    }
  });

  it('adopts an identity where none was recorded, from the status when it has one', () => {
    const seen = [
      { name: 'a', identity: 'id-a', entities: 1 },
      { name: 'b', identity: 'id-b2', entities: 1 },
    ];
    const v1 = state({ identities: undefined });
    const adopted = judgeIdentities(v1, seen);
    expect(adopted.outcomes).toEqual([]);
    expect(adopted.state.identities).toEqual({ a: 'id-a', b: 'id-b2' });
    // A wipe across the upgrade: the status still shows the old deployment ID.
    const judged = judgeIdentities(v1, seen, { fallback: { b: 'id-b' } });
    expect(judged.held.get('b')?.was).toBe('id-b');
  });

  it('judges only joined sites: a new site has nothing to compare with', () => {
    const j = judgeIdentities(state({ joined: ['a'] }), [
      { name: 'b', identity: 'x', entities: 9 },
    ]);
    expect(j.outcomes).toEqual([]);
  });
});

describe('recordIdentities', () => {
  it('records every joined site seen, except held ones, and ends adopting once joined', () => {
    const s = state({ identities: { a: 'id-a' }, adopting: ['b', 'd'], joined: ['a', 'b', 'c'] });
    const seen = [
      { name: 'a', identity: 'id-a', entities: 1 },
      { name: 'b', identity: 'id-b', entities: 1 },
      { name: 'c', identity: 'id-c2', entities: 1 },
      { name: 'd', identity: 'id-d', entities: 1 },
    ];
    const out = recordIdentities(s, seen, new Set(['c']));
    expect(out.identities).toEqual({ a: 'id-a', b: 'id-b' });
    expect(out.adopting).toEqual(['d']);
  });
});
