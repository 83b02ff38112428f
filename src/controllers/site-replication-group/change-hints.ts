/**
 * Change hints of every group, between the receiver and the reconciler: which group a report
 * is for and whether it may be taken (the group's token, one of its sites), which of its
 * entries are the operator's own writes (dropped: nothing echoes), what they say changed
 * (accumulated per group, bounded), and when the group's key is queued (debounced: a burst is
 * one pass). The reconciler takes what accumulated when it runs; a hint never carries data,
 * only a reason to read part of a site again.
 *
 * Anything that may have lost a hint (a report that could not be read, a site's first report,
 * reports that resumed after a silence) asks for a full observation at once instead; the
 * operator's start needs none (its first pass of every group is a full one).
 */
import {
  type Admission,
  type ChangeHint,
  type ChangeReportSink,
  type ChangeScope,
  type DecodedReport,
  madeByOperator,
  sameSecret,
} from '../../sites/change-feed.js';

/** What accumulated for a group since its last pass. */
export interface PendingChanges {
  iam: boolean;
  /** Buckets to read again; true when the bucket itself may have come or gone. */
  buckets: Map<string, boolean>;
  /** Sites the hints came from. */
  sites: Set<string>;
  /** When the first hint arrived (ms), and when its site says the change was made. */
  firstAt?: number | undefined;
  changedAt?: number | undefined;
}

/** Why the next pass must observe everything. */
export type CatchUpReason =
  'receiver-started' | 'lost-report' | 'reports-started' | 'reports-resumed' | 'unscoped';

export interface TakenChanges {
  pending?: PendingChanges | undefined;
  catchUp?: CatchUpReason | undefined;
}

/** What the operator is known as on one site: its own writes there are not hints. */
export interface OwnIdentities {
  /** The access key the operator uses on the site. */
  operatorAccessKey: string;
  /** The replication accounts' access keys (their writes are replication, never a change). */
  replicators: ReadonlySet<string>;
}

/** A site of a registered group, by deployment ID. */
export interface HintSite {
  name: string;
  own: OwnIdentities;
}

export interface HintObserver {
  /** Entries of a report by what became of them. */
  entries(kind: 'hint' | 'own' | 'ignored' | 'malformed', n: number): void;
}

/** A change the operator itself made, through its login or a replication account. */
export function isOwnWrite(hint: ChangeHint, own: OwnIdentities): boolean {
  for (const key of [hint.accessKey, hint.parentUser]) {
    if (key !== undefined && own.replicators.has(key)) return true;
  }
  return madeByOperator(hint, own.operatorAccessKey);
}

/** Hints accumulated per group are capped: past this many buckets, everything is read. */
export const MAX_PENDING_BUCKETS = 32;
/**
 * A burst is one pass: the key is queued this long after the last hint ... (short: MinIO posts
 * each entry as its call ends, a client's calls of one change follow within a few ms, and
 * hints that come during a pass make one more pass after it)
 */
export const QUIET_MS = 10;
/** ... but no later than this after the first. */
export const MAX_DELAY_MS = 200;
/**
 * Hints that come after the key was queued and before its pass takes them are taken by that
 * pass: queuing the key again would run one more pass with nothing to read (a full one). Past
 * this long without a take, the key is queued again all the same.
 */
export const QUEUED_HOLD_MS = 1000;
/** Reports expected after a full observation (its own reads are reported) within this long. */
export const REPORT_GRACE_MS = 10_000;

interface SiteState extends HintSite {
  lastReportAt: number;
  /** When the last full observation read the site (its own calls produce reports). */
  lastObservedAt: number;
}

interface GroupState {
  key: string;
  token: string;
  sites: Map<string, SiteState>;
  pending?: PendingChanges | undefined;
  catchUp?: CatchUpReason | undefined;
  firstAt?: number | undefined;
  timer?: NodeJS.Timeout | undefined;
  /** When the key was last queued by hints, until a pass takes them. */
  queuedAt?: number | undefined;
}

export interface ChangeHintsOptions {
  /** Queues a group's key (the controller's queue). */
  enqueue?: ((key: string) => void) | undefined;
  /** Whether a group of this UID exists (it has not been observed by this process yet). */
  known?: ((uid: string) => boolean) | undefined;
  now?: (() => number) | undefined;
  observer?: HintObserver | undefined;
  /** Take reports from the start (default: only after `activate`). */
  active?: boolean | undefined;
}

function addScope(p: PendingChanges, scope: ChangeScope): boolean {
  if (scope.kind === 'everything') return false;
  if (scope.kind === 'iam') p.iam = true;
  else p.buckets.set(scope.bucket, (p.buckets.get(scope.bucket) ?? false) || scope.listed);
  return p.buckets.size <= MAX_PENDING_BUCKETS;
}

export class ChangeHints implements ChangeReportSink {
  private readonly groups = new Map<string, GroupState>();
  private readonly byKey = new Map<string, string>();
  private readonly now: () => number;
  /** Reports are taken only once this replica leads (its caches synced). */
  private active: boolean;

  constructor(private opts: ChangeHintsOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.active = opts.active ?? false;
  }

  /** This replica leads now: reports are taken (before, they are answered "not ready"). */
  activate(): void {
    this.active = true;
  }

  /** Wires the controller once it exists. */
  connect(opts: Pick<ChangeHintsOptions, 'enqueue' | 'known'>): void {
    this.opts = { ...this.opts, ...opts };
  }

  /**
   * After a full observation that started at `observedAt` (ms): the group's token and its
   * sites (by deployment ID, with what the operator is known as there). Sites not observed
   * keep their earlier entry. The observation's own reads are reported by a site that was
   * already registered (its target existed then): a site registered for the first time is
   * expected to report only from now on.
   */
  register(
    group: { uid: string; key: string; token: string; observedAt: number },
    sites: ReadonlyMap<string, HintSite>,
  ): void {
    const { uid, key, token } = group;
    const old = this.groups.get(uid);
    const next = new Map<string, SiteState>();
    const names = new Set([...sites.values()].map((s) => s.name));
    for (const [id, s] of old?.sites ?? []) if (!names.has(s.name)) next.set(id, s);
    for (const [id, s] of sites) {
      const known = old?.sites.get(id);
      next.set(id, {
        ...s,
        lastReportAt: known?.lastReportAt ?? 0,
        lastObservedAt: known ? group.observedAt : 0,
      });
    }
    const state: GroupState = old ?? { key, token, sites: next };
    state.key = key;
    state.token = token;
    state.sites = next;
    this.groups.set(uid, state);
    this.byKey.set(key, uid);
  }

  /** The group is gone (or stopped using events): its reports are refused from now on. */
  forget(key: string): void {
    const uid = this.byKey.get(key);
    if (uid === undefined) return;
    clearTimeout(this.groups.get(uid)?.timer);
    this.groups.delete(uid);
    this.byKey.delete(key);
  }

  /** Sites of the group whose reports arrived since `since` (ms). */
  reportingSites(key: string, since: number): string[] {
    const g = this.state(key);
    if (!g) return [];
    return [...g.sites.values()]
      .filter((s) => s.lastReportAt >= since)
      .map((s) => s.name)
      .sort();
  }

  admit(
    group: string,
    authorization: string | undefined,
    deploymentID: string | undefined,
  ): Admission {
    if (!this.active) return { ok: false, why: 'not-ready' };
    const g = this.groups.get(group);
    if (!g) {
      return { ok: false, why: this.opts.known?.(group) === true ? 'not-ready' : 'unknown-group' };
    }
    if (authorization === undefined || !sameSecret(authorization, `Bearer ${g.token}`)) {
      return { ok: false, why: 'unauthorized' };
    }
    if (deploymentID === undefined || !g.sites.has(deploymentID)) {
      return { ok: false, why: 'foreign-site' };
    }
    return { ok: true };
  }

  deliver(group: string, deploymentID: string, report: DecodedReport): void {
    const g = this.groups.get(group);
    const site = g?.sites.get(deploymentID);
    if (!g || !site) return;
    const at = this.now();
    if (site.lastReportAt === 0) {
      // The first report of the site: its target was configured after the observation read
      // it, so a change made in between was reported nowhere.
      this.flagCatchUp(g, 'reports-started');
    } else if (
      site.lastReportAt < site.lastObservedAt &&
      at > site.lastObservedAt + REPORT_GRACE_MS
    ) {
      // The reports of a full observation's own reads did not come in time: delivery was
      // broken for a while, and what it dropped is unknown.
      this.flagCatchUp(g, 'reports-resumed');
    }
    site.lastReportAt = at;
    const own = report.hints.filter((h) => isOwnWrite(h, site.own));
    const mine = report.hints.filter((h) => !isOwnWrite(h, site.own));
    for (const hint of mine) this.add(g, site.name, hint, at);
    const observer = this.opts.observer;
    observer?.entries('hint', mine.length);
    observer?.entries('own', own.length);
    observer?.entries('ignored', report.ignored);
    observer?.entries('malformed', report.malformed);
  }

  private add(g: GroupState, site: string, hint: ChangeHint, at: number): void {
    const pending = (g.pending ??= {
      iam: false,
      buckets: new Map(),
      sites: new Set(),
      firstAt: at,
      changedAt: hint.at,
    });
    pending.sites.add(site);
    if (!addScope(pending, hint.scope)) this.flagCatchUp(g, 'unscoped');
    this.schedule(g);
  }

  lost(group: string): void {
    const g = this.groups.get(group);
    if (g) this.flagCatchUp(g, 'lost-report');
  }

  /** What accumulated for the group, cleared. */
  take(key: string): TakenChanges {
    const g = this.state(key);
    if (!g) return {};
    const out: TakenChanges = { pending: g.pending, catchUp: g.catchUp };
    g.pending = undefined;
    g.catchUp = undefined;
    g.firstAt = undefined;
    g.queuedAt = undefined;
    clearTimeout(g.timer);
    g.timer = undefined;
    return out;
  }

  private state(key: string): GroupState | undefined {
    const uid = this.byKey.get(key);
    return uid === undefined ? undefined : this.groups.get(uid);
  }

  private flagCatchUp(g: GroupState, reason: CatchUpReason): void {
    g.catchUp ??= reason;
    this.schedule(g);
  }

  /** Queues the key QUIET_MS after the last hint, at most MAX_DELAY_MS after the first. */
  private schedule(g: GroupState): void {
    const at = this.now();
    if (g.queuedAt !== undefined && at - g.queuedAt < QUEUED_HOLD_MS) return;
    g.firstAt ??= at;
    const due = Math.min(at + QUIET_MS, g.firstAt + MAX_DELAY_MS);
    clearTimeout(g.timer);
    g.timer = setTimeout(
      () => {
        g.timer = undefined;
        g.firstAt = undefined;
        g.queuedAt = this.now();
        this.opts.enqueue?.(g.key);
      },
      Math.max(0, due - at),
    );
    g.timer.unref();
  }
}
