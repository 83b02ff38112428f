/**
 * Acting on the source bucket: versioning on, the managed destinations (bucket, versioning,
 * remote target), the merged document when it differs, existing-object resyncs, and removal
 * of the targets it created that no rule uses any more. A failure is recorded as a problem of
 * the pass, naming the site; an aborted pass is thrown.
 */
import { BREP_RESOURCE, RESYNC_ANNOTATION } from '../../api/names.js';
import type { ReplicationConfig } from '../../replication/replication-config.js';
import { buildReplicationXML } from '../../replication/xml-codec.js';
import type { Why } from '../../runtime/kstatus.js';
import { FIELD_MANAGER, sameJSON } from '../../runtime/status.js';
import type { RemoteTargetMeta } from '../../sites/snapshot.js';
import { isSiteError, siteErrorReason } from '../../sites/site-error.js';
import {
  documentDigest,
  existingObjectTargets,
  foreignRules,
  mergeWithGroupRules,
  parseCurrent,
  S3_READ_BACK_REWRITES,
  s3ReadBackForm,
  sameDocument,
  targetsToResync,
  unusedTargets,
} from './document.js';
import { type Pass, whereOf } from './pass.js';
import { type ConnectDeps, type Connected, connect } from './source.js';
import type { BrepOutcome } from './status.js';
import {
  type DestinationKey,
  type EnsuredTarget,
  destinationId,
  ensureDestinationBucket,
  ensureRemoteTarget,
  findTarget,
  removeTargets,
} from './targets.js';
import { TARGET_CREDENTIALS_ANNOTATION, loadAccounts } from './account.js';
import {
  type ReplicationAccount,
  accountWorks,
  ensureAccount,
} from '../../sites/replication-account.js';
import { describeError } from '../../runtime/messages.js';

/**
 * The remote targets this resource created on its source bucket (a JSON list of ARNs). Kept in
 * an annotation, not in status: status must be reconstructable, and this is what the finalizer
 * may delete. Targets that already existed are used and never listed here.
 */
export const OWNED_TARGETS_ANNOTATION = 'sitesync.io/remote-targets';

export function ownedTargets(obj: { metadata: { annotations?: Record<string, string> } }) {
  const raw = obj.metadata.annotations?.[OWNED_TARGETS_ANNOTATION];
  if (raw === undefined) return [];
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** A failure of a site call as a problem of the pass (rethrows when the pass is aborted). */
export function siteProblem(pass: Pass, e: unknown, context: string): Why {
  pass.ctx.signal.throwIfAborted();
  return { reason: siteErrorReason(e), message: `${context}: ${describeError(e)}` };
}

/**
 * Replication needs versioning on the source: enable it, or say why it cannot be. Returns
 * whether it is on, or a blocker when the bucket does not exist.
 */
export async function ensureSourceVersioning(pass: Pass): Promise<Why | boolean> {
  const { client } = pass.src;
  const { signal } = pass.ctx;
  const bucket = pass.spec.source.bucket;
  try {
    if ((await client.getVersioning(bucket, signal)) === 'Enabled') return true;
  } catch (e: unknown) {
    if (!isSiteError(e, 'NotFound')) {
      pass.problems.push(siteProblem(pass, e, `source ${whereOf(pass)}`));
      return false;
    }
    return {
      reason: 'BucketNotFound',
      message: `spec.source.bucket: bucket ${bucket} does not exist on site ${pass.src.site.name}; the operator never creates a source bucket`,
    };
  }
  try {
    await client.enableVersioning(bucket, signal);
    pass.changes.push(`enabled versioning on ${whereOf(pass)}`);
    return true;
  } catch (e: unknown) {
    signal.throwIfAborted();
    pass.problems.push({
      reason: 'VersioningUnavailable',
      message: `versioning cannot be enabled on ${whereOf(pass)}, and replication requires it: ${describeError(e)}`,
    });
    return false;
  }
}

/** The managed destinations every rule names, each bucket on each site once. */
function destinations(pass: Pass): Map<string, DestinationKey[]> {
  const bySite = new Map<string, DestinationKey[]>();
  for (const r of pass.config.rules) {
    const site = r.destination.site;
    if (site === undefined) continue;
    const key = { site: site.name, bucket: site.bucket ?? pass.spec.source.bucket };
    const list = bySite.get(site.name) ?? [];
    if (!list.some((k) => k.bucket === key.bucket)) list.push(key);
    bySite.set(site.name, list);
  }
  return bySite;
}

/**
 * Records the targets this resource owns and the keys each holds (a fingerprint), in its
 * annotations: only what changed, in one merge patch.
 */
export async function recordOwned(
  pass: Pass,
  arns: readonly string[],
  credentials: Readonly<Record<string, string>> = pass.credentials,
): Promise<void> {
  const next = [...new Set(arns)].sort();
  const creds = Object.fromEntries(
    Object.entries(credentials)
      .filter(([arn]) => next.includes(arn))
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  if (sameJSON(next, [...pass.owned].sort()) && sameJSON(creds, pass.credentials)) return;
  const json = (v: object, empty: boolean) => (empty ? null : JSON.stringify(v));
  await pass.kube.patch(
    BREP_RESOURCE,
    pass.ref,
    {
      metadata: {
        annotations: {
          [OWNED_TARGETS_ANNOTATION]: json(next, next.length === 0),
          [TARGET_CREDENTIALS_ANNOTATION]: json(creds, Object.keys(creds).length === 0),
        },
      },
    },
    { patchType: 'merge', fieldManager: FIELD_MANAGER },
  );
  pass.owned = next;
  pass.credentials = creds;
}

/** What one destination site needs for its buckets: the connection and the account there. */
interface Destination {
  connected: Connected;
  account: ReplicationAccount;
  /** Set once the account was seen to work (or was written) in this pass. */
  accountReady?: boolean;
}

/**
 * The replication account works on the destination (one S3 call with its own keys), or is
 * written there (user, policy, mapping): a new account, a rotated secret, or a site that lost it.
 */
async function ensureDestinationAccount(
  pass: Pass,
  dest: Destination,
  bucket: string,
  deps: ConnectDeps,
): Promise<void> {
  if (dest.accountReady === true) return;
  const { signal } = pass.ctx;
  const asAccount = deps.newSite({
    ...dest.connected.conn,
    accessKey: dest.account.user,
    secretKey: dest.account.secretKey,
  });
  try {
    if (!(await accountWorks(asAccount, bucket, signal))) {
      pass.changes.push(...(await ensureAccount(dest.connected.client, dest.account, signal)));
    }
  } finally {
    asAccount.close();
  }
  dest.accountReady = true;
}

async function prepareDestination(
  pass: Pass,
  dest: Destination,
  key: DestinationKey,
  ctx: { targets: readonly RemoteTargetMeta[]; deps: ConnectDeps },
): Promise<EnsuredTarget | undefined> {
  const id = destinationId(key);
  const { signal } = pass.ctx;
  try {
    pass.changes.push(...(await ensureDestinationBucket(dest.connected, key.bucket, signal)));
    await ensureDestinationAccount(pass, dest, key.bucket, ctx.deps);
    const source = {
      client: pass.src.client,
      bucket: pass.spec.source.bucket,
      targets: ctx.targets,
      owned: pass.owned,
      credentials: pass.credentials,
    };
    const t = await ensureRemoteTarget(
      source,
      { connected: dest.connected, bucket: key.bucket, account: dest.account },
      signal,
    );
    if (t.created) pass.changes.push(`created remote target on ${whereOf(pass)} for ${id}`);
    else if (t.credentials !== undefined) {
      pass.changes.push(
        `gave the remote target on ${whereOf(pass)} for ${id} the replication account's keys`,
      );
    }
    return t;
  } catch (e: unknown) {
    pass.problems.push(siteProblem(pass, e, `destination ${id}`));
    // The link exists and the destination is down: keep the rule (the source queues and
    // retries), and keep reporting what waits.
    const existing = findTarget(ctx.targets, dest.connected, key.bucket);
    return existing === undefined ? undefined : { arn: existing.arn, created: false };
  }
}

/**
 * Destination buckets, replication accounts and remote targets; returns the ARN of each
 * destination it could make.
 */
export async function prepareDestinations(
  pass: Pass,
  deps: ConnectDeps,
): Promise<Map<string, string>> {
  const arns = new Map<string, string>();
  const bySite = destinations(pass);
  if (bySite.size === 0) return arns;
  let targets;
  try {
    targets = await pass.src.client.listRemoteTargets(pass.spec.source.bucket, pass.ctx.signal);
  } catch (e: unknown) {
    pass.problems.push(siteProblem(pass, e, `remote targets of ${whereOf(pass)}`));
    return arns;
  }
  const accounts = await loadAccounts(pass.kube, pass.obj, [...bySite.keys()]);
  const created: string[] = [];
  const credentials = { ...pass.credentials };
  for (const [name, keys] of bySite) {
    const site = pass.source.group?.spec.sites.find((s) => s.name === name);
    const account = accounts.get(name);
    if (site === undefined || account === undefined) continue; // validateForSource checked it
    const connected = await connect(deps, pass.ref.namespace, pass.source, site);
    if (!connected.ok) {
      pass.problems.push(connected.why);
      continue;
    }
    const dest: Destination = { connected: connected.value, account };
    try {
      for (const key of keys) {
        const t = await prepareDestination(pass, dest, key, { targets, deps });
        if (t === undefined) continue;
        arns.set(destinationId(key), t.arn);
        if (t.created) created.push(t.arn);
        if (t.credentials !== undefined) credentials[t.arn] = t.credentials;
      }
    } finally {
      connected.value.client.close();
    }
  }
  await recordOwned(pass, [...pass.owned, ...created], credentials);
  return arns;
}

async function put(
  pass: Pass,
  current: ReplicationConfig,
  own: ReplicationConfig,
  desired: ReplicationConfig,
): Promise<void> {
  const bucket = pass.spec.source.bucket;
  const { signal } = pass.ctx;
  await pass.src.client.putReplicationConfigXML(bucket, buildReplicationXML(desired), signal, {
    expectedBucketOwner: pass.spec.source.expectedBucketOwner,
    objectLockToken: pass.spec.objectLockToken,
  });
  const replaced = foreignRules(current, own);
  pass.changes.push(
    `put replication configuration (${own.rules.length} rule(s)) on ${whereOf(pass)}` +
      (replaced.length > 0 ? `, replacing rule(s) not declared here: ${replaced.join(', ')}` : ''),
  );
  pass.ctx.log.info(
    { site: pass.src.site.name, bucket, rules: own.rules.length },
    'Applied replication configuration of BucketReplication',
  );
  for (const arn of targetsToResync(current, own)) {
    try {
      await pass.src.client.resyncTarget(bucket, arn, signal);
      pass.changes.push(`started replication of existing objects to ${arn}`);
    } catch (e: unknown) {
      signal.throwIfAborted();
      pass.problems.push({
        reason: 'ResyncFailed',
        message: `existing objects of ${whereOf(pass)} were not queued for ${arn} (MinIO's scanner will still replicate them, later): ${describeError(e)}`,
      });
    }
  }
}

async function dropUnusedTargets(pass: Pass, desired: ReplicationConfig): Promise<void> {
  const unused = unusedTargets(pass.owned, desired);
  if (unused.length === 0) return;
  try {
    const bucket = pass.spec.source.bucket;
    const removed = await removeTargets(pass.src.client, bucket, unused, pass.ctx.signal);
    await recordOwned(
      pass,
      pass.owned.filter((a) => !removed.includes(a)),
    );
    pass.changes.push(`removed ${removed.length} remote target(s) no rule uses`);
  } catch (e: unknown) {
    pass.problems.push(siteProblem(pass, e, `remote targets of ${whereOf(pass)}`));
  }
}

/**
 * Puts the merged document when the bucket holds anything else, then resyncs and drops
 * unused targets. Returns what is applied, or undefined when it could not be.
 */
export async function applyDocument(
  pass: Pass,
  own: ReplicationConfig,
): Promise<BrepOutcome['applied']> {
  const missing = own.rules.filter((r) => r.destination.bucket === undefined).length;
  if (missing > 0) return undefined; // the problems say which destination failed
  const { client, site } = pass.src;
  const bucket = pass.spec.source.bucket;
  let current: ReplicationConfig;
  try {
    current = parseCurrent(await client.getReplicationConfigXML(bucket, pass.ctx.signal));
  } catch (e: unknown) {
    pass.problems.push(siteProblem(pass, e, `replication configuration of ${whereOf(pass)}`));
    return undefined;
  }
  const desired = mergeWithGroupRules(own, current);
  // An AWS-compatible source may read the document back rewritten (moto does): compare it in
  // the form the site shows, and say which elements cannot be verified there.
  const readBack =
    site.flavor === 's3' ? s3ReadBackForm(desired, current) : { config: desired, rewrites: [] };
  if (!sameDocument(current, readBack.config, site.flavor)) {
    try {
      await put(pass, current, own, desired);
    } catch (e: unknown) {
      pass.problems.push(siteProblem(pass, e, `PutBucketReplication on ${whereOf(pass)}`));
      return undefined;
    }
  }
  await dropUnusedTargets(pass, desired);
  return {
    digest: documentDigest(desired, site.flavor),
    rules: own.rules.length,
    where: whereOf(pass),
    unverified: readBack.rewrites.map((k) => S3_READ_BACK_REWRITES[k]),
  };
}

/**
 * The `sitesync.io/resync` annotation with a value not acted on yet: a replication reset of
 * every target an Enabled rule with ExistingObjectReplication reaches, so MinIO replicates
 * again every object version the destinations lack. Returns the value once all started.
 */
export async function resyncOnRequest(
  pass: Pass,
  own: ReplicationConfig,
): Promise<string | undefined> {
  const value = pass.obj.metadata.annotations?.[RESYNC_ANNOTATION];
  if (value === undefined || value === pass.obj.status?.lastResync) return undefined;
  const targets = [...existingObjectTargets(own)].sort();
  if (targets.length === 0) {
    pass.problems.push({
      reason: 'ResyncNotPossible',
      message: `${RESYNC_ANNOTATION}: no Enabled rule has existingObjectReplication Enabled, which MinIO requires to replicate existing objects again`,
    });
    return undefined;
  }
  const bucket = pass.spec.source.bucket;
  for (const arn of targets) {
    try {
      await pass.src.client.resyncTarget(bucket, arn, pass.ctx.signal);
    } catch (e: unknown) {
      pass.ctx.signal.throwIfAborted();
      pass.problems.push({
        reason: 'ResyncFailed',
        message: `${RESYNC_ANNOTATION}: replication of the existing objects of ${whereOf(pass)} to ${arn} did not start: ${describeError(e)}`,
      });
      return undefined;
    }
  }
  pass.changes.push(
    `resync ${JSON.stringify(value)}: replicating the existing objects of ${whereOf(pass)} again to ${targets.length} target(s)`,
  );
  return value;
}
