/**
 * Error bodies of the MinIO admin API and their mapping to `SiteError`.
 *
 * Admin handlers answer JSON `{"Code","Message","Resource","RequestId",...}`; the auth middleware,
 * `export-iam` and S3-extension routes answer S3 XML `<Error><Code>…</Code><Message>…`. madmin
 * parses JSON first and falls back to XML (minio-admin-api.md §1.5); so do we.
 */
import { type SiteErrorKind, httpStatusKind } from '../../site-error.js';

/** madmin truncates error bodies at 100 KiB before parsing. */
export const MAX_ERROR_BODY = 100 * 1024;

export interface AdminErrorBody {
  readonly code?: string | undefined;
  readonly message?: string | undefined;
  readonly requestId?: string | undefined;
}

const XML_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

function decodeXmlText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ent: string) => {
    if (ent.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ent.slice(2), 16));
    if (ent.startsWith('#')) return String.fromCodePoint(Number.parseInt(ent.slice(1), 10));
    return XML_ENTITIES[ent] ?? whole;
  });
}

function xmlElement(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  const text = m?.[1];
  return text === undefined ? undefined : decodeXmlText(text).trim();
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function parseJsonError(text: string): AdminErrorBody | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const o = parsed as Record<string, unknown>;
  const code = nonEmpty(o['Code']);
  const message = nonEmpty(o['Message']);
  if (code === undefined && message === undefined) return undefined;
  return { code, message, requestId: nonEmpty(o['RequestId']) };
}

function parseXmlError(text: string): AdminErrorBody | undefined {
  const start = text.indexOf('<Error>');
  if (start < 0) return undefined;
  const xml = text.slice(start);
  const code = xmlElement(xml, 'Code');
  const message = xmlElement(xml, 'Message');
  if (code === undefined && message === undefined) return undefined;
  return { code, message, requestId: xmlElement(xml, 'RequestId') };
}

/** The code and message of an error body, JSON first, then S3 XML; undefined if neither. */
export function parseErrorBody(body: Uint8Array): AdminErrorBody | undefined {
  const text = Buffer.from(body.subarray(0, MAX_ERROR_BODY)).toString('utf8').trim();
  if (text === '') return undefined;
  return text.startsWith('{') ? parseJsonError(text) : parseXmlError(text);
}

const AUTH_CODES: ReadonlySet<string> = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'RequestTimeTooSkewed',
  'InvalidToken',
  'ExpiredToken',
]);

/** The kind of an HTTP error answer. 426 means no admin route matched the request's shape. */
export function adminStatusKind(status: number, code: string | undefined): SiteErrorKind {
  if (status === 426) return 'Unsupported';
  if (code !== undefined && AUTH_CODES.has(code)) return 'AuthFailed';
  if (code === 'XMinioAdminPolicyChangeAlreadyApplied') return 'Conflict';
  return httpStatusKind(status, code);
}

/** Replaces every occurrence of each secret (of 4+ characters) with `***`. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (s !== undefined && s.length >= 4) out = out.split(s).join('***');
  }
  return out;
}

/** A one-line description of an HTTP error answer, for a SiteError message. */
export function describeHttpError(
  request: string,
  status: number,
  body: AdminErrorBody | undefined,
): string {
  if (status === 426 && (body?.code === undefined || body.code === 'XMinioAdminVersionMismatch')) {
    return `${request}: HTTP 426: no admin API route matched (bad request shape, or the server does not have this API)`;
  }
  if (body === undefined) return `${request}: HTTP ${status} without an error body`;
  const code = body.code ?? 'no error code';
  const message = body.message === undefined ? '' : `: ${body.message}`;
  return `${request}: HTTP ${status} ${code}${message}`;
}

/**
 * The first Node/undici error code along a cause chain, for a transport failure's message.
 * Duck-typed: errors from Node internals may come from another realm (e.g. under Jest's VM).
 */
export function transportErrorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 6 && typeof cur === 'object' && cur !== null; depth++) {
    const { code, cause } = cur as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    cur = cause;
  }
  return undefined;
}

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Timeout for timeout codes, else Unreachable: what a failure without any HTTP answer is. */
export function transportErrorKind(e: unknown, timedOut: boolean): 'Timeout' | 'Unreachable' {
  if (timedOut) return 'Timeout';
  const code = transportErrorCode(e);
  return code !== undefined && TIMEOUT_CODES.has(code) ? 'Timeout' : 'Unreachable';
}
