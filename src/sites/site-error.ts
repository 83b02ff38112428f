/** Why a call to a site failed, in words a condition reason can use. */
export type SiteErrorKind =
  | 'Unreachable'
  | 'AuthFailed'
  | 'NotFound'
  | 'Conflict'
  | 'Throttled'
  | 'Invalid'
  | 'Unsupported'
  | 'Timeout'
  | 'NotReady'
  | 'Internal';

/**
 * Every failure talking to a site passes through this one type. Its message names the site,
 * the operation and the endpoint, never a credential.
 */
export class SiteError extends Error {
  // Positional (site, op, kind, message) reads like the message it builds; options last.
  // eslint-disable-next-line max-params
  constructor(
    readonly site: string,
    readonly op: string,
    readonly kind: SiteErrorKind,
    message: string,
    opts: { cause?: unknown; code?: string; status?: number } = {},
  ) {
    super(`${site}: ${op}: ${message}`, opts.cause === undefined ? {} : { cause: opts.cause });
    this.name = 'SiteError';
    this.code = opts.code;
    this.status = opts.status;
  }

  /** The server's error code (e.g. XMinioAdminNoSuchUser, NoSuchBucket), when it sent one. */
  readonly code: string | undefined;
  /** The HTTP status, when there was a response. */
  readonly status: number | undefined;
}

/** The condition reason for a failure of each kind (`Degraded`, `status.sites[].lastError`). */
export const SITE_ERROR_REASONS: Readonly<Record<SiteErrorKind, string>> = {
  Unreachable: 'SiteUnreachable',
  Timeout: 'SiteUnreachable',
  AuthFailed: 'SiteAuthFailed',
  NotFound: 'SiteError',
  Conflict: 'SiteError',
  Throttled: 'SiteThrottled',
  Invalid: 'SiteError',
  Unsupported: 'SiteUnsupported',
  NotReady: 'SiteNotReady',
  Internal: 'SiteError',
};

/** The condition reason for any failure: by kind for a SiteError, else `SiteError`. */
export function siteErrorReason(e: unknown): string {
  return e instanceof SiteError ? SITE_ERROR_REASONS[e.kind] : 'SiteError';
}

export const isSiteError = (e: unknown, kind?: SiteErrorKind): e is SiteError =>
  e instanceof SiteError && (kind === undefined || e.kind === kind);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const NETWORK_CODE_IN_TEXT = new RegExp(`\\b(${[...NETWORK_CODES].join('|')})\\b`);

/** Some wrappers keep only the text of the original error ("connect ECONNREFUSED ..."). */
function kindFromText(message: string): SiteErrorKind | undefined {
  if (/\bETIMEDOUT\b/.test(message)) return 'Timeout';
  if (message === 'fetch failed' || NETWORK_CODE_IN_TEXT.test(message)) return 'Unreachable';
  return undefined;
}

/** The kind of a transport-level failure (no HTTP response), from Node's error codes. */
export function networkErrorKind(e: unknown): SiteErrorKind | undefined {
  // Duck-typed, not `instanceof Error`: errors may come from another realm (vm, workers).
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && typeof cur === 'object' && cur !== null; depth++) {
    const { code, name, message, cause } = cur as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
      cause?: unknown;
    };
    if (name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') {
      return 'Timeout';
    }
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'Unreachable';
    const fromText = typeof message === 'string' ? kindFromText(message) : undefined;
    if (fromText) return fromText;
    cur = cause;
  }
  return undefined;
}

/**
 * MinIO's answers while it starts: the object layer, IAM or the bucket metadata not loaded yet
 * (docs/decisions.md #20). The site is up but cannot be observed whole.
 */
const NOT_READY_CODES: ReadonlySet<string> = new Set([
  'XMinioServerNotInitialized',
  'XMinioIAMNotInitialized',
  'XMinioBucketMetadataNotInitialized',
]);

/** The kind an error code says by itself, whatever the status. */
function codeKind(code: string | undefined): SiteErrorKind | undefined {
  if (code === undefined) return undefined;
  if (code === 'XMinioAdminVersionMismatch') return 'Unsupported';
  if (NOT_READY_CODES.has(code)) return 'NotReady';
  return undefined;
}

/** The kind of an HTTP error status. */
export function httpStatusKind(status: number, code?: string): SiteErrorKind {
  const byCode = codeKind(code);
  if (byCode !== undefined) return byCode;
  if (status === 401 || status === 403) return 'AuthFailed';
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 429 || code === 'SlowDown' || code === 'Throttling') return 'Throttled';
  if (status === 501) return 'Unsupported';
  if (status >= 500) return 'Internal';
  return 'Invalid';
}
