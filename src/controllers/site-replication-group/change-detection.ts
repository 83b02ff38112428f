/**
 * `spec.changeDetection: events` for the group controller: each site reports its changes
 * (a named target per group, `sitesync-<group uid>`, posting to the operator's receiver with
 * the group's token), and a reconcile that finds hints pending runs a targeted pass instead of
 * observing everything. Without a receiver, events mode works as poll (status says so).
 *
 * A targeted pass needs a clean full observation of the same generation within the sync
 * interval; anything else (no such observation, a catch-up asked for, a site that fails or
 * changed identity in the targeted read, a failed write) makes the reconcile a full one. The
 * full observation every syncInterval stays the safety net.
 */
import { randomBytes } from 'node:crypto';

import { RECOVER_ANNOTATION, RESYNC_ANNOTATION } from '../../api/names.js';
import { parseDuration } from '../../api/common.js';
import type { ChangeDetectionStatus } from '../../api/site-replication-group.js';
import type { DigestKey } from '../../replication/secret-digest.js';
import type { ObjectRef, ReconcileResult } from '../../runtime/controller.js';
import { type KubeClient, SECRETS, isNotFound } from '../../runtime/kube-client.js';
import { leftByPredecessor } from '../../runtime/meta.js';
import type { Logger } from '../../runtime/logger.js';
import { errorMessage } from '../../runtime/logger.js';
import type { Secret } from '../../runtime/secrets.js';
import type { ChangeFeedTarget } from '../../sites/change-feed.js';
import {
  LEGACY_REPLICATOR_USER,
  replicationAccountNames,
} from '../../sites/replication-account.js';
import { isSiteError } from '../../sites/site-error.js';
import type { SiteSnapshot } from '../../sites/snapshot.js';
import type { ChangeHints, HintSite, OwnIdentities, PendingChanges } from './change-hints.js';
import type { Entity } from './entities.js';
import { type Reachable, reachable } from './observe.js';
import type { Pass } from './pass.js';
import { type CachedGroup, targetedPass } from './targeted-pass.js';

/** Groups whose last clean observation is kept for targeted passes (least recently used out). */
const MAX_CACHED_GROUPS = 64;
/** A site counts as reporting when a report came within this long (or twice the interval). */
const REPORTING_WINDOW_MS = 60_000;

export interface ChangeDetectionOptions {
  hints: ChangeHints;
  /** The receiver's base URL as the sites reach it (`https://host:port`); undefined: none. */
  receiverURL?: string | undefined;
  log?: Logger | undefined;
  now?: (() => number) | undefined;
  /** Counts passes by kind (`full`, `targeted`) and why. */
  passRan?: ((group: ObjectRef, kind: 'full' | 'targeted', reason: string) => void) | undefined;
}

/** The target's name on a site: one per group (UIDs never repeat). */
export const targetName = (uid: string) => `sitesync-${uid}`;
const tokenSecretName = (group: string) => `${group}-sitesync-hints`;

/**
 * The access keys the operator's own writes on a site come from (one place, see isOwnWrite):
 * its login and the group's replication account (`groupUid`), or the fixed one of earlier
 * versions.
 */
export function ownIdentities(o: Reachable, groupUid: string): OwnIdentities {
  const replicator = replicationAccountNames(groupUid).user;
  return {
    operatorAccessKey: o.conn.accessKey,
    replicators: new Set([replicator, LEGACY_REPLICATOR_USER]),
  };
}

const annotationsOf = (pass: { obj: Pass['obj'] }) =>
  JSON.stringify([
    pass.obj.metadata.annotations?.[RESYNC_ANNOTATION] ?? null,
    pass.obj.metadata.annotations?.[RECOVER_ANNOTATION] ?? null,
  ]);

export interface BeforeInput {
  pass: Omit<Pass, 'observed' | 'agreed' | 'entities' | 'identity' | 'removed' | 'digestKey'>;
  /** The group's digest key (read by a targeted pass only, together with the sites). */
  digestKey: () => Promise<DigestKey>;
  entityMaps: (pass: Pass) => (snap: SiteSnapshot) => Map<string, Entity>;
  concurrency: number;
  changesApplied?: ((action: string, n: number) => void) | undefined;
}

/**
 * Where a change's time went before and in its targeted pass (ms, logged): from the call on
 * the site to its report's arrival (`deliveredMs`, the site's clock), from the arrival to the
 * pass's start (`queuedMs`: debounce and queue), the pass itself (`passMs`).
 */
export function timingsOf(
  pending: PendingChanges,
  startedAt: number,
  endedAt: number,
): Record<string, number> {
  const out: Record<string, number> = { passMs: endedAt - startedAt };
  if (pending.firstAt !== undefined) {
    out['queuedMs'] = startedAt - pending.firstAt;
    if (pending.changedAt !== undefined) out['deliveredMs'] = pending.firstAt - pending.changedAt;
  }
  return out;
}

export class ChangeDetection {
  private readonly cache = new Map<string, CachedGroup>();
  private readonly tokens = new Map<string, { uid: string; token: string }>();
  /** `group|site` → what was subscribed there (target and deployment). */
  private readonly subscribed = new Map<string, string>();
  /** `group|site` → why the site does not report (shown in status). */
  private readonly problems = new Map<string, string>();
  /** What each full pass's writes read back, by site (undefined: the read failed). */
  private readonly readBacks = new WeakMap<Pass, Map<string, SiteSnapshot | undefined>>();
  private readonly now: () => number;

  constructor(private readonly opts: ChangeDetectionOptions) {
    this.now = opts.now ?? Date.now;
  }

  get hints(): ChangeHints {
    return this.opts.hints;
  }

  /**
   * Before observing: a targeted pass when hints are pending and allow it (its result), or
   * undefined for a full observation.
   */
  async before(input: BeforeInput): Promise<ReconcileResult | undefined> {
    const { pass } = input;
    const key = `${pass.ref.namespace}/${pass.ref.name}`;
    const taken = this.opts.hints.take(key);
    const why = this.whyFull(input, key, taken);
    if (why !== undefined) {
      // Expected full passes at debug; one that displaces a targeted pass says why at info.
      const level = why === 'poll' || why === 'scheduled' ? 'debug' : 'info';
      pass.ctx.log[level]({ why }, 'Observing every site');
      this.opts.passRan?.(pass.ref, 'full', why);
      return undefined;
    }
    const cached = this.cache.get(key);
    if (!cached || !taken.pending) return undefined;
    const startedAt = this.now();
    const out = await targetedPass({
      pass,
      cached,
      pending: taken.pending,
      digestKey: input.digestKey,
      entityMaps: input.entityMaps,
      concurrency: input.concurrency,
      changesApplied: input.changesApplied,
      now: this.now(),
    });
    if (!out.done) {
      this.cache.delete(key);
      pass.ctx.log.info({ why: out.why }, 'Could not run a targeted pass; observing every site');
      this.opts.passRan?.(pass.ref, 'full', 'targeted-failed');
      return undefined;
    }
    this.opts.passRan?.(pass.ref, 'targeted', 'hints');
    if (out.result.backoff === true) this.cache.delete(key);
    else this.remember(key, { ...cached, sites: out.sites });
    pass.ctx.log.info(
      {
        sites: [...taken.pending.sites],
        iam: taken.pending.iam,
        buckets: taken.pending.buckets.size,
        changes: out.changes,
        ...(out.failed.length > 0 ? { failed: out.failed } : {}),
        ...timingsOf(taken.pending, startedAt, this.now()),
        ...out.timings,
      },
      'Ran targeted pass of SiteReplicationGroup',
    );
    return out.result;
  }

  private whyFull(
    input: BeforeInput,
    key: string,
    taken: ReturnType<ChangeHints['take']>,
  ): string | undefined {
    const { pass } = input;
    if (pass.spec.changeDetection !== 'events') return 'poll';
    if (taken.catchUp) return `catch-up-${taken.catchUp}`;
    if (!taken.pending) return 'scheduled';
    const cached = this.cache.get(key);
    if (!cached) return 'no-clean-observation';
    if (
      cached.uid !== (pass.obj.metadata.uid ?? '') ||
      cached.generation !== (pass.obj.metadata.generation ?? 0) ||
      cached.annotations !== annotationsOf(pass)
    ) {
      return 'changed';
    }
    if (this.now() - cached.fullAt >= parseDuration(pass.spec.syncInterval)) return 'due';
    return undefined;
  }

  private remember(key: string, cached: CachedGroup): void {
    this.cache.delete(key);
    this.cache.set(key, cached);
    while (this.cache.size > MAX_CACHED_GROUPS) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }

  /**
   * Before a full pass writes: each site it writes to is read back whole (as before), and that
   * snapshot is kept, so that a pass whose writes all held leaves a current view of the sites
   * for the targeted passes that follow.
   */
  keepReadBacks(pass: Pass): void {
    const backs = new Map<string, SiteSnapshot | undefined>();
    this.readBacks.set(pass, backs);
    pass.readBack = async (o) => {
      backs.set(o.site.name, undefined);
      const snap = await o.client.snapshot(pass.ctx.signal);
      backs.set(o.site.name, snap);
      return snap;
    };
  }

  /** The sites as they are after the pass's writes; undefined when one was not read back. */
  private current(pass: Pass): Reachable[] | undefined {
    const backs = this.readBacks.get(pass);
    const out: Reachable[] = [];
    for (const o of reachable(pass.observed)) {
      if (!backs?.has(o.site.name)) out.push(o);
      else {
        const snap = backs.get(o.site.name);
        if (snap?.deploymentID !== o.snap.deploymentID) return undefined;
        out.push({ ...o, snap });
      }
    }
    return out;
  }

  /**
   * After a full observation (before its status is written): keep it (with what its writes
   * read back) for targeted passes when it was clean (every site read, every write held, no
   * peer link changed), and make every reachable site report to the group (or stop
   * reporting).
   */
  async afterFull(pass: Pass, opts: { clean: boolean; startedAt: number }): Promise<void> {
    const key = `${pass.ref.namespace}/${pass.ref.name}`;
    const ok = reachable(pass.observed);
    const current = opts.clean ? this.current(pass) : undefined;
    // A paused group keeps its sites reporting (its hints are dropped until it resumes).
    const events = pass.spec.changeDetection === 'events';
    const everySite = ok.length === pass.spec.sites.length;
    if (events && current && everySite) {
      this.remember(key, {
        uid: pass.obj.metadata.uid ?? '',
        generation: pass.obj.metadata.generation ?? 0,
        annotations: annotationsOf(pass),
        fullAt: opts.startedAt,
        sites: new Map(current.map((o) => [o.site.name, o] as const)),
      });
    } else {
      this.cache.delete(key);
    }
    if (!events) {
      await this.stopReporting(pass, key);
      return;
    }
    const token = await this.token(pass);
    const sites = new Map<string, HintSite>(
      ok.map(
        (o) =>
          [
            o.snap.deploymentID,
            { name: o.site.name, own: ownIdentities(o, pass.obj.metadata.uid ?? pass.ref.name) },
          ] as const,
      ),
    );
    this.opts.hints.register(
      { uid: pass.obj.metadata.uid ?? '', key, token, observedAt: opts.startedAt },
      sites,
    );
    if (this.opts.receiverURL !== undefined) await this.subscribe(pass, key, ok, token);
  }

  /** `status.changeDetection` of the group. */
  status(pass: Pass): ChangeDetectionStatus {
    // Every field is always written: status is merge-patched, a field left out would stay.
    if (pass.spec.changeDetection !== 'events') {
      return { mode: 'poll', sites: [], message: 'spec.changeDetection is poll' };
    }
    const key = `${pass.ref.namespace}/${pass.ref.name}`;
    const names = pass.spec.sites.map((s) => s.name);
    if (this.opts.receiverURL === undefined) {
      return {
        mode: 'poll',
        sites: [],
        message:
          'No change receiver is configured (chart value changeReceiver.enabled, CHANGE_RECEIVER_URL): changes are found every syncInterval',
      };
    }
    const window = Math.max(REPORTING_WINDOW_MS, 2 * parseDuration(pass.spec.syncInterval));
    const reporting = this.opts.hints.reportingSites(key, this.now() - window);
    const problems = names
      .map((n) => this.problems.get(`${key}|${n}`))
      .filter((m): m is string => m !== undefined);
    const silent = names.filter((n) => !reporting.includes(n) && !this.problems.has(`${key}|${n}`));
    if (silent.length > 0) {
      problems.push(
        `${silent.join(', ')}: no report reached the operator yet; the site must reach ${this.opts.receiverURL ?? ''} and trust its certificate (MinIO: the CA in its certs/CAs directory)`,
      );
    }
    return {
      mode: reporting.length > 0 ? 'events' : 'poll',
      sites: reporting,
      message:
        problems.length > 0
          ? problems.join('; ').slice(0, 1024)
          : 'Every site reports its changes to the operator',
    };
  }

  /** The group's bearer token, from its Secret (created the first time). */
  private async token(pass: Pass): Promise<string> {
    const key = `${pass.ref.namespace}/${pass.ref.name}`;
    const uid = pass.obj.metadata.uid ?? '';
    const known = this.tokens.get(key);
    if (known?.uid === uid) return known.token;
    const name = tokenSecretName(pass.ref.name);
    let token: string | undefined;
    try {
      const s = await pass.kube.get<Secret>(SECRETS, pass.ref.namespace, name);
      // A deleted namesake's token is not this group's: a new one replaces it (apply, owner too).
      const v = leftByPredecessor(s, uid) ? undefined : s.data?.['token'];
      token = v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
    } catch (e: unknown) {
      if (!isNotFound(e)) throw e;
    }
    if (token === undefined || token.length < 32) {
      token = randomBytes(32).toString('base64url');
      await pass.kube.patch(
        SECRETS,
        { namespace: pass.ref.namespace, name },
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name,
            namespace: pass.ref.namespace,
            labels: {
              'app.kubernetes.io/managed-by': 'sitesync',
              'sitesync.io/group': pass.ref.name,
            },
            ownerReferences: [
              {
                apiVersion: pass.obj.apiVersion,
                kind: pass.obj.kind,
                name: pass.ref.name,
                uid,
                controller: true,
              },
            ],
          },
          type: 'Opaque',
          data: { token: Buffer.from(token).toString('base64') },
        },
        { patchType: 'apply', fieldManager: 'sitesync-operator', force: true },
      );
    }
    this.tokens.set(key, { uid, token });
    return token;
  }

  private target(pass: Pass, token: string): ChangeFeedTarget {
    const uid = pass.obj.metadata.uid ?? '';
    return {
      name: targetName(uid),
      endpoint: `${this.opts.receiverURL ?? ''}/v1/hints/${uid}`,
      token,
    };
  }

  private async subscribe(pass: Pass, key: string, ok: Reachable[], token: string): Promise<void> {
    const target = this.target(pass, token);
    const want = JSON.stringify([target.name, target.endpoint, token.length, token.slice(0, 4)]);
    await Promise.all(
      ok.map(async (o) => {
        const slot = `${key}|${o.site.name}`;
        const feed = o.client.changeFeed;
        if (!feed) {
          this.problems.set(slot, `${o.site.name}: its flavor does not report changes`);
          return;
        }
        const wanted = `${want}|${o.snap.deploymentID}`;
        if (this.subscribed.get(slot) === wanted) return;
        try {
          const { applied } = await feed.subscribe(target, pass.ctx.signal);
          this.subscribed.set(slot, wanted);
          if (applied) this.problems.delete(slot);
          else
            this.problems.set(
              slot,
              `${o.site.name}: takes the change reporting target only after a restart`,
            );
        } catch (e: unknown) {
          pass.ctx.signal.throwIfAborted();
          this.problems.set(
            slot,
            `${o.site.name}: could not configure change reports: ${errorMessage(e)}`,
          );
        }
      }),
    );
  }

  /** Change detection is off (poll, paused): each site stops reporting, once per process. */
  private async stopReporting(pass: Pass, key: string): Promise<void> {
    this.opts.hints.forget(key);
    const uid = pass.obj.metadata.uid ?? '';
    await Promise.all(
      reachable(pass.observed).map(async (o) => {
        const slot = `${key}|${o.site.name}`;
        if (this.subscribed.get(slot) === 'off') return;
        await this.unsubscribe(o, uid, pass.ctx.signal).catch((e: unknown) => {
          pass.ctx.signal.throwIfAborted();
          pass.ctx.log.warn(
            { site: o.site.name, err: errorMessage(e) },
            'Could not remove the change reporting target',
          );
        });
        this.subscribed.set(slot, 'off');
        this.problems.delete(slot);
      }),
    );
  }

  private async unsubscribe(o: Reachable, uid: string, signal: AbortSignal): Promise<void> {
    try {
      await o.client.changeFeed?.unsubscribe(targetName(uid), signal);
    } catch (e: unknown) {
      if (!isSiteError(e, 'NotFound')) throw e;
    }
  }

  /** The group is being deleted: its target off every reachable site, its Secret, its state. */
  async finalize(
    group: { ref: ObjectRef; uid: string },
    observed: readonly Reachable[],
    kube: KubeClient,
    signal: AbortSignal,
  ): Promise<void> {
    const { ref, uid } = group;
    const key = `${ref.namespace}/${ref.name}`;
    this.opts.hints.forget(key);
    this.cache.delete(key);
    this.tokens.delete(key);
    for (const slot of [...this.subscribed.keys(), ...this.problems.keys()]) {
      if (slot.startsWith(`${key}|`)) {
        this.subscribed.delete(slot);
        this.problems.delete(slot);
      }
    }
    await Promise.all(
      observed.map((o) =>
        this.unsubscribe(o, uid, signal).catch((e: unknown) => {
          signal.throwIfAborted();
          this.opts.log?.warn(
            { site: o.site.name, err: errorMessage(e) },
            'Could not remove the change reporting target; the site keeps posting to a group that is gone',
          );
        }),
      ),
    );
  }
}
