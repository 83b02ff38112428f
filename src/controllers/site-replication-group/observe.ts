/**
 * Loading what a reconcile of a SiteReplicationGroup needs from outside: the credentials of
 * every site (from Secrets) and a snapshot of every site, all at once. A site that cannot be
 * reached or refuses the credentials is a value (`ok: false`) with a reason, never an exception.
 */
import { randomBytes } from 'node:crypto';

import type { Site } from '../api/common.js';
import { settleLimit } from '../runtime/concurrency.js';
import { type KubeClient, SECRETS, isNotFound } from '../runtime/kube-client.js';
import { errorMessage } from '../runtime/logger.js';
import type { SiteClient, SiteConnection } from '../sites/site-client.js';
import { SiteError, type SiteErrorKind } from '../sites/site-error.js';
import type { SiteSnapshot } from '../sites/snapshot.js';

export interface Secret {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

export type Observed =
  | { site: Site; ok: true; client: SiteClient; snap: SiteSnapshot; conn: SiteConnection }
  | { site: Site; ok: false; reason: string; message: string; client?: SiteClient | undefined };

const decode = (v: string | undefined) =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');

/** Condition reasons by SiteError kind. */
export const SITE_REASONS: Record<SiteErrorKind, string> = {
  Unreachable: 'SiteUnreachable',
  Timeout: 'SiteUnreachable',
  AuthFailed: 'SiteAuthFailed',
  NotFound: 'SiteError',
  Conflict: 'SiteError',
  Throttled: 'SiteThrottled',
  Invalid: 'SiteError',
  Unsupported: 'SiteUnsupported',
  Internal: 'SiteError',
};

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

/** Reads a site's access key and secret key from its Secret; the message names what is missing. */
export async function loadCredentials(
  client: KubeClient,
  namespace: string,
  site: Site,
  index: number,
): Promise<{ accessKey: string; secretKey: string; ca?: string | undefined }> {
  const ref = site.credentialsSecret;
  const field = `spec.sites[${index}].credentialsSecret`;
  let secret: Secret;
  try {
    secret = await client.get<Secret>(SECRETS, namespace, ref.name);
  } catch (e: unknown) {
    if (isNotFound(e)) throw new CredentialsError(`${field}: Secret ${ref.name} not found`);
    throw e;
  }
  const accessKey = decode(secret.data?.[ref.accessKeyKey]);
  const secretKey = decode(secret.data?.[ref.secretKeyKey]);
  if (!accessKey)
    throw new CredentialsError(`${field}: Secret ${ref.name} has no key ${ref.accessKeyKey}`);
  if (!secretKey)
    throw new CredentialsError(`${field}: Secret ${ref.name} has no key ${ref.secretKeyKey}`);
  const caRef = site.tls?.caSecret;
  if (!caRef) return { accessKey, secretKey };
  const caSecret = await client.get<Secret>(SECRETS, namespace, caRef.name).catch(() => undefined);
  const ca = decode(caSecret?.data?.[caRef.key]);
  if (!ca)
    throw new CredentialsError(
      `spec.sites[${index}].tls.caSecret: no ${caRef.key} in Secret ${caRef.name}`,
    );
  return { accessKey, secretKey, ca };
}

export interface ObserveOptions {
  client: KubeClient;
  namespace: string;
  sites: readonly Site[];
  newSite: (conn: SiteConnection) => SiteClient;
  onCall?: ((site: string, op: string) => void) | undefined;
  timeoutMs?: number | undefined;
}

async function observeOne(opts: ObserveOptions, site: Site, index: number): Promise<Observed> {
  let creds;
  try {
    creds = await loadCredentials(opts.client, opts.namespace, site, index);
  } catch (e: unknown) {
    if (e instanceof CredentialsError)
      return { site, ok: false, reason: 'CredentialsNotFound', message: e.message };
    throw e;
  }
  const conn: SiteConnection = {
    name: site.name,
    flavor: site.flavor,
    endpoint: site.endpoint,
    region: site.region,
    ...creds,
    insecureSkipVerify: site.tls?.insecureSkipVerify,
    timeoutMs: opts.timeoutMs,
    onCall: opts.onCall ? (op) => opts.onCall?.(site.name, op) : undefined,
  };
  const client = opts.newSite(conn);
  try {
    return { site, ok: true, client, snap: await client.snapshot(), conn };
  } catch (e: unknown) {
    const kind = e instanceof SiteError ? e.kind : 'Internal';
    const message = e instanceof Error ? e.message : String(e);
    return { site, ok: false, reason: SITE_REASONS[kind], message, client };
  }
}

/** Observes every site at once (bounded), each with its own credentials. */
export async function observeSites(opts: ObserveOptions): Promise<Observed[]> {
  const results = await settleLimit(
    opts.sites.map((s, i) => [s, i] as const),
    8,
    ([s, i]) => observeOne(opts, s, i),
  );
  return opts.sites.map((site, i) => {
    const r = results[i];
    if (r?.ok) return r.value;
    return { site, ok: false as const, reason: 'SiteError', message: errorMessage(r?.error) };
  });
}

/** The replication accounts' secrets, one per site, in a Secret the group owns. */
export async function loadReplicatorSecrets(
  client: KubeClient,
  owner: { name: string; namespace: string; uid: string; apiVersion: string; kind: string },
  sites: readonly string[],
): Promise<Map<string, string>> {
  const name = `${owner.name}-sitesync-replicator`;
  let secret: Secret | undefined;
  try {
    secret = await client.get<Secret>(SECRETS, owner.namespace, name);
  } catch (e: unknown) {
    if (!isNotFound(e)) throw e;
  }
  const out = new Map<string, string>();
  const missing: Record<string, string> = {};
  for (const site of sites) {
    const existing = decode(secret?.data?.[site]);
    const value = existing ?? randomBytes(24).toString('base64url');
    if (existing === undefined) missing[site] = Buffer.from(value).toString('base64');
    out.set(site, value);
  }
  if (Object.keys(missing).length === 0) return out;
  if (secret === undefined) {
    await client.create(SECRETS, owner.namespace, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: owner.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'sitesync', 'sitesync.io/group': owner.name },
        ownerReferences: [
          {
            apiVersion: owner.apiVersion,
            kind: owner.kind,
            name: owner.name,
            uid: owner.uid,
            controller: true,
          },
        ],
      },
      type: 'Opaque',
      data: missing,
    });
  } else {
    await client.patch(
      SECRETS,
      { namespace: owner.namespace, name },
      {
        metadata: { resourceVersion: secret.metadata.resourceVersion },
        data: missing,
      },
    );
  }
  return out;
}
