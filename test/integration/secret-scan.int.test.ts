/**
 * The post-suite secret scan (test/support/secret-scan.ts, run by the global teardown) finds a
 * secret where a plain search would miss it: gzipped in a ConfigMap's binaryData.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

import { describe, expect, it } from '@jest/globals';

import { CONFIGMAPS, SECRETS } from '../../src/runtime/kube-client.js';
import { createNamespace, kubeClient } from '../support/kube.js';
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
});
