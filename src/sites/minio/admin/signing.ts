/**
 * AWS Signature V4 for MinIO admin (and S3-extension) requests.
 *
 * What the server checks (minio-admin-api.md §1.2): a header-based SigV4 with service `s3`, `host`
 * among the signed headers, and `x-amz-content-sha256` equal to the SHA-256 of the exact body
 * bytes. The server rebuilds the canonical query with Go's `url.Values.Encode` (keys sorted,
 * repeated values kept in URL order), while AWS signers sort repeated values: so the URL we send
 * carries repeated values already sorted, and both sides agree.
 */
import { createHash } from 'node:crypto';

import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** Query parameters: a repeated key takes a list. Order does not matter; the encoding sorts. */
export type QueryParams = Readonly<Record<string, string | readonly string[]>>;

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Percent-encodes like Go's `url.QueryEscape` followed by `+` → `%20` (RFC 3986 unreserved kept). */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Encodes a path segment by segment; `/` separators are kept. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeRfc3986).join('/');
}

const SAFE_KEY = /^[A-Za-z0-9._~-]+$/;

/**
 * The query string to send, which is also the canonical query string: keys sorted, values of a
 * repeated key sorted, all RFC 3986 encoded. An empty list drops the key.
 *
 * Keys must be plain (`[A-Za-z0-9._~-]`): the server sorts raw keys, AWS signers sort encoded
 * ones, and only for such keys do both orders agree. Values may be anything.
 */
export function canonicalQueryString(query: QueryParams): string {
  const parts: string[] = [];
  for (const key of Object.keys(query).sort(compareCodeUnits)) {
    if (!SAFE_KEY.test(key)) throw new Error(`query key ${JSON.stringify(key)} needs escaping`);
    const value = query[key];
    const values = typeof value === 'string' ? [value] : [...(value ?? [])];
    const encoded = values.map(encodeRfc3986).sort(compareCodeUnits);
    for (const v of encoded) parts.push(`${key}=${v}`);
  }
  return parts.join('&');
}

function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

/** Lower-case hex SHA-256 of the exact body bytes, for `x-amz-content-sha256`. */
export function sha256Hex(body: Uint8Array | undefined): string {
  if (body === undefined || body.length === 0) return EMPTY_SHA256;
  return createHash('sha256').update(body).digest('hex');
}

export interface SigningCredentials {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly sessionToken?: string | undefined;
}

export interface RequestToSign {
  readonly method: string;
  /** Absolute URL; its path must already be encoded (see `encodePath`). */
  readonly url: URL;
  readonly query: QueryParams;
  readonly body?: Uint8Array | undefined;
  readonly contentType?: string | undefined;
  /** Defaults to now. */
  readonly date?: Date | undefined;
}

/** Signs requests for one credential; reuse it (the signing key is cached per day). */
export class RequestSigner {
  private readonly signer: SignatureV4;

  constructor(credentials: SigningCredentials, region = 'us-east-1') {
    this.signer = new SignatureV4({
      credentials: {
        accessKeyId: credentials.accessKey,
        secretAccessKey: credentials.secretKey,
        ...(credentials.sessionToken === undefined
          ? {}
          : { sessionToken: credentials.sessionToken }),
      },
      region,
      service: 's3',
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
      applyChecksum: false,
    });
  }

  /**
   * Returns the headers to send: `host`, `x-amz-date`, `x-amz-content-sha256`, `authorization`,
   * `content-type` when given, and `x-amz-security-token` with a session token. All are signed.
   */
  async sign(req: RequestToSign): Promise<Record<string, string>> {
    const headers: Record<string, string> = {
      host: req.url.host,
      'x-amz-content-sha256': sha256Hex(req.body),
    };
    if (req.contentType !== undefined) headers['content-type'] = req.contentType;
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.query)) {
      if (typeof v === 'string') query[k] = v;
      else if (v.length > 0) query[k] = [...v];
    }
    const signed = await this.signer.sign(
      {
        method: req.method,
        protocol: req.url.protocol,
        hostname: req.url.hostname,
        path: req.url.pathname,
        query,
        headers,
      },
      req.date === undefined ? {} : { signingDate: req.date },
    );
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) out[k.toLowerCase()] = v;
    return out;
  }
}
