/**
 * How much the operator reads from a site, and the reading that enforces it.
 *
 * A site is outside the operator's trust: a broken or hostile one may answer a gigabyte, or a
 * small zip that expands to gigabytes. Every response body is read against a cap and refused
 * past it with an `Invalid` SiteError that names the request and the limit, never the body.
 * The caps are fixed: far above what a real site sends, far below the operator's memory
 * (docs/decisions.md, "Input from sites and users is bounded"; docs/operations.md).
 */
import { type Readable, Transform, pipeline } from 'node:stream';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Any admin-API or S3 response that is not a bulk export (JSON, XML). */
export const MAX_RESPONSE_BYTES = 4 * MiB;
/**
 * Server info (one entry per server and drive, ~400 bytes a drive): the first call of every
 * observation, so a site that streams garbage is cut off early (the others then stop too).
 */
export const MAX_SERVER_INFO_BYTES = 2 * MiB;
/** The body of an error response; past it the error is reported without the server's code. */
export const MAX_ERROR_BODY_BYTES = 64 * KiB;
/** An `export-iam` or `export-bucket-metadata` zip as it arrives. */
export const MAX_EXPORT_BYTES = 16 * MiB;
/** Every file of one export, decompressed. */
export const MAX_EXPORT_UNZIPPED_BYTES = 64 * MiB;
/** One file of an export, decompressed (IAM exports put every user in one file). */
export const MAX_EXPORT_ENTRY_BYTES = 32 * MiB;
/** One line of a streamed JSON-lines answer (`replication/diff`). */
export const MAX_JSON_LINE_BYTES = 1 * MiB;
/** A bucket name longer than this is no bucket name (S3 allows 63, legacy us-east-1 255). */
export const MAX_BUCKET_NAME_LENGTH = 255;

/** `8 MiB`, `1.5 MiB`, `64 KiB`, `300 bytes`. */
export function formatBytes(n: number): string {
  const unit = (size: number, name: string) =>
    `${n % size === 0 ? String(n / size) : (n / size).toFixed(1)} ${name}`;
  if (n >= MiB) return unit(MiB, 'MiB');
  if (n >= KiB) return unit(KiB, 'KiB');
  return `${n} bytes`;
}

/** A body that went past its cap. Its message names the limit only. */
export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
  constructor(readonly limit: number) {
    super(`response too large: exceeded ${formatBytes(limit)}`);
  }
}

export const isResponseTooLarge = (e: unknown): e is ResponseTooLargeError =>
  e instanceof ResponseTooLargeError;

/** The Content-Length a response declares, when it declares a usable one. */
export function declaredLength(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || !/^\d{1,15}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/**
 * Reads a whole body, refusing it as soon as it passes `limit` bytes. Leaving the loop early
 * cancels the stream, so the rest is never downloaded.
 */
export async function readBounded(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > limit) throw new ResponseTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Reads at most `limit` bytes of a body and drops the rest (cancelling the download): for error
 * responses, whose body only ever serves to find the server's error code.
 */
export async function readPrefix(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    total += chunk.byteLength;
    if (total >= limit) break;
  }
  return Buffer.concat(chunks, total).subarray(0, limit);
}

/**
 * A stream that passes `source` through and fails with ResponseTooLargeError past `limit`
 * bytes, destroying `source` (for Node streams read by someone else: the AWS SDK).
 */
export function limitReadable(source: Readable, limit: number): Readable {
  let total = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      if (total > limit) done(new ResponseTooLargeError(limit));
      else done(null, chunk);
    },
  });
  // pipeline destroys the source when the limiter fails; the reader sees the limiter's error.
  pipeline(source, limiter, () => undefined);
  return limiter;
}
