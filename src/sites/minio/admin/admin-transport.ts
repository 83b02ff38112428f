/**
 * One signed HTTP exchange with a MinIO server, with a timeout, one retry for idempotent reads,
 * a cap on the response body, and every failure turned into a `SiteError` that names the site
 * and operation and never carries a secret or a body.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { Agent, fetch } from 'undici';

import {
  MAX_ERROR_BODY_BYTES,
  MAX_RESPONSE_BYTES,
  ResponseTooLargeError,
  declaredLength,
  formatBytes,
  readBounded,
  readPrefix,
} from '../../response-limits.js';
import { SiteError, type SiteErrorKind, networkErrorKind } from '../../site-error.js';
import {
  adminStatusKind,
  describeHttpError,
  parseErrorBody,
  redactSecrets,
  transportErrorCode,
  transportErrorKind,
} from './admin-errors.js';
import { type QueryParams, RequestSigner, canonicalQueryString, encodePath } from './signing.js';

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface TransportOptions {
  readonly site: string;
  /** `http(s)://host[:port]`, no path. */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly sessionToken?: string | undefined;
  readonly timeoutMs: number;
  /** PEM of the CA that signed the server's certificate (https only). */
  readonly ca?: string | undefined;
  readonly insecureSkipVerify?: boolean | undefined;
  /** Called once per HTTP request sent (retries included), with the operation name. */
  readonly onCall?: ((op: string) => void) | undefined;
  /** Delay before the one retry of an idempotent read; default 200–400 ms. */
  readonly retryDelayMs?: (() => number) | undefined;
}

export interface HttpCall {
  /** Operation name for errors and `onCall`, e.g. `listUsers`. */
  readonly op: string;
  readonly method: HttpMethod;
  /** Unencoded path, e.g. `/minio/admin/v3/list-users`. */
  readonly path: string;
  readonly query?: QueryParams | undefined;
  /** Exact bytes to send (already encrypted where the endpoint wants it). */
  readonly body?: Uint8Array | undefined;
  readonly contentType?: string | undefined;
  readonly timeoutMs?: number | undefined;
  /** More strings that must never appear in an error message (e.g. a secret being set). */
  readonly secrets?: readonly string[] | undefined;
  /** Server error codes that are answers for this call, returned instead of thrown. */
  readonly tolerate?: readonly string[] | undefined;
  /**
   * Reads a successful response body as it arrives instead of buffering it (the answer's body
   * is then empty). The call's timeout covers the whole read.
   */
  readonly consume?: ((body: AsyncIterable<Uint8Array>) => Promise<void>) | undefined;
  /**
   * A successful response body longer than this is refused (Invalid, "response too large");
   * default MAX_RESPONSE_BYTES. Error bodies are read up to MAX_ERROR_BODY_BYTES.
   */
  readonly maxBytes?: number | undefined;
  /**
   * The caller's cancellation (a reconcile's, or a sibling call's that failed): once it aborts
   * nothing more is sent and its reason is thrown.
   */
  readonly signal?: AbortSignal | undefined;
}

type FetchResponse = Awaited<ReturnType<typeof fetch>>;

/** The response headers (case-insensitive lookup). */
export interface HeaderReader {
  get(name: string): string | null;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: HeaderReader;
  readonly body: Buffer;
  /** The server's error code when a tolerated error was returned. */
  readonly code?: string | undefined;
}

const SUCCESS = new Set([200, 204, 206]);
const RETRY_KINDS: ReadonlySet<SiteErrorKind> = new Set([
  'Unreachable',
  'Throttled',
  'Internal',
  'NotReady',
]);
const defaultRetryDelay = (): number => 200 + Math.floor(Math.random() * 200);

/** Checks an endpoint URL and returns its origin (`http(s)://host[:port]`, default port dropped). */
export function normalizeEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error('endpoint is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`endpoint must be http or https, not ${url.protocol}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '') {
    throw new Error(`endpoint ${url.origin} must not carry a path, query or user info`);
  }
  return new URL(url.origin);
}

/**
 * The response body: streamed to `consume` on success when the call asks (then empty), else
 * read within its cap (readResponse).
 */
async function readBody(call: HttpCall, res: FetchResponse): Promise<Buffer> {
  if (call.consume && SUCCESS.has(res.status) && res.body) {
    await call.consume(res.body);
    return Buffer.alloc(0);
  }
  return readResponse(res, call.maxBytes);
}

export class AdminTransport {
  readonly site: string;
  readonly origin: string;
  private readonly base: URL;
  private readonly signer: RequestSigner;
  private readonly agent: Agent;
  private readonly secrets: readonly string[];

  constructor(private readonly opts: TransportOptions) {
    this.site = opts.site;
    try {
      this.base = normalizeEndpoint(opts.endpoint);
    } catch (e: unknown) {
      throw new SiteError(opts.site, 'connect', 'Invalid', (e as Error).message);
    }
    this.origin = this.base.origin;
    this.signer = new RequestSigner(opts);
    this.agent = new Agent({
      connect: {
        ...(opts.ca === undefined ? {} : { ca: opts.ca }),
        rejectUnauthorized: opts.insecureSkipVerify !== true,
      },
    });
    this.secrets = [
      opts.secretKey,
      ...(opts.sessionToken === undefined ? [] : [opts.sessionToken]),
    ];
  }

  /** Sends the call; an idempotent GET is retried once on Unreachable, Throttled or Internal. */
  async send(call: HttpCall): Promise<HttpAnswer> {
    const attempts = call.method === 'GET' ? 2 : 1;
    for (let attempt = 1; ; attempt++) {
      call.signal?.throwIfAborted();
      try {
        return await this.attempt(call);
      } catch (e: unknown) {
        if (attempt >= attempts || !(e instanceof SiteError) || !RETRY_KINDS.has(e.kind)) throw e;
        if (call.signal?.aborted === true) throw e;
      }
      await sleep((this.opts.retryDelayMs ?? defaultRetryDelay)(), undefined, {
        ...(call.signal ? { signal: call.signal } : {}),
      }).catch(() => undefined);
    }
  }

  /** Closes pooled connections. The transport must not be used afterwards. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  /** A SiteError whose message is scrubbed of every known secret. */
  error(
    call: Pick<HttpCall, 'op' | 'secrets'>,
    kind: SiteErrorKind,
    message: string,
    extra: { cause?: unknown; code?: string | undefined; status?: number } = {},
  ): SiteError {
    const clean = redactSecrets(message, [...this.secrets, ...(call.secrets ?? [])]);
    return new SiteError(this.site, call.op, kind, clean, {
      ...(extra.cause === undefined ? {} : { cause: extra.cause }),
      ...(extra.code === undefined ? {} : { code: extra.code }),
      ...(extra.status === undefined ? {} : { status: extra.status }),
    });
  }

  private async signedRequest(
    call: HttpCall,
  ): Promise<{ url: URL; headers: Record<string, string> }> {
    const query = call.query ?? {};
    const url = new URL(encodePath(call.path), this.base);
    url.search = canonicalQueryString(query);
    const headers = await this.signer.sign({
      method: call.method,
      url,
      query,
      body: call.body,
      contentType: call.contentType,
    });
    delete headers['host'];
    return { url, headers };
  }

  private async attempt(call: HttpCall): Promise<HttpAnswer> {
    const { url, headers } = await this.signedRequest(call);
    const timeoutMs = call.timeoutMs ?? this.opts.timeoutMs;
    this.opts.onCall?.(call.op);
    let status: number;
    let resHeaders: HeaderReader;
    let body: Buffer;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    try {
      const res = await fetch(url, {
        method: call.method,
        headers,
        ...(call.body === undefined ? {} : { body: call.body }),
        redirect: 'manual',
        dispatcher: this.agent,
        signal,
      });
      status = res.status;
      resHeaders = res.headers;
      body = await readBody(call, res);
    } catch (e: unknown) {
      call.signal?.throwIfAborted();
      throw this.readError(call, e, timeout.aborted ? timeoutMs : undefined);
    }
    if (SUCCESS.has(status)) return { status, headers: resHeaders, body };
    return this.httpError(call, status, resHeaders, body);
  }

  /** A failure while sending or reading: ours (`consume`), a body past its cap, or transport. */
  private readError(call: HttpCall, e: unknown, timedOutAfter: number | undefined): SiteError {
    if (e instanceof SiteError) return e; // from `consume`
    if (e instanceof ResponseTooLargeError) {
      // Names the request and the limit; the body itself is never quoted.
      const what = `${call.method} ${call.path} exceeded ${formatBytes(e.limit)}`;
      return this.error(call, 'Invalid', `response too large: ${what}`);
    }
    return this.transportError(call, e, timedOutAfter);
  }

  private httpError(
    call: HttpCall,
    status: number,
    headers: HeaderReader,
    body: Buffer,
  ): HttpAnswer {
    const parsed = parseErrorBody(body);
    const code = parsed?.code;
    if (code !== undefined && call.tolerate?.includes(code) === true) {
      return { status, headers, body, code };
    }
    const kind = adminStatusKind(status, code);
    const message = describeHttpError(`${call.method} ${call.path}`, status, parsed);
    throw this.error(call, kind, message, { code, status });
  }

  /** `timedOutAfter` is set when our own timeout fired. */
  private transportError(call: HttpCall, e: unknown, timedOutAfter: number | undefined): SiteError {
    const request = `${call.method} ${call.path}`;
    const kind =
      timedOutAfter === undefined
        ? (networkErrorKind(e) ?? transportErrorKind(e, false))
        : 'Timeout';
    if (kind === 'Timeout') {
      const within = timedOutAfter === undefined ? '' : ` within ${timedOutAfter} ms`;
      return this.error(call, 'Timeout', `no answer from ${this.origin}${within} (${request})`, {
        cause: e,
      });
    }
    const code = transportErrorCode(e);
    const why = code ?? (e instanceof Error ? e.message : String(e));
    return this.error(call, 'Unreachable', `cannot reach ${this.origin} (${why}) for ${request}`, {
      cause: e,
    });
  }
}

/**
 * A response body within its cap: a success's is refused past `maxBytes` (default
 * MAX_RESPONSE_BYTES), and a declared length past it is refused unread; of an error's, only the
 * first MAX_ERROR_BODY_BYTES are read, the rest dropped.
 */
async function readResponse(res: FetchResponse, maxBytes: number | undefined): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  if (!SUCCESS.has(res.status)) return readPrefix(res.body, MAX_ERROR_BODY_BYTES);
  const limit = maxBytes ?? MAX_RESPONSE_BYTES;
  const declared = declaredLength(res.headers.get('content-length'));
  // A declared length counts only without a content encoding (undici decodes those).
  if (declared !== undefined && declared > limit && !res.headers.has('content-encoding')) {
    await res.body.cancel();
    throw new ResponseTooLargeError(limit);
  }
  return readBounded(res.body, limit);
}
