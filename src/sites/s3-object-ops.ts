/**
 * Object-level operations over the S3 API, shared by the MinIO and s3 drivers: what the object
 * copier reads from one site and writes to another. Bodies stream both ways; nothing here
 * buffers a whole object (a multipart upload holds at most `partSize × queueSize`), and
 * nothing deletes object data (a delete is a new delete marker).
 */
import { Readable } from 'node:stream';

import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type PutObjectCommandInput,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

import { toSiteError } from './s3-errors.js';
import type { S3Transport } from './s3-transport.js';
import { parseVersionPage } from './s3-version-page.js';
import type {
  ObjectAttributes,
  ObjectOps,
  ObjectVersionHead,
  ObjectVersionRead,
  SiteConnection,
  UploadOptions,
  VersionCursor,
  VersionPage,
  VersionRef,
} from './site-client.js';
import { SiteError } from './site-error.js';

/** S3 answers at most 1000 entries per page. */
const MAX_PAGE = 1000;
/** S3 takes at most 10 000 parts per upload. */
const MAX_PARTS = 10_000;

/** Cuts a stream into consecutive slices of given lengths, without copying or buffering. */
export class ByteSlicer {
  private readonly chunks: AsyncIterator<unknown>;
  private rest: Buffer | undefined;

  constructor(body: Readable) {
    this.chunks = body[Symbol.asyncIterator]();
  }

  /** The next `length` bytes; fails when the stream ends before. */
  async *take(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      let chunk = this.rest;
      this.rest = undefined;
      if (chunk === undefined) {
        const next = await this.chunks.next();
        if (next.done === true) throw new Error(`the body ended ${left} bytes early`);
        chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
      }
      if (chunk.length > left) {
        this.rest = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      yield chunk;
    }
  }
}

interface ObjectHeaders {
  ContentLength?: number | undefined;
  ContentType?: string | undefined;
  ContentEncoding?: string | undefined;
  ContentDisposition?: string | undefined;
  ContentLanguage?: string | undefined;
  CacheControl?: string | undefined;
  Metadata?: Record<string, string> | undefined;
  TagCount?: number | undefined;
  ObjectLockMode?: string | undefined;
  ObjectLockRetainUntilDate?: Date | undefined;
  ObjectLockLegalHoldStatus?: string | undefined;
  ETag?: string | undefined;
  LastModified?: Date | undefined;
}

const opt = <K extends string, V>(key: K, v: V | undefined) =>
  (v === undefined ? {} : { [key]: v }) as Partial<Record<K, V>>;

/** The attributes of a GET or HEAD answer (tags apart). */
export function headOf(h: ObjectHeaders, tags: Record<string, string>): ObjectVersionHead {
  const mode = h.ObjectLockMode;
  const until = h.ObjectLockRetainUntilDate;
  return {
    size: h.ContentLength ?? 0,
    ...opt('etag', h.ETag),
    ...opt('lastModified', h.LastModified?.toISOString()),
    ...opt('contentType', h.ContentType),
    ...opt('contentEncoding', h.ContentEncoding),
    ...opt('contentDisposition', h.ContentDisposition),
    ...opt('contentLanguage', h.ContentLanguage),
    ...opt('cacheControl', h.CacheControl),
    metadata: { ...h.Metadata },
    tags,
    ...((mode === 'GOVERNANCE' || mode === 'COMPLIANCE') && until !== undefined
      ? { retention: { mode, retainUntil: until.toISOString() } }
      : {}),
    ...(h.ObjectLockLegalHoldStatus === undefined
      ? {}
      : { legalHold: h.ObjectLockLegalHoldStatus === 'ON' }),
  };
}

/** `x-amz-tagging`: the tag set as a URL query string. */
export function taggingHeader(tags: Readonly<Record<string, string>>): string | undefined {
  const entries = Object.entries(tags);
  if (entries.length === 0) return undefined;
  return entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

/** The PutObject/CreateMultipartUpload fields that carry `a`. */
export function putParams(a: ObjectAttributes): Partial<PutObjectCommandInput> {
  return {
    ...opt('ContentType', a.contentType),
    ...opt('ContentEncoding', a.contentEncoding),
    ...opt('ContentDisposition', a.contentDisposition),
    ...opt('ContentLanguage', a.contentLanguage),
    ...opt('CacheControl', a.cacheControl),
    Metadata: { ...a.metadata },
    ...opt('Tagging', taggingHeader(a.tags)),
    ...(a.retention
      ? {
          ObjectLockMode: a.retention.mode,
          ObjectLockRetainUntilDate: new Date(a.retention.retainUntil),
        }
      : {}),
    ...(a.legalHold === true ? { ObjectLockLegalHoldStatus: 'ON' as const } : {}),
  };
}

const withSignal = (signal: AbortSignal) => ({ abortSignal: signal });

export class S3ObjectOps implements ObjectOps {
  constructor(
    private readonly conn: SiteConnection,
    private readonly s3: S3Client,
    private readonly raw: S3Transport,
  ) {}

  private async call<T>(op: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    try {
      return await fn();
    } catch (e: unknown) {
      signal.throwIfAborted();
      throw toSiteError(this.conn.name, this.conn.endpoint, op, e);
    }
  }

  private async rawPage(
    bucket: string,
    opts: { after?: VersionCursor | undefined; prefix?: string | undefined; maxKeys?: number },
    signal: AbortSignal,
  ): Promise<VersionPage> {
    const query: Record<string, string> = {
      'encoding-type': 'url',
      'max-keys': String(Math.min(opts.maxKeys ?? MAX_PAGE, MAX_PAGE)),
      ...opt('prefix', opts.prefix),
      ...opt('key-marker', opts.after?.key),
      ...opt('version-id-marker', opts.after?.versionId),
    };
    const answer = await this.raw.send({
      op: 'ListObjectVersions',
      method: 'GET',
      bucket,
      subresource: 'versions',
      query,
      signal,
    });
    return parseVersionPage(answer.body.toString('utf8'), this.conn.name);
  }

  /**
   * One page in the site's order. After a bare key (no version), a listing must begin with
   * the newest version of the next key; when it does not (moto 5 skips the first version
   * after a bare `key-marker`), that key is listed again on its own.
   */
  async listVersionPage(
    bucket: string,
    opts: { after?: VersionCursor | undefined; prefix?: string | undefined; maxKeys?: number },
    signal: AbortSignal,
  ): Promise<VersionPage> {
    const page = await this.rawPage(bucket, opts, signal);
    const first = page.versions[0];
    const bare = opts.after !== undefined && opts.after.versionId === undefined;
    if (!bare || first === undefined || first.isLatest) return page;
    const again = await this.rawPage(bucket, { prefix: first.key }, signal);
    const own = again.versions.filter((v) => v.key === first.key);
    if (again.next !== undefined && again.versions.every((v) => v.key === first.key)) {
      throw new SiteError(
        this.conn.name,
        'ListObjectVersions',
        'Internal',
        `${bucket}: the listing after key ${JSON.stringify(opts.after?.key)} skipped versions of ${JSON.stringify(first.key)} and that key holds more than one page of versions`,
      );
    }
    return { ...page, versions: [...own, ...page.versions.filter((v) => v.key !== first.key)] };
  }

  private async tagsOf(ref: VersionRef, count: number | undefined, signal: AbortSignal) {
    if (count === undefined || count === 0) return {};
    const r = await this.s3.send(
      new GetObjectTaggingCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }),
      withSignal(signal),
    );
    return Object.fromEntries((r.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  headObjectVersion(ref: VersionRef, signal: AbortSignal): Promise<ObjectVersionHead> {
    return this.call('HeadObject', signal, async () => {
      const h = await this.s3.send(
        new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }),
        withSignal(signal),
      );
      return headOf(h, await this.tagsOf(ref, h.TagCount, signal));
    });
  }

  getObjectVersion(ref: VersionRef, signal: AbortSignal): Promise<ObjectVersionRead> {
    return this.call('GetObject', signal, async () => {
      const r = await this.s3.send(
        new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }),
        withSignal(signal),
      );
      const body = r.Body as Readable | undefined;
      if (body === undefined) {
        throw new SiteError(this.conn.name, 'GetObject', 'Internal', 'the answer has no body');
      }
      try {
        return { ...headOf(r, await this.tagsOf(ref, r.TagCount, signal)), body };
      } catch (e: unknown) {
        body.destroy();
        throw e;
      }
    });
  }

  putObject(
    target: { bucket: string; key: string },
    obj: { body: Readable; size: number; attributes: ObjectAttributes },
    opts: UploadOptions,
    signal: AbortSignal,
  ): Promise<{ versionId: string }> {
    const params = {
      Bucket: target.bucket,
      Key: target.key,
      Body: obj.body,
      ...putParams(obj.attributes),
    };
    const multipart = obj.size >= opts.multipartThreshold;
    return this.call(multipart ? 'MultipartUpload' : 'PutObject', signal, async () => {
      let versionId: string | undefined;
      if (!multipart) {
        const r = await this.s3.send(
          new PutObjectCommand({ ...params, ContentLength: obj.size }),
          withSignal(signal),
        );
        versionId = r.VersionId;
      } else {
        versionId = await this.multipart(params, obj, opts, signal);
      }
      return { versionId: this.versionOf('PutObject', target, versionId) };
    });
  }

  /**
   * A multipart upload whose parts are slices of the body streamed one after another: nothing
   * is buffered beyond the streams' own chunks. A failure aborts the upload (its parts are
   * dropped); the caller copies the whole object again.
   */
  private async multipart(
    params: PutObjectCommandInput,
    obj: { body: Readable; size: number },
    opts: UploadOptions,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const { Body: _body, ...head } = params;
    const target = { Bucket: params.Bucket, Key: params.Key };
    const created = await this.s3.send(
      new CreateMultipartUploadCommand({ ...head, ChecksumAlgorithm: 'CRC32' }),
      withSignal(signal),
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined) {
      throw new SiteError(this.conn.name, 'CreateMultipartUpload', 'Internal', 'no UploadId');
    }
    try {
      const partSize = Math.max(opts.partSize, Math.ceil(obj.size / MAX_PARTS));
      const slicer = new ByteSlicer(obj.body);
      const parts: CompletedPart[] = [];
      for (let offset = 0, n = 1; offset < obj.size; offset += partSize, n++) {
        const length = Math.min(partSize, obj.size - offset);
        const r = await this.s3.send(
          new UploadPartCommand({
            ...target,
            UploadId: uploadId,
            PartNumber: n,
            Body: Readable.from(slicer.take(length), { objectMode: false }),
            ContentLength: length,
            ChecksumAlgorithm: 'CRC32',
          }),
          withSignal(signal),
        );
        parts.push({ PartNumber: n, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32 });
      }
      const done = await this.s3.send(
        new CompleteMultipartUploadCommand({
          ...target,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
        withSignal(signal),
      );
      return done.VersionId;
    } catch (e: unknown) {
      await this.s3
        .send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId }))
        .catch(() => undefined);
      throw e;
    }
  }

  putDeleteMarker(
    target: { bucket: string; key: string },
    signal: AbortSignal,
  ): Promise<{ versionId: string }> {
    return this.call('DeleteObject', signal, async () => {
      const r = await this.s3.send(
        new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key }),
        withSignal(signal),
      );
      if (r.DeleteMarker !== true) {
        throw new SiteError(
          this.conn.name,
          'DeleteObject',
          'Invalid',
          `${target.bucket}/${target.key}: no delete marker was made (is the bucket versioned?)`,
        );
      }
      return { versionId: this.versionOf('DeleteObject', target, r.VersionId) };
    });
  }

  /** The version ID a write answered; a versioned bucket always names one. */
  private versionOf(op: string, t: { bucket: string; key: string }, v: string | undefined) {
    if (v === undefined || v === '' || v === 'null') {
      throw new SiteError(
        this.conn.name,
        op,
        'Invalid',
        `${t.bucket}/${t.key}: the write made no new version (is the bucket versioned?)`,
      );
    }
    return v;
  }
}
