/**
 * Propagation latency: a change made on one site (not the seed) — a bucket policy, a new user,
 * a new bucket — and the time until every other site shows it, polled every 50 ms on each site
 * independently. Changes start at a random moment so they sample every phase of the resync.
 */
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';

import type { MinioSiteClient } from '../../src/sites/minio/minio-site-client.js';
import { sleep } from '../../test/support/processes.js';
import { publicReadPolicy, s3For } from '../../test/support/seed.js';
import { siteClient } from './seed.js';
import { round } from './stats.js';
import type { BenchServer } from './workspace.js';

export type ChangeKind = 'bucket-policy' | 'new-user' | 'new-bucket';
export const CHANGE_KINDS: readonly ChangeKind[] = ['bucket-policy', 'new-user', 'new-bucket'];

export interface LatencySample {
  kind: ChangeKind;
  seconds: number;
  /** How long the write itself took on the source site. */
  writeSeconds: number;
}

interface Clients {
  name: string;
  site: MinioSiteClient;
  s3: S3Client;
}

interface Change {
  write(c: Clients): Promise<void>;
  visible(c: Clients): Promise<boolean>;
}

const POLICY_BUCKET = 'bucket-0001';

const yes = () => true;
const no = () => false;

function change(kind: ChangeKind, tag: string): Change {
  switch (kind) {
    case 'bucket-policy':
      return {
        write: (c) => c.site.putBucketPolicy(POLICY_BUCKET, publicReadPolicy(POLICY_BUCKET, tag)),
        visible: async (c) => (await c.site.getBucketPolicy(POLICY_BUCKET))?.includes(tag) ?? false,
      };
    case 'new-user':
      return {
        write: (c) => c.site.putUser(tag, { secretKey: `${tag}-secret-key`, status: 'enabled' }),
        visible: (c) => c.site.admin.getUserInfo(tag).then(yes, no),
      };
    case 'new-bucket':
      return {
        write: (c) => c.site.createBucket(tag),
        visible: (c) => c.s3.send(new HeadBucketCommand({ Bucket: tag })).then(yes, no),
      };
  }
}

async function firstVisible(c: Clients, ch: Change, t0: number, timeoutMs: number) {
  for (;;) {
    if (await ch.visible(c)) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`not visible on ${c.name} after ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}

let counter = 0;

const short: Record<ChangeKind, string> = {
  'bucket-policy': 'pol',
  'new-user': 'user',
  'new-bucket': 'bucket',
};

/** `reps` changes of each kind on servers[1], each seen on every other site. */
export async function measureLatency(
  servers: readonly BenchServer[],
  opts: { reps: number; maxDelayMs: number; timeoutMs: number; log: (m: string) => void },
): Promise<LatencySample[]> {
  const clients: Clients[] = servers.map((s) => ({
    name: s.name,
    site: siteClient(s),
    s3: s3For(s),
  }));
  const [seed, source, ...rest] = clients;
  if (!seed || !source) throw new Error('latency needs two sites');
  const others = [seed, ...rest];
  const out: LatencySample[] = [];
  try {
    for (let r = 0; r < opts.reps; r++) {
      for (const kind of CHANGE_KINDS) {
        await sleep(Math.random() * opts.maxDelayMs);
        const ch = change(kind, `lat-${short[kind]}-${++counter}`);
        const t0 = performance.now();
        await ch.write(source);
        const writeSeconds = (performance.now() - t0) / 1000;
        const seen = await Promise.all(others.map((c) => firstVisible(c, ch, t0, opts.timeoutMs)));
        out.push({ kind, seconds: round(Math.max(...seen)), writeSeconds: round(writeSeconds) });
      }
      const last = out.slice(-CHANGE_KINDS.length);
      opts.log(
        `    round ${r + 1}/${opts.reps}: ${last.map((s) => `${s.kind} ${s.seconds.toFixed(2)} s`).join(', ')}`,
      );
    }
  } finally {
    for (const c of clients) {
      c.site.close();
      c.s3.destroy();
    }
  }
  return out;
}
