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
  /**
   * Accept an `http://` endpoint or `tls.insecureSkipVerify` (the operator setting
   * ALLOW_INSECURE_SITES). Without it such a site is refused (`InsecureEndpoint`).
   */
  allowInsecure?: boolean | undefined;
}

export type Connected =
  | {
      ok: true;
      conn: SiteConnection;
      client: SiteClient;
      /** Set when the site's transport is insecure and that was allowed: what is insecure. */
      insecure?: string | undefined;
    }
  | { ok: false; reason: string; message: string };

/** The condition reason of a site whose transport is not secure. */
export const INSECURE_ENDPOINT = 'InsecureEndpoint';

/**
 * What is insecure about how the operator would reach `site` (declared at `field`), naming the
 * field; undefined when the transport is https with a verified certificate.
 */
export function insecureTransport(
  site: Pick<Site, 'endpoint' | 'tls'>,
  field: string,
): string | undefined {
  const issues: string[] = [];
  if (!/^https:\/\//i.test(site.endpoint)) {
    issues.push(
      `${field}.endpoint: ${site.endpoint} is not https: the site's credentials and every user's secret key would cross the network unencrypted`,
    );
  }
  if (site.tls?.insecureSkipVerify === true) {
    issues.push(
      `${field}.tls.insecureSkipVerify: the site's certificate is not verified, so anyone on the path can read the credentials`,
    );
  }
  return issues.length === 0 ? undefined : issues.join('; ');
}

/** What is insecure about any of `sites` (declared at `<field>[i]`), or undefined. */
export function insecureSites(
  sites: readonly Pick<Site, 'endpoint' | 'tls'>[],
  field = 'spec.sites',
): string | undefined {
  const issues = sites.flatMap((s, i) => insecureTransport(s, `${field}[${i}]`) ?? []);
  return issues.length === 0 ? undefined : issues.join('; ');
}

/** The message of a refused insecure site: what is wrong, and the setting that allows it. */
export function insecureRefusal(issue: string): string {
  return `${issue}; refused (the operator allows it only with ALLOW_INSECURE_SITES=true, chart value allowInsecureSites)`;
}

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
 * A client for `site` with the credentials of its Secret. An insecure transport not allowed is
 * `InsecureEndpoint` (checked first: no Secret is read for it); a Secret or key that is missing is
 * `CredentialsNotFound`; a flavor without a driver or an endpoint the driver cannot use is the
 * reason of its SiteError (`SiteUnsupported`, ...).
 */
export async function connectSite(site: Site, opts: ConnectOptions): Promise<Connected> {
  const insecure = insecureTransport(site, opts.field);
  if (insecure !== undefined && opts.allowInsecure !== true) {
    return { ok: false, reason: INSECURE_ENDPOINT, message: insecureRefusal(insecure) };
  }
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
    return { ok: true, conn, client: opts.newSite(conn), insecure };
  } catch (e: unknown) {
    if (!(e instanceof SiteError)) throw e;
    return { ok: false, reason: siteErrorReason(e), message: e.message };
  }
}
