/**
 * Benchmark of the MinIO admin client against a throwaway local MinIO (not a test).
 *
 *   PATH=$HOME/.cache/sitesync/bin:$PATH node node_modules/tsx/dist/cli.mjs bench/admin-calls.ts
 *
 * Measures admin calls per second for a cheap plain call (serverInfo) and for an encrypted one
 * (listUsers: argon2id on both sides), seeds a site with 1000 buckets, 500 users and 100 policies
 * through the client (bounded concurrency), and times the two bulk exports the operator's steady
 * state relies on (exportIAM, exportBucketMetadata), plus importIAM of 500 users for comparison
 * with per-user addUser. Options (env): BENCH_BUCKETS, BENCH_USERS, BENCH_POLICIES.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  CreateBucketCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';

import { MinioAdminClient } from '../src/sites/minio/admin/admin-client.js';
import { readZip, writeZip } from '../src/sites/minio/admin/zip.js';
import { stopProcess } from '../test/support/processes.js';
import { startMinio } from '../test/support/stack.js';

const BUCKETS = Number(process.env['BENCH_BUCKETS'] ?? 1000);
const USERS = Number(process.env['BENCH_USERS'] ?? 500);
const POLICIES = Number(process.env['BENCH_POLICIES'] ?? 100);

interface Row {
  what: string;
  n: number;
  concurrency: number;
  seconds: number;
  note?: string;
}

const rows: Row[] = [];

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at a time; returns seconds taken. */
async function pool(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return (performance.now() - t0) / 1000;
}

async function measure(
  what: string,
  n: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  const seconds = await pool(n, concurrency, task);
  rows.push({ what, n, concurrency, seconds });
  console.error(`  ${what}: ${n} in ${seconds.toFixed(2)} s`);
}

async function timeOnce<T>(f: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { seconds: (performance.now() - t0) / 1000, value };
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function printTable(): void {
  const header = ['measurement', 'n', 'conc', 'total s', 'per call ms', 'calls/s', 'note'];
  const lines = rows.map((r) => [
    r.what,
    String(r.n),
    String(r.concurrency),
    r.seconds.toFixed(2),
    ((r.seconds * 1000) / r.n).toFixed(1),
    (r.n / r.seconds).toFixed(1),
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const l of lines) console.log(fmt(l));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sitesync-bench-'));
  const name = `bench-${randomBytes(3).toString('hex')}`;
  const kms = `bench-key:${randomBytes(32).toString('base64')}`;
  console.error(`Starting a throwaway MinIO in ${dir} (${cpus().length} CPUs)`);
  const server = await startMinio(dir, { name, kmsSecretKey: kms, tls: false });
  const calls = new Map<string, number>();
  const client = new MinioAdminClient({
    site: name,
    endpoint: server.endpoint,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    onCall: (op) => calls.set(op, (calls.get(op) ?? 0) + 1),
  });
  const s3 = new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
  });
  try {
    await client.addUser('warmup-user', 'warmup-secret-1');
    await client.serverInfo();

    console.error('Call rates');
    await measure('serverInfo (plain)', 300, 1, () => client.serverInfo());
    await measure('serverInfo (plain)', 1000, 8, () => client.serverInfo());
    await measure('listUsers (encrypted response)', 30, 1, () => client.listUsers());
    await measure('listUsers (encrypted response)', 30, 4, () => client.listUsers());
    await measure('getUserInfo (plain)', 300, 8, () => client.getUserInfo('warmup-user'));

    console.error(`Seeding ${POLICIES} policies, ${USERS} users, ${BUCKETS} buckets`);
    const policyDoc = (i: number) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:ListBucket'],
          Resource: [`arn:aws:s3:::bench-${i}`, `arn:aws:s3:::bench-${i}/*`],
        },
      ],
    });
    await measure('addCannedPolicy (plain)', POLICIES, 8, (i) =>
      client.addCannedPolicy(`bench-policy-${i}`, policyDoc(i)),
    );
    await measure('addUser (encrypted request)', USERS, 4, (i) =>
      client.addUser(`bench-user-${i}`, `bench-secret-${i}-xyz`),
    );
    await measure('setPolicies (plain)', USERS, 8, (i) =>
      client.setPolicies({ user: `bench-user-${i}` }, [`bench-policy-${i % POLICIES}`]),
    );
    await measure('S3 CreateBucket + versioning', BUCKETS, 16, async (i) => {
      const Bucket = `bench-${i}`;
      await s3.send(new CreateBucketCommand({ Bucket }));
      await s3.send(
        new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
      if (i % 10 === 0) {
        await s3.send(
          new PutBucketTaggingCommand({
            Bucket,
            Tagging: { TagSet: [{ Key: 'n', Value: String(i) }] },
          }),
        );
      }
    });

    console.error('Bulk exports');
    const iamTimes: number[] = [];
    const bmTimes: number[] = [];
    let iamZip: Buffer = Buffer.alloc(0);
    let bmZip: Buffer = Buffer.alloc(0);
    for (let k = 0; k < 5; k++) {
      const iam = await timeOnce(() => client.exportIAM());
      iamTimes.push(iam.seconds);
      iamZip = iam.value;
      const bm = await timeOnce(() => client.exportBucketMetadata());
      bmTimes.push(bm.seconds);
      bmZip = bm.value;
    }
    const iamEntries = readZip(iamZip);
    const users = Object.keys(
      JSON.parse(
        iamEntries.find((e) => e.name === 'iam-assets/users.json')?.data.toString() ?? '{}',
      ) as object,
    ).length;
    const bmEntries = readZip(bmZip);
    rows.push({
      what: 'exportIAM (median of 5)',
      n: 1,
      concurrency: 1,
      seconds: median(iamTimes),
      note: `${(iamZip.length / 1024).toFixed(0)} KiB zip, ${users} users, min ${(Math.min(...iamTimes) * 1000).toFixed(0)} ms`,
    });
    rows.push({
      what: 'exportBucketMetadata (median of 5)',
      n: 1,
      concurrency: 1,
      seconds: median(bmTimes),
      note: `${(bmZip.length / 1024).toFixed(0)} KiB zip, ${bmEntries.length} files, min ${(Math.min(...bmTimes) * 1000).toFixed(0)} ms`,
    });
    const both = await timeOnce(() =>
      Promise.all([client.exportIAM(), client.exportBucketMetadata()]),
    );
    rows.push({
      what: 'exportIAM + exportBucketMetadata in parallel',
      n: 1,
      concurrency: 2,
      seconds: both.seconds,
    });

    const bulkUsers: Record<string, { secretKey: string; status: string }> = {};
    for (let i = 0; i < USERS; i++)
      bulkUsers[`bulk-user-${i}`] = { secretKey: `bulk-secret-${i}-xyz`, status: 'enabled' };
    const zip = writeZip([
      { name: 'iam-assets/users.json', data: Buffer.from(JSON.stringify(bulkUsers)) },
    ]);
    const imported = await timeOnce(() => client.importIAM(zip));
    rows.push({
      what: `importIAM of ${USERS} users (one call)`,
      n: 1,
      concurrency: 1,
      seconds: imported.seconds,
      note: `${imported.value.added.users.length} added, ${imported.value.failed.length} failed`,
    });
  } finally {
    await client.close();
    s3.destroy();
    await stopProcess(dir, `minio-${name}`);
    rmSync(dir, { recursive: true, force: true });
  }
  printTable();
  console.log(`\nHTTP requests per operation: ${JSON.stringify(Object.fromEntries(calls))}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
