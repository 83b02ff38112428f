/**
 * The post-suite secret scan (test/support/secret-scan.ts, run by the global teardown) finds a
 * secret where a plain search would miss it: gzipped in a ConfigMap's binaryData, and in the
 * metrics of an operator process that has since stopped.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { gzipSync } from 'node:zlib';

import { describe, expect, it } from '@jest/globals';

import { SRG_RESOURCE } from '../../src/api/names.js';
import { CONFIGMAPS, SECRETS } from '../../src/runtime/kube-client.js';
import { eventually } from '../support/eventually.js';
import { applyCrds, createNamespace, kubeClient, mustKubectl, stack } from '../support/kube.js';
import { OperatorProcess } from '../support/operator.js';
import { scanAfterSuite } from '../support/secret-scan.js';

describe('the post-suite secret scan', () => {
  it('finds a Secret value gzipped in a ConfigMap, and nothing once it is gone', async () => {
    const client = kubeClient();
    const ns = await createNamespace('scan');
    const secret = `scan-${randomBytes(12).toString('hex')}`;
    await client.create(SECRETS, ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      stringData: { secretKey: secret },
    });
    const gz = gzipSync(Buffer.from(JSON.stringify({ leaked: secret }))).toString('base64');
    await client.create(CONFIGMAPS, ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'leak' },
      binaryData: { 'state.json.gz': gz },
    });
    const found = await scanAfterSuite();
    expect(found.hits).toEqual([`${secret.slice(0, 4)}… in ConfigMap ${ns}/leak state.json.gz`]);
    await client.delete(CONFIGMAPS, ns, 'leak');
    await client.delete(SECRETS, ns, 'creds');
    expect((await scanAfterSuite()).hits).toEqual([]);
  });

  it('finds a Secret value in the last metrics of an operator process that has stopped', async () => {
    const client = kubeClient();
    await applyCrds();
    const ns = await createNamespace('scan-metrics');
    // The planted "secret" is the group's name: the operator's metrics carry it as a label.
    const secret = `leak-${randomBytes(12).toString('hex')}`;
    await client.create(SECRETS, ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'planted' },
      stringData: { secretKey: secret },
    });
    await client.create(SECRETS, ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'nowhere-credentials' },
      stringData: { accessKey: 'nobody', secretKey: 'nothing1' },
    });
    const op = new OperatorProcess({
      KUBECONFIG: stack().kubeconfig,
      WATCH_NAMESPACE: ns,
      SITE_TIMEOUT_MS: '2000',
    });
    await op.start();
    try {
      const nowhere = (name: string, port: number) => ({
        name,
        endpoint: `https://127.0.0.1:${String(port)}`,
        credentialsSecret: { name: 'nowhere-credentials' },
      });
      await client.create(SRG_RESOURCE, ns, {
        apiVersion: 'sitesync.io/v1alpha1',
        kind: 'SiteReplicationGroup',
        metadata: { name: secret },
        spec: { primary: 'p', sites: [nowhere('p', 1), nowhere('q', 2)] },
      });
      // The unreachable sites are observed as down: sitesync_site_up{group="<secret>"} 0.
      await eventually(
        async () => {
          expect(await op.metrics()).toContain(`group="${secret}"`);
        },
        { timeoutMs: 60_000 },
      );
      // Deleted while the operator runs (its finalizer), so only its metrics still hold the name.
      await mustKubectl(['delete', 'sitereplicationgroup', secret, '-n', ns, '--wait=true']);
    } finally {
      await op.stop();
    }
    const where = `${secret.slice(0, 4)}… in metrics ${basename(op.metricsFile)}`;
    expect((await scanAfterSuite()).hits).toContain(where);
    await client.delete(SECRETS, ns, 'planted');
    expect((await scanAfterSuite()).hits).toEqual([]);
  }, 120_000);
});
