/**
 * The one way every controller reaches a site: the credentials (and CA) from the Secrets the
 * site names, a `SiteConnection`, and a client of the site's flavor. What cannot be found is a
 * value with a condition reason and a message naming the field, never an exception; failures
 * to read Secrets from the apiserver are thrown (the reconcile retries).
 */
import type { Site } from '../api/common.js';
import { OPERATOR_USER_AGENT } from './change-feed.js';
import type { SiteClient, SiteConnection } from './site-client.js';
import { SiteError, siteErrorReason } from './site-error.js';

/** A Secret's `data` (base64 values) by name in the resource's namespace; undefined if none. */
export type SecretReader = (name: string) => Promise<Readonly<Record<string, string>> | undefined>;

export interface ConnectOptions {
  readSecret: SecretReader;
  newSite: (conn: SiteConnection) => SiteClient;
  /** Where the site is declared, for messages: `spec.sites[2]`, `spec.source.siteSpec`, ... */
  field: string;
  /** Per-call timeout (driver default when absent). */
  timeoutMs?: number | undefined;
  onCall?: ((op: string) => void) | undefined;
}

export type Connected =
  | { ok: true; conn: SiteConnection; client: SiteClient }
  | { ok: false; reason: string; message: string };

const decode = (v: string | undefined) =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');

class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

async function credentials(
  site: Site,
  opts: ConnectOptions,
): Promise<{ accessKey: string; secretKey: string; ca?: string }> {
  const ref = site.credentialsSecret;
  const field = `${opts.field}.credentialsSecret`;
  const data = await opts.readSecret(ref.name);
  if (data === undefined) throw new CredentialsError(`${field}: Secret ${ref.name} not found`);
  const accessKey = decode(data[ref.accessKeyKey]);
  const secretKey = decode(data[ref.secretKeyKey]);
  if (!accessKey)
    throw new CredentialsError(`${field}: Secret ${ref.name} has no key ${ref.accessKeyKey}`);
  if (!secretKey)
    throw new CredentialsError(`${field}: Secret ${ref.name} has no key ${ref.secretKeyKey}`);
  const caRef = site.tls?.caSecret;
  if (!caRef) return { accessKey, secretKey };
  const ca = decode((await opts.readSecret(caRef.name))?.[caRef.key]);
  if (!ca)
    throw new CredentialsError(
      `${opts.field}.tls.caSecret: no ${caRef.key} in Secret ${caRef.name}`,
    );
  return { accessKey, secretKey, ca };
}

/**
 * A client for `site` with the credentials of its Secret. A Secret or key that is missing is
 * `CredentialsNotFound`; a flavor without a driver or an endpoint the driver cannot use is the
 * reason of its SiteError (`SiteUnsupported`, ...).
 */
export async function connectSite(site: Site, opts: ConnectOptions): Promise<Connected> {
  let creds;
  try {
    creds = await credentials(site, opts);
  } catch (e: unknown) {
    if (!(e instanceof CredentialsError)) throw e;
    return { ok: false, reason: 'CredentialsNotFound', message: e.message };
  }
  const conn: SiteConnection = {
    name: site.name,
    flavor: site.flavor,
    endpoint: site.endpoint,
    region: site.region,
    ...creds,
    insecureSkipVerify: site.tls?.insecureSkipVerify,
    timeoutMs: opts.timeoutMs,
    onCall: opts.onCall,
    userAgent: OPERATOR_USER_AGENT,
  };
  try {
    return { ok: true, conn, client: opts.newSite(conn) };
  } catch (e: unknown) {
    if (!(e instanceof SiteError)) throw e;
    return { ok: false, reason: siteErrorReason(e), message: e.message };
  }
}
