/**
 * Convergence as a user would check it: every site is listed on its own (bucket list, IAM and
 * bucket-metadata exports, object versions), never through the operator or its status. Sites
 * are equal when their buckets, bucket configurations and IAM match, every seeded bucket and
 * IAM entity is there, and every bucket holding objects lists the same versions everywhere.
 */
import { canonicalJSON } from '../../src/replication/digest.js';
import { canonicalPolicy } from '../../src/replication/policy.js';
import type { SiteSnapshot } from '../../src/sites/snapshot.js';
import { sleep } from '../../test/support/processes.js';
import type { SeedTemplate } from './seed.js';
import { siteClient } from './seed.js';
import { type BenchServer, assertAlive } from './workspace.js';

/** Names the tools create for themselves (sitesync's replicator, MinIO's site replicator). */
const internal = (n: string) => n.startsWith('sitesync-') || n.startsWith('site-replicator');

type Put = (k: string, v: unknown) => void;

function bucketEntities(s: SiteSnapshot, put: Put): void {
  for (const b of s.buckets.values()) {
    put(`bucket:${b.name}`, { versioning: b.versioning, objectLock: b.objectLock });
    put(`bucket:${b.name}/policy`, b.policy === undefined ? undefined : canonicalPolicy(b.policy));
    put(`bucket:${b.name}/tags`, b.tags && Object.keys(b.tags).length > 0 ? b.tags : undefined);
    put(`bucket:${b.name}/object-lock`, b.objectLockConfig);
    put(`bucket:${b.name}/encryption`, b.encryption);
  }
}

function iamEntities(s: SiteSnapshot, put: Put): void {
  const iam = s.iam;
  const mine = <V>(m: Map<string, V>) => [...m].filter(([n]) => !internal(n));
  for (const [n, d] of mine(iam.policies)) put(`policy:${n}`, canonicalPolicy(d));
  for (const [n, u] of mine(iam.users)) put(`user:${n}`, u);
  for (const [n, g] of iam.groups) put(`group:${n}`, [g.status, g.members]);
  for (const [n, p] of mine(iam.userPolicies)) put(`mapping:user:${n}`, p.policies);
  for (const [n, p] of iam.groupPolicies) put(`mapping:group:${n}`, p.policies);
  for (const [ak, sa] of iam.serviceAccounts) {
    if (iam.users.has(sa.parent) && !internal(sa.parent)) {
      put(`svcacct:${ak}`, [sa.parent, sa.status, sa.secretKey]);
    }
  }
}

/** A site's replicated state as `entity key -> canonical value` (tools' own entities left out). */
export function entityMap(s: SiteSnapshot): Map<string, string> {
  const m = new Map<string, string>();
  const put: Put = (k, v) => {
    if (v !== undefined) m.set(k, canonicalJSON(v));
  };
  bucketEntities(s, put);
  iamEntities(s, put);
  return m;
}

/** Keys whose value differs between two entity maps (missing on either side included). */
export function entityDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}

/** What a site must hold at least: every seeded bucket (versioned) and IAM entity. */
function holdsSeed(s: SiteSnapshot, seed: SeedTemplate): string | undefined {
  const missing = seed.buckets.filter((b) => s.buckets.get(b)?.versioning !== 'Enabled').length;
  if (missing > 0) return `${s.site}: ${missing} seeded buckets missing or unversioned`;
  const users = [...s.iam.users.keys()].filter((u) => u.startsWith('user-')).length;
  const groups = [...s.iam.groups.keys()].filter((g) => g.startsWith('group-')).length;
  const policies = [...s.iam.policies.keys()].filter((p) => p.startsWith('policy-')).length;
  const sas = [...s.iam.serviceAccounts.keys()].filter((a) => a.startsWith('svc-')).length;
  const want = seed.iam;
  if (
    users < want.users ||
    groups < want.groups ||
    policies < want.policies ||
    sas < want.serviceAccounts
  ) {
    return `${s.site}: IAM ${users}/${want.users} users, ${groups}/${want.groups} groups, ${policies}/${want.policies} policies, ${sas}/${want.serviceAccounts} service accounts`;
  }
  return undefined;
}

async function snapshot(server: BenchServer): Promise<SiteSnapshot> {
  const c = siteClient(server);
  try {
    return await c.snapshot();
  } finally {
    c.close();
  }
}

/** undefined `why` when every site holds the same state (then `agreed` is that state). */
export async function metadataDiff(
  servers: readonly BenchServer[],
  seed: SeedTemplate,
): Promise<{ why?: string; agreed?: Map<string, string> }> {
  const snaps = await Promise.all(servers.map(snapshot));
  for (const s of snaps) {
    const why = holdsSeed(s, seed);
    if (why) return { why };
  }
  const [first, ...rest] = snaps.map(entityMap);
  if (!first) return { why: 'no sites' };
  for (const [i, r] of rest.entries()) {
    const d = entityDiff(first, r);
    if (d.length > 0) {
      const names = `${servers[i + 1]?.name ?? '?'} differs from ${servers[0]?.name ?? '?'}`;
      return { why: `${names} in ${d.length} entities, e.g. ${d.slice(0, 3).join(', ')}` };
    }
  }
  return { agreed: first };
}

async function versions(server: BenchServer, bucket: string): Promise<string[]> {
  const c = siteClient(server);
  try {
    const list = await c.listObjectVersions(bucket);
    return list.map((v) => `${v.key}@${v.versionId}${v.deleteMarker ? '#dm' : ''}`).sort();
  } finally {
    c.close();
  }
}

/** undefined when every object bucket lists the same, complete set of versions on every site. */
export async function objectsDiff(
  servers: readonly BenchServer[],
  seed: SeedTemplate,
): Promise<string | undefined> {
  for (const [bucket, n] of seed.objectBuckets) {
    const lists = await Promise.all(servers.map((s) => versions(s, bucket)));
    for (const [i, l] of lists.entries()) {
      const data = l.filter((v) => v.startsWith('data/')).length;
      if (data < n) return `${servers[i]?.name ?? '?'}/${bucket}: ${data}/${n} objects`;
      if (canonicalJSON(l) !== canonicalJSON(lists[0])) {
        return `${servers[i]?.name ?? '?'}/${bucket}: versions differ`;
      }
    }
  }
  return undefined;
}

export interface Convergence {
  /**
   * Seed entities (bucket configs, IAM) that the sites agree on but whose value is not the
   * seeded one (lost or changed on the way): should be empty.
   */
  lostFromSeed: string[];
  /** Seconds from t0 until buckets, configs and IAM were verified equal on every site. */
  metadataSeconds: number;
  /** Seconds from t0 until everything, objects included, was verified equal. */
  seconds: number;
  /** Duration of the last (successful) full verification: the resolution of `seconds`. */
  verifySeconds: number;
  checks: number;
}

/**
 * Polls until every site is verified equal; times are taken when a verification that found
 * them equal ends (an upper bound, at most `verifySeconds` late). Throws after `timeoutMs`.
 */
export async function waitConverged(
  servers: readonly BenchServer[],
  seed: SeedTemplate,
  opts: { t0: number; timeoutMs: number; pollMs?: number; log?: (m: string) => void },
): Promise<Convergence> {
  const deadline = opts.t0 + opts.timeoutMs;
  const since = () => (performance.now() - opts.t0) / 1000;
  let checks = 0;
  let metadataSeconds: number | undefined;
  let last = '';
  let lastLog = 0;
  while (performance.now() < deadline) {
    const started = performance.now();
    checks++;
    assertAlive(servers);
    const r = await check(servers, seed);
    if (r.agreed && r.why === undefined) {
      return {
        lostFromSeed: entityDiff(seed.expected, r.agreed).map(
          (k) => `${k}: ${seed.expected.get(k) ?? '(absent)'} -> ${r.agreed?.get(k) ?? '(absent)'}`,
        ),
        metadataSeconds: metadataSeconds ?? since(),
        seconds: since(),
        verifySeconds: (performance.now() - started) / 1000,
        checks,
      };
    }
    if (r.agreed) metadataSeconds ??= since();
    last = r.why ?? '';
    if (opts.log && performance.now() - lastLog > 30_000) {
      lastLog = performance.now();
      opts.log(`    … ${since().toFixed(0)} s: ${last}`);
    }
    // Listing every site is itself load on the servers: keep it to at most half the time.
    await sleep(Math.max(opts.pollMs ?? 500, performance.now() - started));
  }
  throw new Error(`not converged after ${(opts.timeoutMs / 1000).toFixed(0)} s: ${last}`);
}

/** One verification: metadata first, objects only once the metadata agrees. */
async function check(
  servers: readonly BenchServer[],
  seed: SeedTemplate,
): Promise<{ why?: string | undefined; agreed?: Map<string, string> }> {
  try {
    const m = await metadataDiff(servers, seed);
    if (!m.agreed) return m;
    return { agreed: m.agreed, why: await objectsDiff(servers, seed) };
  } catch (e: unknown) {
    return { why: `listing failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}
