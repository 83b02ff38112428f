/**
 * Raw, signed S3 requests for the calls whose exact bytes matter: the replication document is
 * sent and read back as XML, byte for byte, with the headers PutBucketReplication defines
 * (`Content-MD5`, `x-amz-expected-bucket-owner`, `x-amz-bucket-object-lock-token`). The SDK's
 * model would re-serialise the document and send a CRC32 instead of Content-MD5. Also
 * ListObjectVersions, whose XML interleaves versions and delete markers in the site's order,
 * which the SDK's model splits into two lists. Signed with the SDK's own SigV4 signer; every
 * failure is a SiteError carrying the S3 error code and message, never a credential. Shared by
 * the MinIO and s3 drivers.
 */
import { createHash } from 'node:crypto';

import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { XMLParser } from 'fast-xml-parser';
import { Agent, fetch } from 'undici';

import {
  MAX_ERROR_BODY_BYTES,
  MAX_RESPONSE_BYTES,
  ResponseTooLargeError,
  declaredLength,
  formatBytes,
  isResponseTooLarge,
  readBounded,
  readPrefix,
} from './response-limits.js';
import { toSiteError } from './s3-errors.js';
import type { SiteConnection } from './site-client.js';
import { SiteError } from './site-error.js';

export interface S3Request {
  /** Operation name for errors and `onCall`, e.g. `PutBucketReplication`. */
  op: string;
  method: 'GET' | 'PUT' | 'DELETE' | 'HEAD';
  bucket: string;
  /** Sub-resource such as `replication` (sent as `?replication`). */
  subresource: string;
  /** Further query parameters (`key-marker`, `max-keys`, ...). */
  query?: Readonly<Record<string, string>> | undefined;
  body?: Buffer | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
  /** S3 error codes that are answers for this call, returned instead of thrown. */
  tolerate?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
}

export interface S3Answer {
  status: number;
  body: Buffer;
  /** The S3 error code, when a tolerated error was returned. */
  code?: string | undefined;
}

const errorXml = new XMLParser({ ignoreAttributes: true, parseTagValue: false });

/** `Code` and `Message` of an S3 error document, when the body is one. */
export function parseS3Error(body: Buffer): { code?: string; message?: string } {
  try {
    const doc = errorXml.parse(body.toString('utf8')) as { Error?: unknown };
    const e = doc.Error;
    if (typeof e !== 'object' || e === null) return {};
    const { Code, Message } = e as { Code?: unknown; Message?: unknown };
    return {
      ...(typeof Code === 'string' ? { code: Code } : {}),
      ...(typeof Message === 'string' ? { message: Message } : {}),
    };
  } catch {
    return {};
  }
}

/** RFC 3986 encoding, as SigV4 canonicalises the query (URLSearchParams would write `+`). */
const uriEncode = (v: string) =>
  encodeURIComponent(v).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

function queryString(req: S3Request): string {
  const rest = Object.entries(req.query ?? {}).map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`);
  return [req.subresource, ...rest].join('&');
}

/** Base64 MD5 of the body, for `Content-MD5` (RFC 1864). */
export const contentMD5 = (body: Buffer) => createHash('md5').update(body).digest('base64');

export class S3Transport {
  private readonly signer: SignatureV4;
  private readonly base: URL;
  private readonly agent: Agent;
  private readonly timeoutMs: number;

  constructor(private readonly conn: SiteConnection) {
    this.base = new URL(conn.endpoint);
    this.timeoutMs = conn.timeoutMs ?? 15_000;
    this.signer = new SignatureV4({
      credentials: { accessKeyId: conn.accessKey, secretAccessKey: conn.secretKey },
      region: conn.region,
      service: 's3',
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
      applyChecksum: false,
    });
    this.agent = new Agent({
      connect: {
        ...(conn.ca === undefined ? {} : { ca: conn.ca }),
        rejectUnauthorized: conn.insecureSkipVerify !== true,
      },
    });
  }

  private async sign(req: S3Request, path: string, body: Buffer) {
    const signed = await this.signer.sign({
      method: req.method,
      protocol: this.base.protocol,
      hostname: this.base.hostname,
      ...(this.base.port === '' ? {} : { port: Number(this.base.port) }),
      path,
      query: { [req.subresource]: '', ...req.query },
      headers: {
        host: this.base.host,
        'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
        ...req.headers,
      },
      ...(body.length > 0 ? { body } : {}),
    });
    const headers = { ...signed.headers };
    delete headers['host'];
    if (this.conn.userAgent !== undefined) headers['user-agent'] = this.conn.userAgent;
    return headers;
  }

  /** One exchange; a transport failure (no answer) is thrown as a SiteError. */
  private async exchange(req: S3Request, path: string, body: Buffer) {
    const headers = await this.sign(req, path, body);
    this.conn.onCall?.(`s3:${req.op}`);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    try {
      const res = await fetch(new URL(`${path}?${queryString(req)}`, this.base), {
        method: req.method,
        headers,
        ...(body.length > 0 ? { body } : {}),
        redirect: 'manual',
        dispatcher: this.agent,
        signal,
      });
      return { status: res.status, body: await boundedBody(res) };
    } catch (e: unknown) {
      req.signal?.throwIfAborted();
      if (isResponseTooLarge(e)) {
        const what = `${req.method} ${req.op} exceeded ${formatBytes(e.limit)}`;
        throw new SiteError(this.conn.name, req.op, 'Invalid', `response too large: ${what}`);
      }
      const cause = timeout.aborted
        ? Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })
        : e;
      throw toSiteError(this.conn.name, this.conn.endpoint, req.op, cause);
    }
  }

  /**
   * A body within MAX_RESPONSE_BYTES (a declared larger length is refused unread); of an error,
   * only the first MAX_ERROR_BODY_BYTES.
   */
  async send(req: S3Request): Promise<S3Answer> {
    req.signal?.throwIfAborted();
    const path = `/${encodeURIComponent(req.bucket)}`;
    const answer = await this.exchange(req, path, req.body ?? Buffer.alloc(0));
    if (answer.status >= 200 && answer.status < 300) return answer;
    const { code, message } = parseS3Error(answer.body);
    if (code !== undefined && req.tolerate?.includes(code) === true) return { ...answer, code };
    throw toSiteError(this.conn.name, this.conn.endpoint, req.op, {
      name: code ?? 'UnknownError',
      ...(code === undefined ? {} : { Code: code }),
      message: message ?? '',
      $metadata: { httpStatusCode: answer.status },
    });
  }

  close(): void {
    void this.agent.close();
  }
}

/** A request the flavor cannot make, as a SiteError. */
export function unsupported(site: string, op: string, why: string): SiteError {
  return new SiteError(site, op, 'Unsupported', why);
}

async function boundedBody(res: Awaited<ReturnType<typeof fetch>>): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  if (res.status < 200 || res.status >= 300) return readPrefix(res.body, MAX_ERROR_BODY_BYTES);
  const declared = declaredLength(res.headers.get('content-length'));
  if (declared !== undefined && declared > MAX_RESPONSE_BYTES) {
    await res.body.cancel();
    throw new ResponseTooLargeError(MAX_RESPONSE_BYTES);
  }
  return readBounded(res.body, MAX_RESPONSE_BYTES);
}
