/**
 * Observing a group's sites: each site connected with the credentials of its Secret and read
 * whole (a snapshot), all at once with a bound. A site that cannot be reached or refuses the
 * credentials is a value (`ok: false`) with a reason, never an exception; an aborted pass is.
 */
import type { Site } from '../../api/common.js';
import { settleLimit } from '../../runtime/concurrency.js';
import { type SecretReader, connectSite } from '../../sites/connect.js';
import type { SiteClient, SiteConnection } from '../../sites/site-client.js';
import { siteErrorReason } from '../../sites/site-error.js';
import type { SiteSnapshot } from '../../sites/snapshot.js';
import { describeError } from '../../runtime/messages.js';

export type Observed =
  | { site: Site; ok: true; client: SiteClient; snap: SiteSnapshot; conn: SiteConnection }
  | { site: Site; ok: false; reason: string; message: string; client?: SiteClient | undefined };

export type Reachable = Extract<Observed, { ok: true }>;

export const reachable = (observed: readonly Observed[]): Reachable[] =>
  observed.filter((o): o is Reachable => o.ok);

export interface ObserveOptions {
  readSecret: SecretReader;
  sites: readonly Site[];
  /** How messages name site `i` (default `spec.sites[i]`). */
  field?: ((site: Site, index: number) => string) | undefined;
  newSite: (conn: SiteConnection) => SiteClient;
  onCall?: ((site: string, op: string) => void) | undefined;
  timeoutMs?: number | undefined;
  /** Accept http endpoints and unverified certificates (ALLOW_INSECURE_SITES). */
  allowInsecure?: boolean | undefined;
  /**
   * Refuse (`SiteUnsupported`) a site that cannot replicate objects itself (PrimarySecondary
   * groups); else the object copier serves it.
   */
  requireNativeReplication?: boolean | undefined;
  signal: AbortSignal;
}

/** Sites observed at once. */
const OBSERVE_CONCURRENCY = 8;

async function observeOne(opts: ObserveOptions, site: Site, index: number): Promise<Observed> {
  const onCall = opts.onCall;
  const connected = await connectSite(site, {
    readSecret: opts.readSecret,
    newSite: opts.newSite,
    field: opts.field ? opts.field(site, index) : `spec.sites[${index}]`,
    timeoutMs: opts.timeoutMs,
    allowInsecure: opts.allowInsecure,
    onCall: onCall
      ? (op) => {
          onCall(site.name, op);
        }
      : undefined,
  });
  if (!connected.ok)
    return { site, ok: false, reason: connected.reason, message: connected.message };
  const { client, conn } = connected;
  if (!client.capabilities.nativeReplication && opts.requireNativeReplication === true) {
    // PrimarySecondary fences a secondary through MinIO policies and switches peer links on a
    // promotion: neither exists for a site the object copier serves. Say so, never half-sync.
    const message = `spec.sites[${index}]: site ${site.name} is of flavor ${site.flavor}, which cannot replicate objects by itself; PrimarySecondary groups (fencing, promotion) support only sites that can, so use mode ActiveActive for groups with such sites`;
    return { site, ok: false, reason: 'SiteUnsupported', message, client };
  }
  try {
    return { site, ok: true, client, snap: await client.snapshot(opts.signal), conn };
  } catch (e: unknown) {
    opts.signal.throwIfAborted();
    return { site, ok: false, reason: siteErrorReason(e), message: describeError(e), client };
  }
}

/** Observes every site at once (bounded), each with its own credentials. */
export async function observeSites(opts: ObserveOptions): Promise<Observed[]> {
  const results = await settleLimit(
    opts.sites.map((s, i) => [s, i] as const),
    OBSERVE_CONCURRENCY,
    ([s, i]) => observeOne(opts, s, i),
  );
  opts.signal.throwIfAborted();
  return opts.sites.map((site, i) => {
    const r = results[i];
    if (r?.ok) return r.value;
    return { site, ok: false as const, reason: 'SiteError', message: describeError(r?.error) };
  });
}

/** Closes what observing opened (shared clients from the pool ignore it). */
export function closeObserved(observed: readonly Observed[]): void {
  for (const o of observed) o.client?.close();
}
