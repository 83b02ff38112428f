/**
 * Object verification throughput and memory: two MinIO sites holding the same bucket of N
 * object versions (default 100 000), verified by the operator's own code (verifyBucketSlice
 * with the MinIO driver's version listing, pages of 1000, slices of VERIFY_SLICE_MS with the
 * checkpoint carried between them as the operator does), in a fresh process so its peak RSS
 * is the verification's. Prints versions/s per site, the duration and the peak RSS.
 *
 *   npx tsx bench/verify-objects.ts [--versions N] [--slice-ms MS]
 *
 * Needs the stack (`make stack-up`: the throwaway servers share its KMS key). The bucket is
 * filled with MinIO's snowball auto-extract (one tar per 10 000 objects), the same tar on both
 * sites, unversioned: every object's version is `null` and its ETag its MD5, so both sites list
 * the same versions and the verification compares equal trees. A measurement, not a test.
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';

import { PutObjectCommand } from '@aws-sdk/client-s3';

import {
  type ListPage,
  rootsOf,
  verifyBucketSlice,
} from '../src/controllers/site-replication-group/verify-bucket.js';
import { minioDriver, startThrowawayMinio } from '../test/support/minio.js';
import { s3For } from '../test/support/seed.js';

const BUCKET = 'verify-bench';
const PER_TAR = 10_000;
const signal = new AbortController().signal;

interface Site {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  ca?: string | undefined;
}

/** A ustar archive of `names`, each holding `body of <name>`. */
function tarOf(names: readonly string[]): Buffer {
  const blocks: Buffer[] = [];
  for (const name of names) {
    const body = Buffer.from(`body of ${name}`);
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
    );
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const byte of h) sum += byte;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

async function fill(site: Site, versions: number): Promise<void> {
  const d = minioDriver(site);
  await d.createBucket(BUCKET);
  d.close();
  const s3 = s3For(site);
  try {
    for (let start = 0; start < versions; start += PER_TAR) {
      const names = Array.from(
        { length: Math.min(PER_TAR, versions - start) },
        (_, i) =>
          `dir-${String((start + i) % 100).padStart(2, '0')}/obj-${String(start + i).padStart(7, '0')}`,
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: `batch-${String(start)}.tar`,
          Body: tarOf(names),
          Metadata: { 'snowball-auto-extract': 'true' },
        }),
      );
    }
  } finally {
    s3.destroy();
  }
}

interface Result {
  versionsPerSite: number;
  seconds: number;
  slices: number;
  findings: number;
  equal: boolean;
  maxRssMiB: number;
  baseRssMiB: number;
}

/** The measured part, in its own process (`--measure`, sites from the environment). */
async function measure(sliceMs: number): Promise<Result> {
  const sites = JSON.parse(process.env['BENCH_SITES'] ?? '[]') as [Site, Site];
  const drivers = sites.map((s, i) => minioDriver(s, { name: `s${String(i)}`, timeoutMs: 60_000 }));
  const baseRssMiB = process.memoryUsage().rss / 2 ** 20;
  const listers = new Map<string, ListPage>(
    drivers.map((d, i) => [
      `s${String(i)}`,
      (after, s) => d.listVersionPage(BUCKET, { after, maxKeys: 1000 }, s),
    ]),
  );
  let checkpoint = { trees: {} } as Parameters<typeof verifyBucketSlice>[2];
  let findings = 0;
  let slices = 0;
  const listed = { s0: 0, s1: 0 };
  const t0 = performance.now();
  for (;;) {
    slices++;
    const r = await verifyBucketSlice(BUCKET, listers, checkpoint, {
      order: ['s0', 's1'],
      deadline: Date.now() + sliceMs,
      now: Date.now,
      signal,
      onFinding: () => {
        findings++;
      },
    });
    listed.s0 += r.listed['s0'] ?? 0;
    listed.s1 += r.listed['s1'] ?? 0;
    // The operator saves the checkpoint as JSON between slices: so does this.
    checkpoint = JSON.parse(JSON.stringify(r.checkpoint)) as typeof checkpoint;
    if (r.done) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  const roots = rootsOf(checkpoint, ['s0', 's1']);
  for (const d of drivers) d.close();
  return {
    versionsPerSite: Math.min(listed.s0, listed.s1),
    seconds,
    slices,
    findings,
    equal: roots.get('s0') === roots.get('s1'),
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    baseRssMiB,
  };
}

/** Runs the measurement in a fresh process (with V8's old space capped at `heapMiB`). */
function measureIn(sites: Site[], sliceMs: number, heapMiB: number | undefined): Promise<Result> {
  const cap = heapMiB === undefined ? [] : [`--max-old-space-size=${String(heapMiB)}`];
  return new Promise<Result>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...cap,
        ...process.execArgv,
        process.argv[1] ?? '',
        '--measure',
        '--slice-ms',
        String(sliceMs),
      ],
      {
        env: { ...process.env, BENCH_SITES: JSON.stringify(sites) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(text) as Result);
      else reject(new Error(`the measuring process exited with ${String(code)}`));
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      versions: { type: 'string', default: '100000' },
      'slice-ms': { type: 'string', default: '20000' },
      measure: { type: 'boolean', default: false },
    },
  });
  const sliceMs = Number(values['slice-ms']);
  if (values.measure) {
    process.stdout.write(JSON.stringify(await measure(sliceMs)));
    return;
  }
  const versions = Number(values.versions);
  const [a, b] = await Promise.all([
    startThrowawayMinio('vbench-a'),
    startThrowawayMinio('vbench-b'),
  ]);
  try {
    const f0 = performance.now();
    await Promise.all([fill(a, versions), fill(b, versions)]);
    const fillSeconds = (performance.now() - f0) / 1000;
    const sites = [a, b].map(({ endpoint, accessKey, secretKey, ca }) => ({
      endpoint,
      accessKey,
      secretKey,
      ca,
    }));
    const rows: string[] = [];
    // Twice: as the operator runs by default, then with V8's old space capped, which shows
    // how much the verification needs live (the first peak is V8's choice of heap size).
    for (const heap of [undefined, 64]) {
      const r = await measureIn(sites, sliceMs, heap);
      const rate = r.versionsPerSite / r.seconds;
      rows.push(
        `| ${heap === undefined ? 'default' : `${String(heap)} MiB`} | ${String(r.versionsPerSite)} | ${r.seconds.toFixed(1)} s | ${String(r.slices)} | ${rate.toFixed(0)} | ${String(r.findings)} | ${String(r.equal)} | ${r.maxRssMiB.toFixed(0)} MiB (${r.baseRssMiB.toFixed(0)} MiB) |`,
      );
    }
    process.stdout.write(
      [
        `Filled ${String(versions)} versions on each of two sites in ${fillSeconds.toFixed(0)} s.`,
        '',
        `| old-space cap | versions per site | verified in | slices | versions/s per site | findings | equal roots | peak RSS (baseline) |`,
        `| --- | --- | --- | --- | --- | --- | --- | --- |`,
        ...rows,
        ``,
        `${String(cpus().length)} CPUs, load ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}; node ${process.version}`,
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

await main();
