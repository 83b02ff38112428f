/**
 * What the operator keeps for a group (its ConfigMaps and Secrets) carries the group's owner
 * reference and is removed by the garbage collector (the stack runs kube-controller-manager's),
 * never by the operator, which holds no `delete` on Secrets or ConfigMaps. A group deleted and
 * created again under the same name before the collector ran reads nothing its predecessor
 * left: the leftovers are read as absent and replaced, owner reference included.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { SRG_RESOURCE } from '../../src/api/names.js';
import type { SiteReplicationGroup } from '../../src/api/site-replication-group.js';
import {
  DIGEST_KEY_ENTRY,
  loadAgreed,
  loadReplicatorSecrets,
  saveAgreed,
} from '../../src/controllers/site-replication-group/state.js';
import { emptyAgreedState } from '../../src/replication/agreed-state.js';
import { CONFIGMAPS, type KubeClient, SECRETS, isNotFound } from '../../src/runtime/kube-client.js';
import { ensureSecretEntries } from '../../src/runtime/secrets.js';
import { eventually } from '../support/eventually.js';
import { applyCrds, createNamespace, kubeClient, mustKubectl, stack } from '../support/kube.js';
import { OperatorProcess } from '../support/operator.js';
import { startGarbageCollector, stopGarbageCollector } from '../support/stack.js';

let client: KubeClient;
let ns: string;

interface Owned {
  metadata: { ownerReferences?: { uid: string }[] };
  data?: Record<string, string>;
}

const ownerUids = async (type: typeof SECRETS, name: string) =>
  ((await client.get<Owned>(type, ns, name)).metadata.ownerReferences ?? []).map((r) => r.uid);

const gone = (type: typeof SECRETS, name: string) =>
  client.get(type, ns, name).then(
    () => false,
    (e: unknown) => isNotFound(e),
  );

/** A group whose two sites do not answer: the operator still keeps its replicator Secret. */
async function createGroup(name: string): Promise<SiteReplicationGroup> {
  const site = (n: string, port: number) => ({
    name: n,
    endpoint: `https://127.0.0.1:${String(port)}`,
    credentialsSecret: { name: 'nowhere-credentials' },
  });
  return client.create<SiteReplicationGroup>(SRG_RESOURCE, ns, {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'SiteReplicationGroup',
    metadata: { name },
    spec: { primary: 'p', sites: [site('p', 1), site('q', 2)] },
  });
}

const ownerOf = (g: SiteReplicationGroup) => ({
  namespace: ns,
  name: g.metadata.name,
  uid: g.metadata.uid ?? '',
  apiVersion: 'sitesync.io/v1alpha1',
});

beforeAll(async () => {
  client = kubeClient();
  await applyCrds();
  ns = await createNamespace('owned');
  await client.create(SECRETS, ns, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'nowhere-credentials' },
    stringData: { accessKey: 'nobody', secretKey: 'nothing1' },
  });
});

afterAll(async () => {
  // Whatever a test did, the stack's collector runs again for the next file.
  await startGarbageCollector();
}, 120_000);

describe('objects a group owns', () => {
  it('are left by the operator when the group is deleted, and removed by the garbage collector', async () => {
    const op = new OperatorProcess({
      KUBECONFIG: stack().kubeconfig,
      WATCH_NAMESPACE: ns,
      SITE_TIMEOUT_MS: '2000',
    });
    await op.start();
    try {
      await createGroup('gc');
      // Its first pass keeps the group's digest key in the replicator Secret.
      await eventually(
        async () => {
          expect(
            (await client.get<Owned>(SECRETS, ns, 'gc-sitesync-replicator')).data,
          ).toHaveProperty([DIGEST_KEY_ENTRY]);
        },
        { timeoutMs: 60_000 },
      );
      await stopGarbageCollector();
      // The finalizer runs (its sites unreachable: logged) and lets the group go ...
      await mustKubectl(['delete', 'srg', 'gc', '-n', ns, '--wait=true', '--timeout=60s']);
    } finally {
      await op.stop();
    }
    // ... without deleting the Secret: only the collector does, once it runs.
    expect(await gone(SECRETS, 'gc-sitesync-replicator')).toBe(false);
    await startGarbageCollector();
    await eventually(
      async () => {
        expect(await gone(SECRETS, 'gc-sitesync-replicator')).toBe(true);
      },
      { timeoutMs: 60_000 },
    );
  }, 180_000);

  it('are not written again when the agreed state is unchanged, unless labels or owner were lost', async () => {
    const owner = ownerOf(await createGroup('unchanged'));
    const name = 'unchanged-sitesync-state';
    let patches = 0;
    const counting = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop === 'patch') patches++;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const state = { ...emptyAgreedState(), joined: ['p'], entities: { 'bucket:a': 'd1' } };
    await saveAgreed(counting, owner, state);
    expect(patches).toBe(1);
    await loadAgreed(counting, owner, owner.uid);
    await saveAgreed(counting, owner, { ...state, entities: { 'bucket:a': 'd1' } });
    expect(patches).toBe(1);
    // Another state is written.
    const next = { ...state, sequence: 1 };
    await saveAgreed(counting, owner, next);
    expect(patches).toBe(2);
    expect((await loadAgreed(counting, owner, owner.uid)).state).toEqual(next);
    await saveAgreed(counting, owner, next);
    expect(patches).toBe(2);
    // Labels lost (someone edited it): the same state is written again, labels with it.
    await client.patch(CONFIGMAPS, { namespace: ns, name }, { metadata: { labels: null } });
    expect((await loadAgreed(counting, owner, owner.uid)).state).toEqual(next);
    await saveAgreed(counting, owner, next);
    expect(patches).toBe(3);
    const restored = await client.get<{ metadata: { labels?: Record<string, string> } }>(
      CONFIGMAPS,
      ns,
      name,
    );
    expect(restored.metadata.labels).toMatchObject({ 'sitesync.io/group': 'unchanged' });
  });

  it("of a deleted namesake are read as absent and replaced, the new owner's reference with them", async () => {
    await stopGarbageCollector();
    const first = await createGroup('again');
    const owner1 = ownerOf(first);
    const keys1 = await loadReplicatorSecrets(client, owner1, ['p', DIGEST_KEY_ENTRY]);
    await saveAgreed(client, owner1, { ...emptyAgreedState(), joined: ['p'] });
    expect((await loadAgreed(client, owner1, owner1.uid)).problem).toBeUndefined();
    const brOwned = (o: ReturnType<typeof ownerOf>) => ({
      namespace: ns,
      name: 'again-account',
      labels: { 'app.kubernetes.io/managed-by': 'sitesync' },
      ownerUid: o.uid,
      ownerReferences: [
        { apiVersion: o.apiVersion, kind: 'SiteReplicationGroup', name: o.name, uid: o.uid },
      ],
    });
    const account1 = await ensureSecretEntries(client, brOwned(owner1), ['d1']);

    // Deleted (no operator runs: no finalizer) and created again before any collection.
    await client.delete(SRG_RESOURCE, ns, 'again');
    const second = await createGroup('again');
    const owner2 = ownerOf(second);
    expect(owner2.uid).not.toBe(owner1.uid);

    const loaded = await loadAgreed(client, owner2, owner2.uid);
    expect(loaded.problem).toEqual({
      kind: 'missing',
      message:
        'the agreed state (ConfigMap again-sitesync-state) belongs to a deleted group of the same name',
    });
    expect(loaded.state).toEqual(emptyAgreedState());
    const keys2 = await loadReplicatorSecrets(client, owner2, ['q', DIGEST_KEY_ENTRY]);
    expect(keys2.get(DIGEST_KEY_ENTRY)).not.toBe(keys1.get(DIGEST_KEY_ENTRY));
    const replicator = await client.get<Owned>(SECRETS, ns, 'again-sitesync-replicator');
    // The predecessor's entry for p is gone, not inherited.
    expect(Object.keys(replicator.data ?? {}).sort()).toEqual([DIGEST_KEY_ENTRY, 'q']);
    expect(await ownerUids(SECRETS, 'again-sitesync-replicator')).toEqual([owner2.uid]);
    const account2 = await ensureSecretEntries(client, brOwned(owner2), ['d1']);
    expect(account2.get('d1')).not.toBe(account1.get('d1'));
    expect(await ownerUids(SECRETS, 'again-account')).toEqual([owner2.uid]);
    await saveAgreed(client, owner2, { ...emptyAgreedState(), joined: ['q'] });
    expect(await ownerUids(CONFIGMAPS, 'again-sitesync-state')).toEqual([owner2.uid]);
    expect((await loadAgreed(client, owner2, owner2.uid)).state.joined).toEqual(['q']);

    // The collector, running again, takes them only with their new owner.
    await startGarbageCollector();
    await client.delete(SRG_RESOURCE, ns, 'again');
    await eventually(
      async () => {
        for (const name of ['again-sitesync-replicator', 'again-account'])
          expect(await gone(SECRETS, name)).toBe(true);
        expect(await gone(CONFIGMAPS, 'again-sitesync-state')).toBe(true);
      },
      { timeoutMs: 60_000 },
    );
  }, 180_000);
});
