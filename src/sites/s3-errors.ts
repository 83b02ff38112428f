import { formatBytes, isResponseTooLarge } from './response-limits.js';
import { SiteError, type SiteErrorKind, httpStatusKind, networkErrorKind } from './site-error.js';

const AUTH_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'XMinioInvalidIAMCredentials',
]);

const NOT_FOUND_CODES = new Set([
  'NoSuchBucket',
  'NoSuchKey',
  'NoSuchBucketPolicy',
  'NoSuchTagSet',
  'ReplicationConfigurationNotFoundError',
  'ServerSideEncryptionConfigurationNotFoundError',
  'ObjectLockConfigurationNotFoundError',
  'NoSuchLifecycleConfiguration',
  'NotFound',
]);

interface SdkErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The S3 error code of an AWS SDK error, if the server sent one. */
export function s3ErrorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const s = e as SdkErrorShape;
  return s.Code ?? s.name;
}

export function isS3NotFound(e: unknown): boolean {
  const code = s3ErrorCode(e);
  return code !== undefined && NOT_FOUND_CODES.has(code);
}

function s3ErrorKind(code: string | undefined, status: number | undefined): SiteErrorKind {
  if (code !== undefined && AUTH_CODES.has(code)) return 'AuthFailed';
  if (code !== undefined && NOT_FOUND_CODES.has(code)) return 'NotFound';
  return status === undefined ? 'Internal' : httpStatusKind(status, code);
}

function describeSdkError(code?: string, status?: number, message?: string): string {
  const detail = message && message !== 'UnknownError' ? `: ${message}` : '';
  const httpPart = status === undefined ? '' : ` (HTTP ${status})`;
  return `${code ?? 'error'}${httpPart}${detail}`;
}

/** Maps an AWS SDK v3 error (or a transport error) to a SiteError naming the endpoint. */
export function toSiteError(site: string, endpoint: string, op: string, e: unknown): SiteError {
  if (e instanceof SiteError) return e;
  if (isResponseTooLarge(e)) {
    // Built afresh: the SDK appends its own hint to the message of a failed deserialization.
    const why = `response too large: ${op} from ${endpoint} exceeded ${formatBytes(e.limit)}`;
    return new SiteError(site, op, 'Invalid', why);
  }
  const net = networkErrorKind(e);
  if (net) {
    const what =
      net === 'Timeout' ? `no answer from ${endpoint} in time` : `cannot reach ${endpoint}`;
    return new SiteError(site, op, net, what, { cause: e });
  }
  const s = (typeof e === 'object' && e !== null ? e : {}) as SdkErrorShape;
  const status = s.$metadata?.httpStatusCode;
  const code = s3ErrorCode(e);
  const message = describeSdkError(code, status, s.message);
  return new SiteError(site, op, s3ErrorKind(code, status), message, {
    cause: e,
    ...(code === undefined ? {} : { code }),
    ...(status === undefined ? {} : { status }),
  });
}
