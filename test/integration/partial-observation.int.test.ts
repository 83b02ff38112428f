/**
 * A site observed only in part is not observed: a real MinIO behind a loopback proxy that, on
 * demand, answers the IAM export without one of its files (a well-formed 200 zip, as a stream
 * cut short or an export taken while IAM loads can look). The driver refuses it as NotReady,
 * never as "no users"; whole again, it reads every user.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { SiteError } from '../../src/sites/site-error.js';
import { minioDriver, startThrowawayMinio } from '../support/minio.js';
import {
  type PartialExportProxy,
  startPartialExportProxy,
} from '../support/partial-export-proxy.js';

type Server = Awaited<ReturnType<typeof startThrowawayMinio>>;
let server: Server;
let proxy: PartialExportProxy;

beforeAll(async () => {
  server = await startThrowawayMinio('partial');
  proxy = await startPartialExportProxy(server);
  const d = minioDriver(server);
  try {
    for (let i = 0; i < 5; i++) {
      await d.putUser(`user-${i}`, { secretKey: `user-secret-${i}`, status: 'enabled' });
    }
  } finally {
    d.close();
  }
});

afterAll(async () => {
  await proxy.close();
  await server.stop();
});

describe('an IAM export missing a file', () => {
  const viaProxy = () => minioDriver({ ...server, endpoint: proxy.endpoint, ca: undefined });

  it.each(['iam-assets/users.json', 'iam-assets/svcaccts.json', 'iam-assets/user_mappings.json'])(
    'without %s is NotReady, not an absence',
    async (file) => {
      const d = viaProxy();
      proxy.drop = file;
      const answered = proxy.partialAnswers;
      try {
        const err: unknown = await d.snapshot().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(proxy.partialAnswers).toBeGreaterThan(answered);
        expect(err).toBeInstanceOf(SiteError);
        expect((err as SiteError).kind).toBe('NotReady');
        expect((err as SiteError).message).toContain(file);
      } finally {
        proxy.drop = undefined;
        d.close();
      }
    },
  );

  it('whole again, the same site reads every user', async () => {
    const d = viaProxy();
    try {
      const snap = await d.snapshot();
      expect([...snap.iam.users.keys()].filter((u) => u.startsWith('user-')).sort()).toEqual([
        'user-0',
        'user-1',
        'user-2',
        'user-3',
        'user-4',
      ]);
    } finally {
      d.close();
    }
  });
});
