/** Seeds a real MinIO site with buckets, configs, IAM and objects, through the driver and S3. */
import { Agent as HttpsAgent } from 'node:https';

import {
  PutBucketLifecycleConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

import { mapLimit } from '../../src/runtime/concurrency.js';
import type { MinioSiteClient } from '../../src/sites/minio/minio-site-client.js';
import type { MinioServer } from './stack.js';
import { recordSecrets } from './secret-scan.js';

/** An S3 client for a server (its root credentials unless `creds`), trusting its CA. */
export function s3For(
  server: Pick<MinioServer, 'endpoint' | 'accessKey' | 'secretKey' | 'ca'>,
  creds?: { accessKey: string; secretKey: string; sessionToken?: string },
): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: {
      accessKeyId: creds?.accessKey ?? server.accessKey,
      secretAccessKey: creds?.secretKey ?? server.secretKey,
      ...(creds?.sessionToken === undefined ? {} : { sessionToken: creds.sessionToken }),
    },
    ...(server.ca === undefined
      ? {}
      : { requestHandler: { httpsAgent: new HttpsAgent({ ca: server.ca }) } }),
  });
}

export interface SeedPlan {
  buckets: number;
  users: number;
  objects: number;
  /** The ARN of a notification target configured on the server, if any. */
  notificationArn?: string;
}

export interface Seeded {
  buckets: string[];
  users: { name: string; secretKey: string }[];
  serviceAccounts: { accessKey: string; secretKey: string; parent: string }[];
  objects: number;
}

const readPolicy = (bucket: string) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:ListBucket'],
      Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    },
  ],
});

/** Which replicated configs seeded bucket `i` carries (so a test can prove none was lost). */
export function seededConfigs(i: number): {
  objectLockConfig: boolean;
  tags: boolean;
  encryption: boolean;
  policy: boolean;
} {
  return {
    objectLockConfig: i % 5 === 0,
    tags: i % 2 === 0,
    encryption: i % 3 === 0,
    policy: i % 4 === 1,
  };
}

/** A policy letting anyone read `bucket/prefix/*`. */
export function publicReadPolicy(bucket: string, prefix: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: ['*'] },
        Action: ['s3:GetObject'],
        Resource: [`arn:aws:s3:::${bucket}/${prefix}/*`],
      },
    ],
  });
}

/** Creates bucket `name`, versioned, with the replicated configs `seededConfigs(i)` names. */
export async function seedBucketConfigs(
  site: MinioSiteClient,
  name: string,
  i: number,
): Promise<void> {
  const has = seededConfigs(i);
  await site.createBucket(name, { objectLock: has.objectLockConfig });
  await site.enableVersioning(name);
  if (has.objectLockConfig) {
    await site.putObjectLockConfig(name, {
      enabled: true,
      defaultRetention: { mode: 'GOVERNANCE', days: 1 },
    });
  }
  if (has.tags) await site.putBucketTags(name, { team: `team-${i % 3}`, index: String(i) });
  if (has.encryption) await site.putEncryption(name, { algorithm: 'AES256' });
  if (has.policy) await site.putBucketPolicy(name, publicReadPolicy(name, 'public'));
}

async function seedBucket(
  site: MinioSiteClient,
  s3: S3Client,
  i: number,
  plan: SeedPlan,
): Promise<string> {
  const name = `bucket-${String(i).padStart(3, '0')}`;
  await seedBucketConfigs(site, name, i);
  if (i % 4 === 2) {
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: name,
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'expire-tmp',
              Status: 'Enabled',
              Filter: { Prefix: 'tmp/' },
              Expiration: { Days: 7 },
            },
          ],
        },
      }),
    );
  }
  if (i % 4 === 3 && plan.notificationArn) {
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: name,
        NotificationConfiguration: {
          QueueConfigurations: [{ QueueArn: plan.notificationArn, Events: ['s3:ObjectCreated:*'] }],
        },
      }),
    );
  }
  return name;
}

/** Seeds `site` and returns what it created (secrets included, for login checks). */
export async function seedSite(
  site: MinioSiteClient,
  server: MinioServer,
  plan: SeedPlan,
): Promise<Seeded> {
  const s3 = s3For(server);
  try {
    const buckets = await mapLimit(
      Array.from({ length: plan.buckets }, (_, i) => i),
      8,
      (i) => seedBucket(site, s3, i, plan),
    );
    for (let p = 0; p < 5; p++)
      await site.putPolicy(`read-${buckets[p] ?? ''}`, readPolicy(buckets[p] ?? ''));
    const users = Array.from({ length: plan.users }, (_, i) => ({
      name: `user-${i}`,
      secretKey: `secret-of-user-${i}`,
    }));
    await mapLimit(users, 4, async (u, i) => {
      await site.putUser(u.name, { secretKey: u.secretKey, status: 'enabled' });
      await site.setPolicyMapping('user', u.name, [
        i % 2 === 0 ? 'readwrite' : `read-${buckets[i % 5] ?? ''}`,
      ]);
    });
    await site.putGroup(
      'engineers',
      { members: users.slice(0, 10).map((u) => u.name), status: 'enabled' },
      [],
    );
    await site.putGroup(
      'auditors',
      { members: users.slice(10, 15).map((u) => u.name), status: 'enabled' },
      [],
    );
    await site.setPolicyMapping('group', 'engineers', ['readwrite']);
    await site.setPolicyMapping('group', 'auditors', ['readonly']);
    const serviceAccounts = [0, 1, 2].map((i) => ({
      accessKey: `svc-user-${i}`,
      secretKey: `svc-secret-${i}-xyz`,
      parent: `user-${i}`,
    }));
    for (const sa of serviceAccounts) {
      await site.putServiceAccount({ ...sa, status: 'enabled', groups: [] }, false);
    }
    recordSecrets([...users, ...serviceAccounts].map((u) => u.secretKey));
    const keys = Array.from({ length: plan.objects }, (_, i) => i);
    await mapLimit(keys, 16, async (i) => {
      const bucket = buckets[i % Math.min(buckets.length, 10)] ?? '';
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: `data/obj-${i}.txt`, Body: `object ${i}` }),
      );
    });
    return { buckets, users, serviceAccounts, objects: plan.objects };
  } finally {
    s3.destroy();
  }
}
