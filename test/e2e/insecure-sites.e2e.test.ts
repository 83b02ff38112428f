/**
 * Transport security end to end, with the built operator process: a group whose sites serve
 * plain http is refused on a default operator (InsecureEndpoint, naming the field, nothing
 * written to any site); the same group converges once the operator runs with
 * ALLOW_INSECURE_SITES=true, and then carries the InsecureTransport warning condition and a
 * Warning Event. The only test of a group on http: every other one runs on TLS.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { SRG_RESOURCE } from '../../src/api/names.js';
import type { SiteReplicationGroup } from '../../src/api/site-replication-group.js';
import { findCondition } from '../../src/runtime/conditions.js';
import { EVENTS, type KubeClient, SECRETS } from '../../src/runtime/kube-client.js';
import { eventually } from '../support/eventually.js';
import { applyCrds, createNamespace, kubeClient, stack } from '../support/kube.js';
import { type ThrowawayMinio, minioDriver, startThrowawayMinio } from '../support/minio.js';
import { OperatorProcess } from '../support/operator.js';
import { siteSpec } from '../support/site-spec.js';

let client: KubeClient;
let ns: string;
const sites: ThrowawayMinio[] = [];
let operator: OperatorProcess | undefined;

const GROUP = 'plain';

function start(allow: boolean): Promise<void> {
  operator = new OperatorProcess({
    KUBECONFIG: stack().kubeconfig,
    WATCH_NAMESPACE: ns,
    SITE_TIMEOUT_MS: '5000',
    ...(allow ? { ALLOW_INSECURE_SITES: 'true' } : {}),
  });
  return operator.start();
}

const getGroup = () => client.get<SiteReplicationGroup>(SRG_RESOURCE, ns, GROUP);

beforeAll(async () => {
  client = kubeClient();
  await applyCrds();
  ns = await createNamespace('insecure');
  sites.push(
    ...(await Promise.all(
      ['p', 'q'].map((n) => startThrowawayMinio(`insecure-${n}`, {}, { tls: false })),
    )),
  );
  for (const [i, s] of sites.entries()) {
    await client.create(SECRETS, ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `s${i}-credentials` },
      stringData: { accessKey: s.accessKey, secretKey: s.secretKey },
    });
  }
  const seed = minioDriver(sites[0]!);
  await seed.createBucket('plain-bucket');
  seed.close();
}, 120_000);

afterAll(async () => {
  await client.delete(SRG_RESOURCE, ns, GROUP).catch(() => undefined);
  await eventually(
    async () => {
      expect((await client.list(SRG_RESOURCE, ns)).items).toHaveLength(0);
    },
    { timeoutMs: 60_000 },
  ).catch(() => undefined);
  await operator?.stop();
  await Promise.all(sites.map((s) => s.stop()));
}, 120_000);

describe('a group whose sites serve plain http', () => {
  it('is refused by a default operator, naming the field, and nothing is written to a site', async () => {
    expect(sites.every((s) => s.endpoint.startsWith('http://'))).toBe(true);
    await start(false);
    await client.create(SRG_RESOURCE, ns, {
      apiVersion: 'sitesync.io/v1alpha1',
      kind: 'SiteReplicationGroup',
      metadata: { name: GROUP },
      spec: {
        primary: 's0',
        syncInterval: '2s',
        sites: sites.map((s, i) => siteSpec(`s${i}`, s)),
      },
    });
    const g = await eventually(
      async () => {
        const r = await getGroup();
        expect(findCondition(r.status?.conditions, 'Stalled')).toMatchObject({
          status: 'True',
          reason: 'InsecureEndpoint',
        });
        return r;
      },
      { timeoutMs: 60_000 },
    );
    const ready = findCondition(g.status?.conditions, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'InsecureEndpoint' });
    expect(ready?.message).toMatch(
      /^spec\.sites\[0\]\.endpoint: http:\/\/127\.0\.0\.1:\d+ is not https/,
    );
    expect(ready?.message).toContain('spec.sites[1].endpoint');
    expect(ready?.message).toContain('ALLOW_INSECURE_SITES=true');
    // Refused before any site was contacted: no replication account, the bucket only on p.
    for (const [i, s] of sites.entries()) {
      const d = minioDriver(s);
      try {
        const snap = await d.snapshot();
        expect(snap.iam.users.size).toBe(0);
        expect([...snap.buckets.keys()]).toEqual(i === 0 ? ['plain-bucket'] : []);
      } finally {
        d.close();
      }
    }
    await operator?.stop();
  }, 120_000);

  it('converges with ALLOW_INSECURE_SITES=true, carrying a warning condition and Event', async () => {
    await start(true);
    const g = await eventually(
      async () => {
        const r = await getGroup();
        expect(findCondition(r.status?.conditions, 'Ready')).toMatchObject({ status: 'True' });
        expect(r.status?.observedGeneration).toBe(r.metadata.generation);
        return r;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const warning = findCondition(g.status?.conditions, 'InsecureTransport');
    expect(warning).toMatchObject({ status: 'True', reason: 'InsecureEndpoint' });
    expect(warning?.message).toMatch(
      /^spec\.sites\[0\]\.endpoint: http:\/\/127\.0\.0\.1:\d+ is not https/,
    );
    expect(findCondition(g.status?.conditions, 'Stalled')?.status).toBe('False');
    const q = minioDriver(sites[1]!);
    try {
      expect((await q.snapshot()).buckets.has('plain-bucket')).toBe(true);
    } finally {
      q.close();
    }
    await eventually(async () => {
      const events = await client.list<{ reason?: string; type?: string; message?: string }>(
        EVENTS,
        ns,
      );
      expect(
        events.items.some(
          (e) =>
            e.reason === 'InsecureEndpoint' &&
            e.type === 'Warning' &&
            e.message?.includes('spec.sites[1].endpoint') === true &&
            !e.message.includes('refused'),
        ),
      ).toBe(true);
    });
  }, 180_000);
});
