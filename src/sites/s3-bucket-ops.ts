import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';

import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketEncryptionCommand,
  DeleteBucketPolicyCommand,
  DeleteBucketReplicationCommand,
  DeleteBucketTaggingCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';

import {
  MAX_BUCKET_NAME_LENGTH,
  MAX_RESPONSE_BYTES,
  ResponseTooLargeError,
  declaredLength,
  limitReadable,
} from './response-limits.js';
import { isS3NotFound, toSiteError } from './s3-errors.js';
import { SiteError } from './site-error.js';
import { S3ObjectOps } from './s3-object-ops.js';
import { S3Transport } from './s3-transport.js';
import type {
  BucketOps,
  BucketSummary,
  EncryptionRule,
  ObjectAttributes,
  ObjectLockConfig,
  ObjectOps,
  ObjectVersion,
  ObjectVersionHead,
  ObjectVersionRead,
  ReplicationPutOptions,
  SiteConnection,
  UploadOptions,
  VersionCursor,
  VersionPage,
  VersionRef,
  VersioningState,
} from './site-client.js';

/** Raw replication-configuration XML transport: the SDK's model drops MinIO's extensions. */
export interface ReplicationXMLTransport {
  get(bucket: string, signal?: AbortSignal): Promise<string | undefined>;
  put(
    bucket: string,
    xml: string,
    signal?: AbortSignal,
    opts?: ReplicationPutOptions,
  ): Promise<void>;
}

/** The SDK's per-request options for `signal` (the SDK then aborts the request with it). */
function withSignal(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal === undefined ? {} : { abortSignal: signal };
}

type Middleware = Parameters<S3Client['middlewareStack']['add']>[0];

/** Commands whose body is object data, streamed to the caller and never buffered whole. */
const STREAMED_COMMANDS = new Set(['GetObjectCommand']);

/**
 * Caps every response body the SDK reads (it buffers whole XML documents before parsing them).
 * Placed innermost in the deserialize step, it wraps the raw body before anything reads it; a
 * declared length past the cap is refused unread. The error surfaces through `toSiteError`.
 * Object data (GetObject) is exempt: it is a stream its reader consumes piece by piece.
 */
function boundedBody(limit: number): Middleware {
  return (next, context) => async (args) => {
    const result = await next(args);
    if (STREAMED_COMMANDS.has(String(context.commandName))) return result;
    const response = result.response as { headers?: Record<string, string>; body?: unknown };
    if (response.body instanceof Readable) {
      const declared = declaredLength(response.headers?.['content-length']);
      if (declared !== undefined && declared > limit) {
        response.body.destroy();
        throw new ResponseTooLargeError(limit);
      }
      response.body = limitReadable(response.body, limit);
    }
    return result;
  };
}

/**
 * One S3Client per site and credential set, with timeouts, path-style addressing, 2 attempts,
 * and a cap on every response body (MAX_RESPONSE_BYTES).
 */
export function newS3Client(conn: SiteConnection): S3Client {
  const timeout = conn.timeoutMs ?? 15_000;
  const https = conn.endpoint.startsWith('https:');
  const client = new S3Client({
    endpoint: conn.endpoint,
    region: conn.region,
    forcePathStyle: true,
    maxAttempts: 2,
    credentials: { accessKeyId: conn.accessKey, secretAccessKey: conn.secretKey },
    requestHandler: {
      connectionTimeout: Math.min(timeout, 5000),
      requestTimeout: timeout,
      ...(https
        ? {
            httpsAgent: new HttpsAgent({
              keepAlive: true,
              ...(conn.ca ? { ca: conn.ca } : {}),
              rejectUnauthorized: !conn.insecureSkipVerify,
            }),
          }
        : {}),
    },
  });
  client.middlewareStack.add(boundedBody(MAX_RESPONSE_BYTES), {
    step: 'deserialize',
    priority: 'low',
    name: 'sitesyncBoundedBody',
  });
  if (conn.onCall) {
    const onCall = conn.onCall;
    client.middlewareStack.add(
      (next, context) => (args) => {
        onCall(`s3:${String(context.commandName).replace(/Command$/, '')}`);
        return next(args);
      },
      { step: 'initialize', name: 'sitesyncCallCounter' },
    );
  }
  return client;
}

/** Bucket- and object-level operations over the S3 API, shared by the MinIO and S3 drivers. */
export class S3BucketOps implements BucketOps, ObjectOps {
  private readonly objects: S3ObjectOps;

  /** `raw`: the signed transport for raw S3 requests (a new one when not given). */
  constructor(
    private readonly conn: SiteConnection,
    readonly s3: S3Client,
    private readonly replicationXML: ReplicationXMLTransport,
    protected readonly raw: S3Transport = new S3Transport(conn),
  ) {
    this.objects = new S3ObjectOps(conn, s3, raw);
  }

  // Objects ------------------------------------------------------------------------------------

  listVersionPage(
    bucket: string,
    opts: { after?: VersionCursor | undefined; prefix?: string | undefined; maxKeys?: number },
    signal: AbortSignal,
  ): Promise<VersionPage> {
    return this.objects.listVersionPage(bucket, opts, signal);
  }

  headObjectVersion(ref: VersionRef, signal: AbortSignal): Promise<ObjectVersionHead> {
    return this.objects.headObjectVersion(ref, signal);
  }

  getObjectVersion(ref: VersionRef, signal: AbortSignal): Promise<ObjectVersionRead> {
    return this.objects.getObjectVersion(ref, signal);
  }

  putObject(
    target: { bucket: string; key: string },
    obj: { body: Readable; size: number; attributes: ObjectAttributes },
    opts: UploadOptions,
    signal: AbortSignal,
  ): Promise<{ versionId: string }> {
    return this.objects.putObject(target, obj, opts, signal);
  }

  putDeleteMarker(
    target: { bucket: string; key: string },
    signal: AbortSignal,
  ): Promise<{ versionId: string }> {
    return this.objects.putDeleteMarker(target, signal);
  }

  // Buckets ------------------------------------------------------------------------------------

  /**
   * Runs `fn`, turning any failure into a SiteError that names this site and `op`. Once
   * `signal` aborts nothing is sent, and the abort's reason is what is thrown.
   */
  protected async call<T>(
    op: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (e: unknown) {
      signal?.throwIfAborted();
      throw toSiteError(this.conn.name, this.conn.endpoint, op, e);
    }
  }

  /** Like call, but a NotFound answer yields `fallback`. */
  protected async optional<T>(
    op: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
    fallback: T,
  ): Promise<T> {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (e: unknown) {
      signal?.throwIfAborted();
      if (isS3NotFound(e)) return fallback;
      throw toSiteError(this.conn.name, this.conn.endpoint, op, e);
    }
  }

  listBuckets(signal?: AbortSignal): Promise<BucketSummary[]> {
    return this.call('ListBuckets', signal, async () => {
      const out: BucketSummary[] = [];
      let token: string | undefined;
      do {
        const r = await this.s3.send(
          new ListBucketsCommand({ ContinuationToken: token, MaxBuckets: 10_000 }),
          withSignal(signal),
        );
        for (const b of r.Buckets ?? []) {
          if (!b.Name) continue;
          if (b.Name.length > MAX_BUCKET_NAME_LENGTH) {
            throw new SiteError(
              this.conn.name,
              'ListBuckets',
              'Invalid',
              `malformed response: a bucket name of ${b.Name.length} characters (at most ${MAX_BUCKET_NAME_LENGTH})`,
            );
          }
          out.push({ name: b.Name, createdAt: b.CreationDate?.toISOString() });
        }
        if (r.ContinuationToken !== undefined && r.ContinuationToken === token) {
          throw new SiteError(
            this.conn.name,
            'ListBuckets',
            'NotReady',
            'the listing repeats its continuation token: refusing a partial listing',
          );
        }
        token = r.ContinuationToken;
      } while (token);
      return out;
    });
  }

  createBucket(
    name: string,
    opts: { objectLock?: boolean } = {},
    signal?: AbortSignal,
  ): Promise<void> {
    return this.call('CreateBucket', signal, async () => {
      try {
        await this.s3.send(
          new CreateBucketCommand({
            Bucket: name,
            ObjectLockEnabledForBucket: opts.objectLock === true,
          }),
          withSignal(signal),
        );
      } catch (e: unknown) {
        const code = (e as { name?: string }).name;
        if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw e;
      }
    });
  }

  bucketHasData(name: string, signal?: AbortSignal): Promise<boolean> {
    return this.call('ListObjectVersions', signal, async () => {
      const r = await this.s3.send(
        new ListObjectVersionsCommand({ Bucket: name, MaxKeys: 1 }),
        withSignal(signal),
      );
      return (r.Versions?.length ?? 0) + (r.DeleteMarkers?.length ?? 0) > 0;
    });
  }

  async deleteBucketIfEmpty(
    name: string,
    signal?: AbortSignal,
  ): Promise<'deleted' | 'not-empty' | 'missing'> {
    try {
      if (await this.bucketHasData(name, signal)) return 'not-empty';
    } catch (e: unknown) {
      if (e instanceof Error && 'kind' in e && e.kind === 'NotFound') return 'missing';
      throw e;
    }
    return this.call('DeleteBucket', signal, async () => {
      try {
        await this.s3.send(new DeleteBucketCommand({ Bucket: name }), withSignal(signal));
        return 'deleted' as const;
      } catch (e: unknown) {
        const code = (e as { name?: string }).name;
        if (code === 'BucketNotEmpty') return 'not-empty' as const;
        if (code === 'NoSuchBucket') return 'missing' as const;
        throw e;
      }
    });
  }

  getVersioning(bucket: string, signal?: AbortSignal): Promise<VersioningState> {
    return this.call('GetBucketVersioning', signal, async () => {
      const r = await this.s3.send(
        new GetBucketVersioningCommand({ Bucket: bucket }),
        withSignal(signal),
      );
      return r.Status === 'Enabled' || r.Status === 'Suspended' ? r.Status : 'Unversioned';
    });
  }

  enableVersioning(bucket: string, signal?: AbortSignal): Promise<void> {
    return this.call('PutBucketVersioning', signal, async () => {
      await this.s3.send(
        new PutBucketVersioningCommand({
          Bucket: bucket,
          VersioningConfiguration: { Status: 'Enabled' },
        }),
        withSignal(signal),
      );
    });
  }

  getBucketPolicy(bucket: string, signal?: AbortSignal): Promise<string | undefined> {
    return this.optional(
      'GetBucketPolicy',
      signal,
      async () =>
        (await this.s3.send(new GetBucketPolicyCommand({ Bucket: bucket }), withSignal(signal)))
          .Policy,
      undefined,
    );
  }

  putBucketPolicy(bucket: string, policy: string, signal?: AbortSignal): Promise<void> {
    return this.call('PutBucketPolicy', signal, async () => {
      await this.s3.send(
        new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }),
        withSignal(signal),
      );
    });
  }

  deleteBucketPolicy(bucket: string, signal?: AbortSignal): Promise<void> {
    return this.optional(
      'DeleteBucketPolicy',
      signal,
      async () => {
        await this.s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }), withSignal(signal));
      },
      undefined,
    );
  }

  getBucketTags(bucket: string, signal?: AbortSignal): Promise<Record<string, string>> {
    return this.optional(
      'GetBucketTagging',
      signal,
      async () => {
        const r = await this.s3.send(
          new GetBucketTaggingCommand({ Bucket: bucket }),
          withSignal(signal),
        );
        return Object.fromEntries((r.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      },
      {},
    );
  }

  putBucketTags(bucket: string, tags: Record<string, string>, signal?: AbortSignal): Promise<void> {
    if (Object.keys(tags).length === 0) {
      return this.optional(
        'DeleteBucketTagging',
        signal,
        async () => {
          await this.s3.send(
            new DeleteBucketTaggingCommand({ Bucket: bucket }),
            withSignal(signal),
          );
        },
        undefined,
      );
    }
    return this.call('PutBucketTagging', signal, async () => {
      const TagSet = Object.entries(tags)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([Key, Value]) => ({ Key, Value }));
      await this.s3.send(
        new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet } }),
        withSignal(signal),
      );
    });
  }

  getObjectLockConfig(bucket: string, signal?: AbortSignal): Promise<ObjectLockConfig> {
    return this.optional<ObjectLockConfig>(
      'GetObjectLockConfiguration',
      signal,
      async () => {
        const r = await this.s3.send(
          new GetObjectLockConfigurationCommand({ Bucket: bucket }),
          withSignal(signal),
        );
        const c = r.ObjectLockConfiguration;
        const d = c?.Rule?.DefaultRetention;
        return {
          enabled: c?.ObjectLockEnabled === 'Enabled',
          defaultRetention:
            d?.Mode === undefined
              ? undefined
              : {
                  mode: d.Mode,
                  ...(d.Days ? { days: d.Days } : {}),
                  ...(d.Years ? { years: d.Years } : {}),
                },
        };
      },
      { enabled: false },
    );
  }

  putObjectLockConfig(
    bucket: string,
    config: ObjectLockConfig,
    signal?: AbortSignal,
  ): Promise<void> {
    return this.call('PutObjectLockConfiguration', signal, async () => {
      const d = config.defaultRetention;
      await this.s3.send(
        new PutObjectLockConfigurationCommand({
          Bucket: bucket,
          ObjectLockConfiguration: {
            ObjectLockEnabled: 'Enabled',
            ...(d
              ? { Rule: { DefaultRetention: { Mode: d.mode, Days: d.days, Years: d.years } } }
              : {}),
          },
        }),
        withSignal(signal),
      );
    });
  }

  getEncryption(bucket: string, signal?: AbortSignal): Promise<EncryptionRule | undefined> {
    return this.optional(
      'GetBucketEncryption',
      signal,
      async () => {
        const r = await this.s3.send(
          new GetBucketEncryptionCommand({ Bucket: bucket }),
          withSignal(signal),
        );
        const d =
          r.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
        if (!d?.SSEAlgorithm) return undefined;
        return {
          algorithm: d.SSEAlgorithm === 'aws:kms' ? ('aws:kms' as const) : ('AES256' as const),
          ...(d.KMSMasterKeyID ? { kmsKeyId: d.KMSMasterKeyID } : {}),
        };
      },
      undefined,
    );
  }

  putEncryption(bucket: string, rule: EncryptionRule, signal?: AbortSignal): Promise<void> {
    return this.call('PutBucketEncryption', signal, async () => {
      await this.s3.send(
        new PutBucketEncryptionCommand({
          Bucket: bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [
              {
                ApplyServerSideEncryptionByDefault: {
                  SSEAlgorithm: rule.algorithm,
                  ...(rule.kmsKeyId ? { KMSMasterKeyID: rule.kmsKeyId } : {}),
                },
              },
            ],
          },
        }),
        withSignal(signal),
      );
    });
  }

  deleteEncryption(bucket: string, signal?: AbortSignal): Promise<void> {
    return this.optional(
      'DeleteBucketEncryption',
      signal,
      async () => {
        await this.s3.send(
          new DeleteBucketEncryptionCommand({ Bucket: bucket }),
          withSignal(signal),
        );
      },
      undefined,
    );
  }

  getNotificationConfig(bucket: string, signal?: AbortSignal): Promise<unknown> {
    return this.call('GetBucketNotificationConfiguration', signal, async () => {
      const r = await this.s3.send(
        new GetBucketNotificationConfigurationCommand({ Bucket: bucket }),
        withSignal(signal),
      );
      return {
        topics: r.TopicConfigurations ?? [],
        queues: r.QueueConfigurations ?? [],
        lambdas: r.LambdaFunctionConfigurations ?? [],
      };
    });
  }

  getLifecycleConfig(bucket: string, signal?: AbortSignal): Promise<unknown> {
    return this.optional(
      'GetBucketLifecycleConfiguration',
      signal,
      async () => {
        const r = await this.s3.send(
          new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }),
          withSignal(signal),
        );
        return r.Rules ?? [];
      },
      undefined,
    );
  }

  getReplicationConfigXML(bucket: string, signal?: AbortSignal): Promise<string | undefined> {
    return this.replicationXML.get(bucket, signal);
  }

  putReplicationConfigXML(
    bucket: string,
    xml: string,
    signal?: AbortSignal,
    opts?: ReplicationPutOptions,
  ): Promise<void> {
    return this.replicationXML.put(bucket, xml, signal, opts);
  }

  deleteReplicationConfig(bucket: string, signal?: AbortSignal): Promise<void> {
    return this.optional(
      'DeleteBucketReplication',
      signal,
      async () => {
        await this.s3.send(
          new DeleteBucketReplicationCommand({ Bucket: bucket }),
          withSignal(signal),
        );
      },
      undefined,
    );
  }

  listObjectVersions(
    bucket: string,
    opts: { prefix?: string; max?: number } = {},
    signal?: AbortSignal,
  ): Promise<ObjectVersion[]> {
    return this.call('ListObjectVersions', signal, async () => {
      const out: ObjectVersion[] = [];
      const max = opts.max ?? Number.POSITIVE_INFINITY;
      let keyMarker: string | undefined;
      let versionMarker: string | undefined;
      do {
        const r = await this.s3.send(
          new ListObjectVersionsCommand({
            Bucket: bucket,
            Prefix: opts.prefix,
            KeyMarker: keyMarker,
            VersionIdMarker: versionMarker,
          }),
          withSignal(signal),
        );
        out.push(...(r.Versions ?? []).map((v) => toVersion(v, false)));
        out.push(...(r.DeleteMarkers ?? []).map((m) => toVersion(m, true)));
        keyMarker = r.IsTruncated ? r.NextKeyMarker : undefined;
        versionMarker = r.IsTruncated ? r.NextVersionIdMarker : undefined;
      } while (keyMarker !== undefined && out.length < max);
      return out.slice(0, max);
    });
  }
}

interface ListedVersion {
  Key?: string | undefined;
  VersionId?: string | undefined;
  IsLatest?: boolean | undefined;
  Size?: number | undefined;
  ETag?: string | undefined;
  LastModified?: Date | undefined;
}

function toVersion(v: ListedVersion, deleteMarker: boolean): ObjectVersion {
  return {
    key: v.Key ?? '',
    versionId: v.VersionId ?? 'null',
    isLatest: v.IsLatest ?? false,
    deleteMarker,
    size: v.Size ?? 0,
    etag: v.ETag,
    lastModified: v.LastModified?.toISOString(),
  };
}
