/**
 * The object copier against `rclone copy` (Debian's rclone): the same data between the same two
 * servers, in one run, each on a fresh destination bucket. Objects/s and MiB/s, wall-clock from
 * the start of the copy until the tool is done (the copier: one pass; rclone: its process).
 * rclone copies current objects only; the copier is also timed on a history (versions and
 * delete markers), which rclone cannot carry.
 *
 *   npx tsx bench/copier.ts [--small N] [--small-kib K] [--large N] [--large-mib M]
 *                           [--transfers T] [--pairs minio-moto,minio-minio]
 *
 * Needs the stack (`make stack-up`: the throwaway servers share its KMS key) and rclone
 * (`hack/system-deps.sh --bench`). Prints a Markdown table; bench/README.md keeps the figures.
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { Readable } from 'node:stream';

import { mapLimit } from '../src/runtime/concurrency.js';
import type { SiteClient } from '../src/sites/site-client.js';
import { MemoryCheckpointStore } from '../src/transfer/checkpoint-store.js';
import { ObjectCopier } from '../src/transfer/copier.js';
import { minioDriver, startThrowawayMinio } from '../test/support/minio.js';
import { s3Driver, startThrowawayMoto } from '../test/support/moto.js';

const MiB = 1024 * 1024;
const signal = new AbortController().signal;

interface Server {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  stop(): Promise<void>;
}

interface Side {
  label: string;
  server: Server;
  client: SiteClient;
  provider: string;
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  return Number.isFinite(v) && v > 0 ? v : def;
}

const plan = {
  small: arg('small', 1000),
  smallKiB: arg('small-kib', 16),
  large: arg('large', 4),
  largeMiB: arg('large-mib', 64),
  transfers: arg('transfers', 8),
};
const pairsArg = process.argv[process.argv.indexOf('--pairs') + 1];
const pairs = (process.argv.includes('--pairs') && pairsArg ? pairsArg : 'minio-moto,minio-minio')
  .split(',')
  .filter(Boolean);

async function side(kind: string, label: string): Promise<Side> {
  if (kind === 'moto') {
    const server = await startThrowawayMoto('bench-copier');
    return {
      label,
      server,
      client: s3Driver(server, { name: label, timeoutMs: 120_000 }),
      provider: 'Other',
    };
  }
  const server = await startThrowawayMinio('bench-copier');
  return {
    label,
    server,
    client: minioDriver(server, { name: label, timeoutMs: 120_000 }),
    provider: 'Minio',
  };
}

async function bucket(s: Side, name: string) {
  await s.client.createBucket(name, {}, signal);
  await s.client.enableVersioning(name, signal);
}

async function put(s: Side, ref: { bucket: string; key: string }, size: number, seed: number) {
  const chunk = Buffer.alloc(Math.min(size, MiB), seed % 251);
  const chunks = function* () {
    for (let left = size; left > 0; left -= chunk.length)
      yield chunk.subarray(0, Math.min(left, chunk.length));
  };
  await s.client.putObject(
    ref,
    {
      body: Readable.from(chunks()),
      size,
      attributes: { metadata: { seed: String(seed) }, tags: {} },
    },
    { multipartThreshold: 64 * MiB, partSize: 16 * MiB },
    signal,
  );
}

/** The source data: `small` objects of `smallKiB`, `large` of `largeMiB`; `history` adds a version and a delete marker per small key. */
async function seed(src: Side, b: string, history: boolean) {
  await bucket(src, b);
  const small = Array.from({ length: plan.small }, (_, i) => `small/${String(i).padStart(6, '0')}`);
  await mapLimit(small, 16, (k, i) => put(src, { bucket: b, key: k }, plan.smallKiB * 1024, i));
  for (let i = 0; i < plan.large; i++)
    await put(src, { bucket: b, key: `large/${i}` }, plan.largeMiB * MiB, i);
  if (!history) return;
  await mapLimit(small, 16, async (k, i) => {
    await put(src, { bucket: b, key: k }, plan.smallKiB * 1024, i + 1);
    await src.client.putDeleteMarker({ bucket: b, key: k }, signal);
  });
}

function rcloneEnv(name: string, s: Side): Record<string, string> {
  const p = `RCLONE_CONFIG_${name.toUpperCase()}_`;
  return {
    [`${p}TYPE`]: 's3',
    [`${p}PROVIDER`]: s.provider,
    [`${p}ENDPOINT`]: s.server.endpoint,
    [`${p}ACCESS_KEY_ID`]: s.server.accessKey,
    [`${p}SECRET_ACCESS_KEY`]: s.server.secretKey,
    [`${p}REGION`]: 'us-east-1',
    [`${p}FORCE_PATH_STYLE`]: 'true',
  };
}

async function rclone(src: Side, dst: Side, from: string, to: string): Promise<number> {
  const started = performance.now();
  const child = spawn(
    'rclone',
    [
      'copy',
      `src:${from}`,
      `dst:${to}`,
      '--transfers',
      String(plan.transfers),
      '--checkers',
      String(plan.transfers * 2),
      '--s3-upload-cutoff',
      '64M',
      '--s3-chunk-size',
      '16M',
      '--s3-no-check-bucket',
    ],
    {
      env: { PATH: process.env['PATH'] ?? '', ...rcloneEnv('src', src), ...rcloneEnv('dst', dst) },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`rclone exited ${String(code)}: ${err.slice(-2000)}`);
  return (performance.now() - started) / 1000;
}

/** The copier copies a bucket to the bucket of the same name on the destination. */
async function copier(
  src: Side,
  dst: Side,
  from: string,
): Promise<{ seconds: number; versions: number }> {
  const c = new ObjectCopier({
    source: src.client,
    destination: dst.client,
    bucket: from,
    store: new MemoryCheckpointStore(),
    options: {
      mode: 'one-way',
      concurrency: plan.transfers,
      partSize: 16 * MiB,
      multipartThreshold: 64 * MiB,
    },
  });
  const started = performance.now();
  const r = await c.runPass(signal);
  if (r.failed > 0) throw new Error(`copier failures: ${JSON.stringify(r.failures.slice(0, 3))}`);
  return { seconds: (performance.now() - started) / 1000, versions: r.copied + r.deleteMarkers };
}

interface Row {
  pair: string;
  tool: string;
  data: string;
  objects: number;
  mib: number;
  seconds: number;
}

const fmt = (n: number, d = 1) => n.toFixed(d);

async function runPair(pair: string, rows: Row[]) {
  const [a = 'minio', b = 'moto'] = pair.split('-');
  const src = await side(a, 'src');
  const dst = await side(b, 'dst');
  try {
    const latestMiB = (plan.small * plan.smallKiB) / 1024 + plan.large * plan.largeMiB;
    const objects = plan.small + plan.large;
    await seed(src, 'plain', false);
    // rclone first, then the copier, each to a fresh bucket of its own on the destination.
    await bucket(dst, 'by-rclone');
    const rc = await rclone(src, dst, 'plain', 'by-rclone');
    rows.push({
      pair,
      tool: 'rclone copy',
      data: 'current objects',
      objects,
      mib: latestMiB,
      seconds: rc,
    });
    await bucket(dst, 'plain');
    const cp = await copier(src, dst, 'plain');
    rows.push({
      pair,
      tool: 'sitesync copier',
      data: 'current objects',
      objects: cp.versions,
      mib: latestMiB,
      seconds: cp.seconds,
    });
    await seed(src, 'history', true);
    await bucket(dst, 'history');
    const hist = await copier(src, dst, 'history');
    rows.push({
      pair,
      tool: 'sitesync copier',
      data: 'history (+1 version, +1 delete marker per small key)',
      objects: hist.versions,
      mib: latestMiB + (plan.small * plan.smallKiB) / 1024,
      seconds: hist.seconds,
    });
  } finally {
    src.client.close();
    dst.client.close();
    await Promise.all([src.server.stop(), dst.server.stop()]);
  }
}

async function main() {
  const rows: Row[] = [];
  const load = loadavg()[0] ?? 0;
  for (const pair of pairs) await runPair(pair, rows);
  console.log(
    `Copier vs rclone, ${new Date().toISOString().slice(0, 10)}: ${plan.small} × ${plan.smallKiB} KiB + ${plan.large} × ${plan.largeMiB} MiB, ${plan.transfers} transfers at once; ${cpus().length} CPUs, load ${fmt(load, 2)} at start\n`,
  );
  console.log('| servers | tool | data | versions | MiB | seconds | objects/s | MiB/s |');
  console.log('|---|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.pair.replace('-', ' → ')} | ${r.tool} | ${r.data} | ${r.objects} | ${fmt(r.mib, 0)} | ${fmt(r.seconds)} | ${fmt(r.objects / r.seconds)} | ${fmt(r.mib / r.seconds)} |`,
    );
  }
}

await main();
