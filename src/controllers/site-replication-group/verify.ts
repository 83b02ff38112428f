/**
 * Object verification, a slice per pass: when one is due, the run is read from its checkpoint
 * (a ConfigMap the group owns), continued for at most `sliceMs` (bucket by bucket, every site
 * listed in step), and saved again; the pass then reports its progress. A large bucket takes
 * many passes, and a restarted operator goes on where the checkpoint stands.
 */
import { parseDuration } from '../../api/common.js';
import { VERIFY_ANNOTATION } from '../../api/names.js';
import { CONFIGMAPS, type KubeClient, isNotFound } from '../../runtime/kube-client.js';
import { type OwnedMeta, leftByPredecessor } from '../../runtime/meta.js';
import { errorMessage } from '../../runtime/logger.js';
import { FIELD_MANAGER } from '../../runtime/status.js';
import { isSiteError } from '../../sites/site-error.js';
import { replicatesNatively } from './coverage.js';
import { reachable } from './observe.js';
import type { Pass } from './pass.js';
import { priorityOrder } from './plan.js';
import type { Owner } from './state.js';
import { type ListPage, rootsOf, verifyBucketSlice } from './verify-bucket.js';
import {
  type SiteTally,
  type VerifyRun,
  completeIfDone,
  decodeRun,
  failRun,
  finishBucket,
  newRun,
  noteFinding,
  noteListed,
  sameRun,
  verifyDue,
} from './verify-run.js';

const checkpointName = (group: string) => `${group}-sitesync-verify`;
const RUN_KEY = 'run.json';
/** Versions per listing page (S3's most). */
const PAGE = 1000;

interface ConfigMap extends OwnedMeta {
  data?: Record<string, string>;
}

/** The group's checkpoint; none when absent or left by a deleted group of the same name. */
export async function loadRun(
  kube: KubeClient,
  group: { namespace: string; name: string },
  uid: string,
): Promise<VerifyRun | undefined> {
  try {
    const cm = await kube.get<ConfigMap>(CONFIGMAPS, group.namespace, checkpointName(group.name));
    if (leftByPredecessor(cm, uid)) return undefined;
    return decodeRun(cm.data?.[RUN_KEY]);
  } catch (e: unknown) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function saveRun(kube: KubeClient, owner: Owner, run: VerifyRun): Promise<void> {
  const name = checkpointName(owner.name);
  await kube.patch(
    CONFIGMAPS,
    { namespace: owner.namespace, name },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: owner.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'sitesync', 'sitesync.io/group': owner.name },
        ownerReferences: [
          {
            apiVersion: owner.apiVersion,
            kind: 'SiteReplicationGroup',
            name: owner.name,
            uid: owner.uid,
            controller: true,
          },
        ],
      },
      data: { [RUN_KEY]: JSON.stringify(run) },
    },
    { patchType: 'apply', fieldManager: FIELD_MANAGER, force: true },
  );
}

export interface VerifyOptions {
  /** Time one pass may spend listing. */
  sliceMs: number;
  now: () => Date;
}

/** The run a pass should work on: the checkpoint's, or a new one. Undefined: none is due. */
async function currentRun(
  pass: Pass,
  buckets: readonly string[],
  now: Date,
): Promise<VerifyRun | undefined> {
  const interval = pass.spec.verify.interval;
  const due = verifyDue({
    annotation: pass.obj.metadata.annotations?.[VERIFY_ANNOTATION],
    lastVerify: pass.obj.status?.lastVerify,
    intervalMs: interval === undefined ? undefined : parseDuration(interval),
    last: pass.obj.status?.verification,
    now,
  });
  if (!due) return undefined;
  // Copies made by the object copier get version IDs of their own: only sites that replicate
  // natively can be compared version by version.
  const sites = priorityOrder(pass)
    .filter(replicatesNatively)
    .map((o) => o.site.name);
  const saved = await loadRun(pass.kube, pass.ref, pass.obj.metadata.uid ?? '');
  if (sameRun(saved, due, sites)) return saved;
  const last = pass.obj.status?.verification;
  return newRun({
    requested: due.requested,
    sites,
    buckets,
    now,
    estimate: last?.phase === 'Completed' ? last.versionsCompared : undefined,
  });
}

/** One slice of the current bucket; false when the run must wait for the next pass. */
async function sliceOnce(
  pass: Pass,
  run: VerifyRun,
  listers: (bucket: string) => Map<string, ListPage>,
  deadline: number,
): Promise<boolean> {
  const bucket = run.buckets[run.next] ?? '';
  // Findings of a slice count only if the slice's checkpoint is kept.
  const tally: Record<string, SiteTally> = structuredClone(run.tally);
  const r = await verifyBucketSlice(bucket, listers(bucket), run.bucket ?? { trees: {} }, {
    order: run.sites,
    deadline,
    now: Date.now,
    signal: pass.ctx.signal,
    onFinding: (kind, f) => {
      noteFinding(tally, bucket, kind, f);
    },
  });
  run.tally = tally;
  noteListed(run, r.listed);
  run.bucket = r.checkpoint;
  if (r.done) finishBucket(run, rootsOf(r.checkpoint, run.sites));
  return true;
}

/**
 * Works on the due verification for at most `sliceMs`, saves its checkpoint and returns it
 * (undefined when none is due). A site that cannot be listed now makes the run wait; a listing
 * that cannot be compared (out of order, a key with too many versions) fails it.
 */
export async function stepVerification(
  pass: Pass,
  buckets: readonly string[],
  opts: VerifyOptions,
): Promise<VerifyRun | undefined> {
  const start = opts.now();
  const run = await currentRun(pass, buckets, start);
  if (run?.phase !== 'Running') return run;
  const clients = new Map(reachable(pass.observed).map((o) => [o.site.name, o.client] as const));
  const away = run.sites.filter((s) => !clients.has(s));
  if (away.length > 0) {
    run.message = `Waiting for ${away.join(', ')}: not reachable`;
  } else {
    run.message = undefined;
    const listers = (bucket: string) =>
      new Map(
        run.sites.map((s) => [
          s,
          ((after, signal) =>
            clients.get(s)?.listVersionPage(bucket, { after, maxKeys: PAGE }, signal) ??
            Promise.reject(new Error(`${s} is not reachable`))) satisfies ListPage,
        ]),
      );
    const deadline = Date.now() + opts.sliceMs;
    try {
      while (run.next < run.buckets.length && Date.now() < deadline) {
        await sliceOnce(pass, run, listers, deadline);
      }
      completeIfDone(run, opts.now());
    } catch (e: unknown) {
      pass.ctx.signal.throwIfAborted();
      const bucket = run.buckets[run.next] ?? '';
      if (isSiteError(e)) run.message = `${bucket}: ${errorMessage(e)}; retrying`;
      else failRun(run, `${bucket}: ${errorMessage(e)}`, opts.now());
    }
  }
  await saveRun(pass.kube, ownerOf(pass), run);
  return run;
}

function ownerOf(pass: Pass): Owner {
  return { ...pass.ref, uid: pass.obj.metadata.uid ?? '', apiVersion: pass.obj.apiVersion };
}
