/**
 * Change hints as a capability of a site (`SiteCapabilities.changeFeed`): the site tells the
 * operator that something changed (never what it changed to), and the operator reads that part
 * of the site again. What a controller needs, in words that name no flavor; a driver that has
 * it exposes `SiteClient.changeFeed`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import type { BucketMeta, IamState } from './snapshot.js';

/**
 * What a hint says changed, as narrowly as the site's report allows:
 * - `iam`: some IAM entity (users, groups, policies, mappings, service accounts);
 * - `bucket`: a bucket's configuration; `listed` when the bucket itself was created or removed;
 * - `everything`: something that cannot be narrowed (a bulk import of bucket metadata, ...).
 */
export type ChangeScope =
  { kind: 'iam' } | { kind: 'bucket'; bucket: string; listed: boolean } | { kind: 'everything' };

/** "Something changed on this site": a reason to read part of it again. */
export interface ChangeHint {
  scope: ChangeScope;
  /** The site's name of the call that changed it (MinIO: the audit entry's `api.name`). */
  op: string;
  /** The site's identity as the report states it (MinIO: the deployment ID). */
  deploymentID: string;
  /** Who made the change: the access key of the request, its parent user, its user agent. */
  accessKey?: string | undefined;
  parentUser?: string | undefined;
  userAgent?: string | undefined;
  /** When the site says the call was made (ms since the epoch; MinIO: the entry's `time`). */
  at?: number | undefined;
}

/** What one report (a POST of the site's) held. */
export interface DecodedReport {
  /** The changes worth a read, in the order reported. */
  hints: ChangeHint[];
  /** Reports of reads, of failed calls, of configurations never replicated. */
  ignored: number;
  /** Lines that were not a report (bad JSON, a line past the cap). */
  malformed: number;
}

/** Where a site sends its hints. */
export interface ChangeFeedTarget {
  /** The target's name on the site, unique per group (e.g. `sitesync-<group uid>`). */
  name: string;
  /** The URL the site posts to (https). */
  endpoint: string;
  /** The bearer token the site sends with every report. */
  token: string;
}

/** Which parts of a site to read again. */
export interface PartRequest {
  iam: boolean;
  /** Buckets whose presence and configuration to read again. */
  buckets: readonly string[];
  /**
   * The deployment ID this pass read from the site moments ago: the site is not asked again
   * and the part carries this one (a targeted pass's read-back after its writes; the next
   * pass asks again, docs/decisions.md "Identity per targeted read").
   */
  knownDeploymentID?: string | undefined;
}

/** Part of a site's replicated metadata, read in a few calls. */
export interface SitePart {
  deploymentID: string;
  /** When the server (its most recently started process) started, ms since the epoch. */
  startedAt?: number | undefined;
  /** The whole IAM state, when asked for. */
  iam?: IamState | undefined;
  /** Each bucket asked for: its metadata, or null when the site does not hold it. */
  buckets: Map<string, BucketMeta | null>;
}

export interface ChangeFeedOps {
  /**
   * Makes the site report its changes to `target` (idempotent: an identical target is written
   * again). `applied` is false when the site only takes the setting after a restart (it is then
   * not reporting).
   */
  subscribe(target: ChangeFeedTarget, signal: AbortSignal): Promise<{ applied: boolean }>;
  /** Removes the target named `name`; a target that is not there is fine. */
  unsubscribe(name: string, signal: AbortSignal): Promise<void>;
  /** Reads part of the site again. */
  readPart(request: PartRequest, signal: AbortSignal): Promise<SitePart>;
}

/** The user agent the operator's own requests carry, so that their reports can be told apart. */
export const OPERATOR_USER_AGENT = 'sitesync-operator';

/** The change was made by the operator itself through a site's API. */
export function madeByOperator(hint: ChangeHint, operatorAccessKey: string): boolean {
  return (
    hint.accessKey === operatorAccessKey && (hint.userAgent ?? '').includes(OPERATOR_USER_AGENT)
  );
}

/** What the sink says of a report before its body is read. */
export type Admission =
  | { ok: true }
  | { ok: false; why: 'unknown-group' | 'unauthorized' | 'foreign-site' | 'not-ready' };

/** Where the change receiver hands reports (the group controller's hint board). */
export interface ChangeReportSink {
  /** Whether a report for `group` with this authorization from this site is taken. */
  admit(
    group: string,
    authorization: string | undefined,
    deploymentID: string | undefined,
  ): Admission;
  /** An admitted report, decoded (its entries all from `deploymentID`). */
  deliver(group: string, deploymentID: string, report: DecodedReport): void;
  /** An admitted report that could not be read whole: its changes are unknown. */
  lost(group: string, deploymentID: string, why: string): void;
}

/** A constant-time comparison of two secrets (of any lengths). */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
