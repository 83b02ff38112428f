import { describe, expect, it } from '@jest/globals';

import { decodeKey } from '../../replication/entity-key.js';
import type { MergeAction } from '../../replication/merge.js';
import { actionLane, notHeld, typedActions } from './executor.js';

const lane = (key: string) => actionLane(decodeKey(key)!);

describe('actionLane', () => {
  it('puts a bucket and all its configs in one lane, and every other key in its own', () => {
    expect(lane('bucket:photos')).toBe('bucket:photos');
    expect(lane('bucket:photos/tags')).toBe('bucket:photos');
    expect(lane('bucket:photos/encryption')).toBe('bucket:photos');
    expect(lane('bucket:photos-2/tags')).toBe('bucket:photos-2');
    expect(lane('user:alice')).toBe('user:alice');
    expect(lane('mapping:user:alice')).toBe('mapping:user:alice');
  });
});

describe('typedActions', () => {
  it('decodes the keys and sets apart those this version does not know', () => {
    const actions: MergeAction[] = [
      { kind: 'Delete', key: 'mapping:group:cn=ops,dc=x', site: 'b' },
      { kind: 'Delete', key: 'widget:w', site: 'b' },
    ];
    const { typed, unknown } = typedActions(actions);
    expect(typed.map((a) => a.entity)).toEqual([{ kind: 'groupMapping', name: 'cn=ops,dc=x' }]);
    expect(unknown.map((a) => a.key)).toEqual(['widget:w']);
  });
});

describe('notHeld', () => {
  const put = (key: string, digest: string): MergeAction => ({
    kind: 'Put',
    key,
    site: 'b',
    from: 'a',
    digest,
  });
  const del = (key: string): MergeAction => ({ kind: 'Delete', key, site: 'b' });

  it('names puts the site does not hold with their digest, and deletes of keys still there', () => {
    const held = new Map([
      ['bucket:x/tags', { digest: 't1' }],
      ['bucket:x/policy', { digest: 'old' }],
      ['user:bob', { digest: 'u' }],
    ]);
    const actions = [
      put('bucket:x/tags', 't1'),
      put('bucket:x/policy', 'p2'),
      put('bucket:x/encryption', 'e1'),
      del('user:bob'),
      del('user:carol'),
    ];
    expect(notHeld(actions, held).map((a) => a.key)).toEqual([
      'bucket:x/policy',
      'bucket:x/encryption',
      'user:bob',
    ]);
  });

  it('finds nothing when every write shows', () => {
    expect(notHeld([put('k', 'd'), del('gone')], new Map([['k', { digest: 'd' }]]))).toEqual([]);
  });
});

describe('notHeld of what a site only receives', () => {
  it('compares the shape the site holds with the shape sent', () => {
    const put: MergeAction = {
      kind: 'Put',
      key: 'user:u',
      site: 's3',
      from: 'a',
      digest: 's1',
      shape: true,
    };
    expect(notHeld([put], new Map([['user:u', { digest: 's1', shape: 's1' }]]))).toEqual([]);
    expect(notHeld([put], new Map([['user:u', { digest: 'x', shape: 's2' }]]))).toEqual([put]);
    expect(notHeld([put], new Map())).toEqual([put]);
  });
});
