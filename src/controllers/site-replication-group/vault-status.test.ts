import { describe, expect, it } from '@jest/globals';

import type { SiteReplicationGroup } from '../../api/site-replication-group.js';
import { vaultReplicationStatus } from './vault-status.js';

const condition = (type: string, status: 'True' | 'False') => ({
  type,
  status,
  reason: 'R',
  message: '',
  lastTransitionTime: '2026-11-23T10:00:00Z',
});

function group(extra: Partial<NonNullable<SiteReplicationGroup['status']>> = {}, paused = false) {
  const g: SiteReplicationGroup = {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'SiteReplicationGroup',
    metadata: { name: 'europe', namespace: 'storage', uid: 'uid-1' },
    spec: { paused } as NonNullable<SiteReplicationGroup['spec']>,
    status: {
      mode: 'ActiveActive',
      primary: 'a',
      knownSites: ['a', 'b'],
      lastSequence: 26,
      merkleRoot: 'root',
      conditions: [condition('Ready', 'True'), condition('InSync', 'True')],
      sites: [
        {
          name: 'a',
          reachable: true,
          lastSequence: 26,
          merkleRoot: 'root',
          objects: { pending: 2, replicated: 9, failed: 1, bytes: 0, lagSeconds: 30 },
        },
        { name: 'b', reachable: true, lastSequence: 25, merkleRoot: 'other' },
      ],
      ...extra,
    },
  };
  return g;
}

describe('vaultReplicationStatus', () => {
  it("answers per group in Vault's names", () => {
    expect(vaultReplicationStatus([group()])).toEqual({
      data: {
        'storage/europe': {
          mode: 'ActiveActive',
          cluster_id: 'uid-1',
          state: 'idle',
          primary: 'a',
          known_sites: ['a', 'b'],
          known_secondaries: ['b'],
          last_wal: 26,
          merkle_root: 'root',
          in_sync: true,
          objects: { pending: 2, failed: 1, lag_seconds: 30 },
          sites: [
            {
              node_id: 'a',
              connection_state: 'connected',
              last_wal: 26,
              merkle_root: 'root',
              objects: { pending: 2, failed: 1, lag_seconds: 30 },
            },
            { node_id: 'b', connection_state: 'connected', last_wal: 25, merkle_root: 'other' },
          ],
        },
      },
    });
  });

  it('tells the state: held, merkle-sync, connecting, stream, idle', () => {
    const state = (g: SiteReplicationGroup) =>
      vaultReplicationStatus([g]).data['storage/europe']?.state;
    expect(state(group({}, true))).toBe('held');
    expect(state(group({ conditions: [condition('Stalled', 'True')] }))).toBe('held');
    expect(
      state(
        group({
          verification: {
            requested: 'x',
            phase: 'Running',
            startedAt: 't',
            buckets: 1,
            bucketsDone: 0,
            versionsCompared: 0,
          },
        }),
      ),
    ).toBe('merkle-sync');
    expect(state(group({ sites: [{ name: 'a', reachable: false }] }))).toBe('connecting');
    expect(state(group({ conditions: [condition('InSync', 'False')] }))).toBe('stream');
    expect(state(group())).toBe('idle');
  });
});
