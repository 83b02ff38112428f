/**
 * The seeded data set of a benchmark size: N buckets (versioned; every 5th object-locked with a
 * default retention, every 2nd tagged, every 3rd SSE-S3 encrypted, every 4th with a bucket
 * policy), M IAM entities (10 % canned policies, 4 % groups, 6 % service accounts, the rest
 * users, each user mapped to a policy) imported in one `import-iam` call, and K small objects
 * spread over the first ten buckets. Seeded once per size into a template drive that every run
 * copies, so sitesync and MinIO's native replication start from byte-identical data.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';

import { mapLimit } from '../../src/runtime/concurrency.js';
import { writeZip } from '../../src/sites/minio/admin/zip.js';
import type { MinioSiteClient } from '../../src/sites/minio/minio-site-client.js';
import { minioDriver } from '../../test/support/minio.js';
import { s3For, seedBucketConfigs } from '../../test/support/seed.js';
import { entityMap } from './verify.js';
import type { BenchServer, Workspace } from './workspace.js';

export interface Size {
  name: string;
  buckets: number;
  iam: number;
  objects: number;
}

export interface IamCounts {
  policies: number;
  users: number;
  groups: number;
  serviceAccounts: number;
}

export interface SeedTemplate {
  size: Size;
  /** The drive to copy. */
  dataDir: string;
  accessKey: string;
  secretKey: string;
  buckets: string[];
  /** Buckets holding objects, and how many objects each holds. */
  objectBuckets: Map<string, number>;
  iam: IamCounts;
  seedSeconds: number;
  /** The seed site's replicated state as listed right after seeding (see verify.entityMap). */
  expected: Map<string, string>;
}

export function iamCounts(total: number): IamCounts {
  const policies = Math.max(1, Math.ceil(total * 0.1));
  const groups = Math.max(1, Math.ceil(total * 0.04));
  const serviceAccounts = Math.max(1, Math.ceil(total * 0.06));
  return {
    policies,
    groups,
    serviceAccounts,
    users: Math.max(1, total - policies - groups - serviceAccounts),
  };
}

export const bucketName = (i: number) => `bucket-${String(i).padStart(4, '0')}`;

export function siteClient(server: {
  name: string;
  endpoint: string;
  accessKey: string;
  secretKey: string;
}) {
  return minioDriver(server, { name: server.name, timeoutMs: 120_000 });
}

async function seedBucket(site: MinioSiteClient, i: number): Promise<string> {
  const name = bucketName(i);
  await seedBucketConfigs(site, name, i);
  return name;
}

/** The IAM part of the seed as an `import-iam` zip. */
export function iamZip(counts: IamCounts, buckets: readonly string[]): Buffer {
  const policies: Record<string, unknown> = {};
  for (let p = 0; p < counts.policies; p++) {
    const b = buckets[p % buckets.length] ?? 'none';
    policies[`policy-${p}`] = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:ListBucket'],
          Resource: [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`],
        },
      ],
    };
  }
  const users: Record<string, unknown> = {};
  const userMappings: Record<string, unknown> = {};
  for (let u = 0; u < counts.users; u++) {
    users[`user-${u}`] = { secretKey: `secret-of-user-${u}`, status: 'enabled' };
    userMappings[`user-${u}`] = { policy: `policy-${u % counts.policies}` };
  }
  const groups: Record<string, unknown> = {};
  const groupMappings: Record<string, unknown> = {};
  for (let g = 0; g < counts.groups; g++) {
    const members = Array.from({ length: 5 }, (_, k) => `user-${(g * 5 + k) % counts.users}`);
    groups[`group-${g}`] = { version: 1, status: 'enabled', members: [...new Set(members)] };
    groupMappings[`group-${g}`] = {
      policy: g % 2 === 0 ? 'readonly' : `policy-${g % counts.policies}`,
    };
  }
  const svcaccts: Record<string, unknown> = {};
  for (let s = 0; s < counts.serviceAccounts; s++) {
    svcaccts[`svc-${s}`] = {
      parent: `user-${s % counts.users}`,
      accessKey: `svc-${s}`,
      secretKey: `svc-secret-${s}-xyz`,
      groups: [],
      status: 'on',
    };
  }
  const file = (name: string, doc: unknown) => ({
    name: `iam-assets/${name}`,
    data: Buffer.from(JSON.stringify(doc)),
  });
  return writeZip([
    file('policies.json', policies),
    file('users.json', users),
    file('groups.json', groups),
    file('svcaccts.json', svcaccts),
    file('user_mappings.json', userMappings),
    file('group_mappings.json', groupMappings),
  ]);
}

async function putObjects(server: BenchServer, objectBuckets: Map<string, number>): Promise<void> {
  const s3 = s3For(server);
  try {
    const jobs = [...objectBuckets].flatMap(([bucket, n]) =>
      Array.from({ length: n }, (_, i) => ({ bucket, i })),
    );
    await mapLimit(jobs, 16, async ({ bucket, i }) => {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `data/obj-${i}.txt`,
          Body: `object ${i} of ${bucket}`,
        }),
      );
    });
  } finally {
    s3.destroy();
  }
}

/** Seeds a template drive for `size` (the server is stopped afterwards; its drive is kept). */
export async function seedTemplate(ws: Workspace, size: Size): Promise<SeedTemplate> {
  const t0 = performance.now();
  const name = `template-${size.name}`;
  const accessKey = 'seed-admin';
  const secretKey = `seed-secret-${size.name}-0123456789`;
  const server = await ws.startServer(name, { accessKey, secretKey });
  const site = siteClient(server);
  const counts = iamCounts(size.iam);
  try {
    const buckets = await mapLimit(
      Array.from({ length: size.buckets }, (_, i) => i),
      8,
      (i) => seedBucket(site, i),
    );
    const result = await site.admin.importIAM(iamZip(counts, buckets));
    if (result.failed.length > 0)
      throw new Error(`import-iam failed: ${JSON.stringify(result.failed[0])}`);
    const holders = buckets.slice(0, Math.min(10, buckets.length));
    const objectBuckets = new Map(
      holders.map((b, k) => [
        b,
        Math.floor(size.objects / holders.length) + (k < size.objects % holders.length ? 1 : 0),
      ]),
    );
    await putObjects(server, objectBuckets);
    const expected = entityMap(await site.snapshot());
    return {
      expected,
      size,
      dataDir: ws.dataDir(name),
      accessKey,
      secretKey,
      buckets,
      objectBuckets,
      iam: counts,
      seedSeconds: (performance.now() - t0) / 1000,
    };
  } finally {
    site.close();
    await ws.stopServer(server, { keepData: true });
  }
}
