/**
 * Propagation latency: a change made on one site (not the seed) — a bucket policy, a new user,
 * a new canned policy, a group membership (the round's new user joins a group), a service
 * account (of the round's new user), a new bucket — and the time until every other site shows
 * it, polled every `pollMs` (default 50 ms) on each site independently. Changes start at a
 * random moment so they sample every phase of the resync.
 */
import { HeadBucketCommand, ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3';

import type { MinioSiteClient } from '../../src/sites/minio/minio-site-client.js';
import { sleep } from '../../test/support/processes.js';
import { publicReadPolicy, s3For } from '../../test/support/seed.js';
import { siteClient } from './seed.js';
import { round } from './stats.js';
import type { BenchServer } from './workspace.js';

export type ChangeKind =
  'bucket-policy' | 'new-user' | 'new-policy' | 'group-member' | 'service-account' | 'new-bucket';
/** In the order of a round: the membership and the service account need the round's user. */
export const CHANGE_KINDS: readonly ChangeKind[] = [
  'bucket-policy',
  'new-user',
  'new-policy',
  'group-member',
  'service-account',
  'new-bucket',
];

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
  server: BenchServer;
}

/** Whether a service account's keys are known to the site (any answer but an unknown key). */
async function signsIn(c: Clients, accessKey: string): Promise<boolean> {
  const s3 = s3For(c.server, { accessKey, secretKey: `${accessKey}-secret-key` });
  try {
    await s3.send(new ListBucketsCommand({}));
    return true;
  } catch (e: unknown) {
    const name = (e as { name?: string }).name ?? '';
    return name !== 'InvalidAccessKeyId' && name !== 'SignatureDoesNotMatch';
  } finally {
    s3.destroy();
  }
}

interface Change {
  write(c: Clients): Promise<void>;
  visible(c: Clients): Promise<boolean>;
}

const POLICY_BUCKET = 'bucket-0001';
const GROUP = 'lat-group';

const yes = () => true;
const no = () => false;

function change(kind: ChangeKind, tag: string, user: string): Change {
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
    case 'new-policy':
      return {
        write: (c) =>
          c.site.putPolicy(tag, {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['s3:GetObject'],
                Resource: [`arn:aws:s3:::${POLICY_BUCKET}/${tag}/*`],
              },
            ],
          }),
        visible: (c) => c.site.admin.getCannedPolicy(tag).then(yes, no),
      };
    case 'group-member':
      return {
        write: (c) =>
          c.site.admin.updateGroupMembers({ group: GROUP, members: [user], isRemove: false }),
        visible: async (c) =>
          (await c.site.admin.getGroupDescription(GROUP).catch(() => undefined))?.members.includes(
            user,
          ) ?? false,
      };
    case 'service-account':
      // Written without reading MinIO's answer and checked by signing in with the account:
      // the admin API's answers about service accounts are argon2id-encrypted, which would
      // cost the benchmark client hundreds of ms per call on a busy machine.
      return {
        write: (c) =>
          c.site.admin.createServiceAccount({
            targetUser: user,
            accessKey: tag,
            secretKey: `${tag}-secret-key`,
          }),
        visible: (c) => signsIn(c, tag),
      };
    case 'new-bucket':
      return {
        write: (c) => c.site.createBucket(tag),
        visible: (c) => c.s3.send(new HeadBucketCommand({ Bucket: tag })).then(yes, no),
      };
  }
}

async function firstVisible(
  c: Clients,
  ch: Change,
  t0: number,
  opts: { timeoutMs: number; pollMs: number },
) {
  for (;;) {
    if (await ch.visible(c)) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > opts.timeoutMs) {
      throw new Error(`not visible on ${c.name} after ${String(opts.timeoutMs)} ms`);
    }
    await sleep(opts.pollMs);
  }
}

let counter = 0;

const short: Record<ChangeKind, string> = {
  'bucket-policy': 'pol',
  'new-user': 'user',
  'new-policy': 'cpol',
  'group-member': 'member',
  'service-account': 'sa',
  'new-bucket': 'bucket',
};

/** `reps` changes of each kind on servers[1], each seen on every other site. */
export async function measureLatency(
  servers: readonly BenchServer[],
  opts: {
    reps: number;
    maxDelayMs: number;
    timeoutMs: number;
    log: (m: string) => void;
    pollMs?: number | undefined;
  },
): Promise<LatencySample[]> {
  const poll = { timeoutMs: opts.timeoutMs, pollMs: opts.pollMs ?? 50 };
  const clients: Clients[] = servers.map((s) => ({
    name: s.name,
    site: siteClient(s),
    s3: s3For(s),
    server: s,
  }));
  const [seed, source, ...rest] = clients;
  if (!seed || !source) throw new Error('latency needs two sites');
  const others = [seed, ...rest];
  const out: LatencySample[] = [];
  try {
    for (let r = 0; r < opts.reps; r++) {
      let user = '';
      for (const kind of CHANGE_KINDS) {
        await sleep(Math.random() * opts.maxDelayMs);
        const tag = `lat-${short[kind]}-${String(++counter)}`;
        if (kind === 'new-user') user = tag;
        const ch = change(kind, tag, user);
        const t0 = performance.now();
        await ch.write(source);
        const writeSeconds = (performance.now() - t0) / 1000;
        const seen = await Promise.all(others.map((c) => firstVisible(c, ch, t0, poll)));
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
