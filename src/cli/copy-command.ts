/**
 * `sitesync copy` and `sitesync partitions`: the object copier from the command line, the
 * same code the operator runs, so that a bulk copy can be cut into key ranges and each range
 * run as a Kubernetes Job (docs/s3-flavor.md). Sites are named on the command line and
 * described by the environment (a Job gets them from its spec and a mounted Secret):
 *
 *   SITESYNC_SITE_<NAME>_ENDPOINT, SITESYNC_SITE_<NAME>_FLAVOR (minio|s3, default minio),
 *   SITESYNC_SITE_<NAME>_REGION (default us-east-1), and the credentials either as
 *   SITESYNC_SITE_<NAME>_ACCESS_KEY / _SECRET_KEY or as files `accessKey` and `secretKey` in the
 *   directory SITESYNC_SITE_<NAME>_CREDENTIALS_DIR (a mounted Secret).
 *
 * <NAME> is the site name upper-cased, `-` as `_`. The checkpoint is a ConfigMap in
 * --checkpoint-namespace, reached through KUBECONFIG or the in-cluster service account
 * (light-kube.ts: this command does not load @kubernetes/client-node).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { type KeyRange, KeyRangeSchema } from '../replication/copy-checkpoint.js';
import { splitKeyRange } from '../replication/key-range.js';
import { newSiteClient } from '../sites/new-site-client.js';
import type { SiteClient, SiteConnection } from '../sites/site-client.js';
import { ConfigMapCheckpointStore } from '../transfer/configmap-checkpoint-store.js';
import {
  type CopierOptions,
  CopierPreconditionError,
  ObjectCopier,
  type PassReport,
} from '../transfer/copier.js';
import { keyVersions } from '../transfer/key-listing.js';
import { KubeConfigError, kubeTarget, lightConfigMapApi } from './light-kube.js';

export const COPY_USAGE = `Usage: sitesync copy --bucket B --source SITE --destination SITE --checkpoint-namespace NS
                     [--partition JSON | --after KEY --until KEY] [--mode one-way|two-way]
                     [--concurrency N] [--bytes-per-second N] [--multipart-threshold BYTES]
                     [--part-size BYTES] [--batch-keys N] [--passes N]
       sitesync partitions --bucket B --site SITE --parts N

copy: copies every object version and delete marker of bucket B (or of its key range
(after, until]) from SITE to SITE, with metadata, tags, content type, retention and legal hold,
resuming from the checkpoint ConfigMap in NS. Prints one JSON line per checkpointed batch and
one per pass. Exit status: 0 done, 1 some versions failed (they are retried by the next run),
2 usage error, 3 a precondition failed (unversioned bucket, unreadable checkpoint).
partitions: prints N key ranges of about equal key counts, one JSON object per line, each a
--partition value for a copy Job.

Sites come from the environment: SITESYNC_SITE_<NAME>_ENDPOINT, _FLAVOR (minio|s3), _REGION,
and _ACCESS_KEY/_SECRET_KEY or _CREDENTIALS_DIR (files accessKey, secretKey).`;

export interface CopyIO {
  out(line: string): void;
  err(line: string): void;
  env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): string;
}

export interface CopyArgs {
  kind: 'copy';
  bucket: string;
  source: string;
  destination: string;
  namespace: string;
  range: KeyRange;
  passes: number;
  options: Partial<CopierOptions>;
}

export interface PartitionArgs {
  kind: 'partitions';
  bucket: string;
  site: string;
  parts: number;
}

export type ParsedCopy =
  CopyArgs | PartitionArgs | { kind: 'usage'; message: string } | { kind: 'help' };

class UsageError extends Error {}

const SITE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function int(values: Record<string, unknown>, name: string, max: number): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new UsageError(`--${name} must be a whole number from 1 to ${max}`);
  }
  return n;
}

function need(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

function siteName(values: Record<string, unknown>, name: string): string {
  const v = need(values, name);
  if (!SITE_NAME.test(v)) throw new UsageError(`--${name} must be a site name (a DNS label)`);
  return v;
}

function rangeOf(values: Record<string, unknown>): KeyRange {
  const p = values['partition'];
  if (typeof p === 'string') {
    if (values['after'] !== undefined || values['until'] !== undefined) {
      throw new UsageError('--partition and --after/--until exclude each other');
    }
    let json: unknown;
    try {
      json = JSON.parse(p);
    } catch {
      throw new UsageError('--partition must be a JSON object like {"after":"k1","until":"k2"}');
    }
    const r = KeyRangeSchema.strict().safeParse(json);
    if (!r.success) throw new UsageError(`--partition: ${r.error.issues[0]?.message ?? ''}`);
    return r.data;
  }
  const after = values['after'];
  const until = values['until'];
  return {
    ...(typeof after === 'string' ? { after } : {}),
    ...(typeof until === 'string' ? { until } : {}),
  };
}

function copierOptions(values: Record<string, unknown>): Partial<CopierOptions> {
  const mode = values['mode'] ?? 'one-way';
  if (mode !== 'one-way' && mode !== 'two-way') {
    throw new UsageError('--mode must be one-way or two-way');
  }
  const out: Partial<CopierOptions> = { mode };
  const set = (k: keyof CopierOptions, flag: string, max: number) => {
    const v = int(values, flag, max);
    if (v !== undefined) Object.assign(out, { [k]: v });
  };
  set('concurrency', 'concurrency', 256);
  set('bytesPerSecond', 'bytes-per-second', 2 ** 40);
  set('multipartThreshold', 'multipart-threshold', 5 * 2 ** 40);
  set('partSize', 'part-size', 5 * 2 ** 30);
  set('batchKeys', 'batch-keys', 10_000);
  return out;
}

const OPTIONS = {
  bucket: { type: 'string' },
  source: { type: 'string' },
  destination: { type: 'string' },
  site: { type: 'string' },
  parts: { type: 'string' },
  'checkpoint-namespace': { type: 'string' },
  partition: { type: 'string' },
  after: { type: 'string' },
  until: { type: 'string' },
  mode: { type: 'string' },
  concurrency: { type: 'string' },
  'bytes-per-second': { type: 'string' },
  'multipart-threshold': { type: 'string' },
  'part-size': { type: 'string' },
  'batch-keys': { type: 'string' },
  passes: { type: 'string' },
} as const;

/** Parses `copy ...` or `partitions ...` (the command word first). */
export function parseCopyArgs(argv: readonly string[]): ParsedCopy {
  if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help' };
  try {
    const { values } = parseArgs({
      args: argv.slice(1),
      options: OPTIONS,
      allowPositionals: false,
    });
    const v = values as Record<string, unknown>;
    const bucket = need(v, 'bucket');
    if (argv[0] === 'partitions') {
      const parts = int(v, 'parts', 10_000);
      if (parts === undefined) throw new UsageError('--parts is required');
      return { kind: 'partitions', bucket, site: siteName(v, 'site'), parts };
    }
    return {
      kind: 'copy',
      bucket,
      source: siteName(v, 'source'),
      destination: siteName(v, 'destination'),
      namespace: need(v, 'checkpoint-namespace'),
      range: rangeOf(v),
      passes: int(v, 'passes', 1000) ?? 1,
      options: copierOptions(v),
    };
  } catch (e: unknown) {
    return { kind: 'usage', message: e instanceof Error ? e.message : String(e) };
  }
}

/** The connection of site `name` from the environment; throws a UsageError naming what lacks. */
export function siteFromEnv(name: string, io: CopyIO): SiteConnection {
  const prefix = `SITESYNC_SITE_${name.toUpperCase().replace(/-/g, '_')}_`;
  const get = (k: string) => {
    const v = io.env[prefix + k];
    return v === undefined || v === '' ? undefined : v;
  };
  const endpoint = get('ENDPOINT');
  if (endpoint === undefined) throw new UsageError(`${prefix}ENDPOINT is not set`);
  if (!/^https?:\/\//.test(endpoint)) {
    throw new UsageError(`${prefix}ENDPOINT must be an http or https URL`);
  }
  const flavor = get('FLAVOR') ?? 'minio';
  if (flavor !== 'minio' && flavor !== 's3')
    throw new UsageError(`${prefix}FLAVOR must be minio or s3`);
  const dir = get('CREDENTIALS_DIR');
  const fromDir = (file: string) => {
    if (dir === undefined) return undefined;
    try {
      return io.readFile(join(dir, file)).trim();
    } catch {
      throw new UsageError(`${prefix}CREDENTIALS_DIR has no readable file ${file}`);
    }
  };
  const accessKey = fromDir('accessKey') ?? get('ACCESS_KEY');
  const secretKey = fromDir('secretKey') ?? get('SECRET_KEY');
  if (!accessKey || !secretKey) {
    throw new UsageError(
      `site ${name}: set ${prefix}ACCESS_KEY and _SECRET_KEY, or ${prefix}CREDENTIALS_DIR`,
    );
  }
  return {
    name,
    flavor,
    endpoint,
    region: get('REGION') ?? 'us-east-1',
    accessKey,
    secretKey,
    timeoutMs: 60_000,
  };
}

const reportLine = (r: PassReport, pass: number) =>
  JSON.stringify({
    pass,
    bucket: r.route.bucket,
    source: r.route.source,
    destination: r.route.destination,
    range: r.route.range,
    copied: r.copied,
    deleteMarkers: r.deleteMarkers,
    skippedReplicas: r.skippedReplicas,
    bytes: r.bytes,
    failed: r.failed,
    pending: r.pending,
    lagSeconds: r.lagSeconds,
    conflicts: r.conflicts,
    failures: r.failures,
    maxRssBytes: peakRssBytes(),
  });

/**
 * Peak resident set size of this process so far: VmHWM where /proc exists. getrusage's ru_maxrss
 * is not used there: Linux carries it across execve, so a process spawned by a large parent
 * reports the parent's size at fork time.
 */
function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // no procfs: fall back to getrusage
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function runCopy(args: CopyArgs, io: CopyIO, signal: AbortSignal): Promise<number> {
  const api = lightConfigMapApi(kubeTarget(io.env, (p) => io.readFile(p)));
  const sites: SiteClient[] = [];
  try {
    const source = newSiteClient(siteFromEnv(args.source, io));
    sites.push(source);
    const destination = newSiteClient(siteFromEnv(args.destination, io));
    sites.push(destination);
    const copier = new ObjectCopier({
      source,
      destination,
      bucket: args.bucket,
      range: args.range,
      store: new ConfigMapCheckpointStore(api, args.namespace),
      options: args.options,
      onProgress: (r) => {
        io.out(JSON.stringify({ batch: true, copied: r.copied, bytes: r.bytes, failed: r.failed }));
      },
    });
    let failed = 0;
    for (let pass = 1; pass <= args.passes; pass++) {
      const r = await copier.runPass(signal);
      io.out(reportLine(r, pass));
      failed = r.failed;
    }
    return failed > 0 ? 1 : 0;
  } finally {
    for (const s of sites) s.close();
    await api.close();
  }
}

async function runPartitions(args: PartitionArgs, io: CopyIO, signal: AbortSignal) {
  const site = newSiteClient(siteFromEnv(args.site, io));
  try {
    const keys: string[] = [];
    const listing = keyVersions(site, { bucket: args.bucket, range: {}, pageSize: 1000, signal });
    for await (const k of listing) keys.push(k.key);
    for (const r of splitKeyRange(keys, args.parts)) io.out(JSON.stringify(r));
    return 0;
  } finally {
    site.close();
  }
}

/** Runs `copy` or `partitions`; returns the exit status. */
export async function copyMain(
  argv: readonly string[],
  io: CopyIO,
  signal: AbortSignal,
): Promise<number> {
  const args = parseCopyArgs(argv);
  try {
    switch (args.kind) {
      case 'help':
        io.out(COPY_USAGE);
        return 0;
      case 'usage':
        io.err(`sitesync: ${args.message}`);
        io.err(COPY_USAGE);
        return 2;
      case 'partitions':
        return await runPartitions(args, io, signal);
      case 'copy':
        return await runCopy(args, io, signal);
    }
  } catch (e: unknown) {
    if (e instanceof UsageError || e instanceof KubeConfigError) {
      io.err(`sitesync: ${e.message}`);
      return 2;
    }
    if (
      e instanceof CopierPreconditionError ||
      (e instanceof Error && e.name === 'CheckpointDecodeError')
    ) {
      io.err(`sitesync: ${e.message}`);
      return 3;
    }
    throw e;
  }
}

export const defaultCopyIO = (): CopyIO => ({
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  readFile: (p) => readFileSync(p, 'utf8'),
});
