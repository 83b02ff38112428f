import { describe, expect, it } from '@jest/globals';

import { leftByPredecessor } from './meta.js';

describe('leftByPredecessor', () => {
  const owned = (...uids: string[]) => ({
    metadata: { ownerReferences: uids.map((uid) => ({ uid })) },
  });

  it('is true only when the object has owners and none is the given one', () => {
    expect(leftByPredecessor(owned('old'), 'new')).toBe(true);
    expect(leftByPredecessor(owned('old', 'other'), 'new')).toBe(true);
    expect(leftByPredecessor(owned('new'), 'new')).toBe(false);
    expect(leftByPredecessor(owned('old', 'new'), 'new')).toBe(false);
  });

  it('is false for an object nobody owns (made by hand, or before owner references)', () => {
    expect(leftByPredecessor(owned(), 'new')).toBe(false);
    expect(leftByPredecessor({ metadata: {} }, 'new')).toBe(false);
  });
});
