/**
 * MinIO's change hints (`SiteClient.changeFeed`): a named `audit_webhook` target (a dynamic
 * config subsystem: set-config-kv applies it without a restart and says so with
 * `x-minio-config-applied: true`), the cluster-wide ListenNotification stream for bucket
 * creation and removal (outbound, no server config), and reading part of a site again
 * (`export-iam`, `export-bucket-metadata?bucket=`, ListBuckets).
 */
import type {
  BucketEvent,
  ChangeFeedOps,
  ChangeFeedTarget,
  PartRequest,
  SitePart,
} from '../change-feed.js';
import { MAX_JSON_LINE_BYTES } from '../response-limits.js';
import { SiteError } from '../site-error.js';
import type { BucketSummary } from '../site-client.js';
import type { BucketMeta } from '../snapshot.js';
import type { MinioAdminClient } from './admin/admin-client.js';
import type { AdminTransport } from './admin/admin-transport.js';
import { formatConfigLine } from './admin/config-kv.js';
import { DecodeError, jsonLines } from './admin/decode.js';
import type { ExportCache } from './export-cache.js';

const AUDIT_SUBSYS = 'audit_webhook';
/** A failed delivery is retried this often (MinIO's default 3 s; at most 1 m). */
const RETRY_INTERVAL = '1s';
/** Buckets read again at once. */
const BUCKET_READS = 4;
/** MinIO writes `{"Records":null}` this often on an idle stream (`ping`, seconds). */
const PING_SECONDS = 10;
/** No line for this long: the stream is dead. */
const IDLE_MS = 3 * PING_SECONDS * 1000;
/** A stream is closed and opened again after this long, whatever happens. */
const STREAM_MAX_MS = 60 * 60 * 1000;

/** The `set-config-kv` line of a target (keys sorted: equal targets give equal text). */
export function auditTargetConfig(target: ChangeFeedTarget): string {
  return formatConfigLine(AUDIT_SUBSYS, target.name, {
    enable: 'on',
    endpoint: target.endpoint,
    auth_token: `Bearer ${target.token}`,
    batch_size: '1',
    retry_interval: RETRY_INTERVAL,
  });
}

export interface MinioChangeFeedDeps {
  site: string;
  admin: (signal: AbortSignal) => MinioAdminClient;
  transport: AdminTransport;
  listBuckets: (signal: AbortSignal) => Promise<BucketSummary[]>;
  exports: ExportCache;
}

/** A bucket the listing holds but the export does not (no config yet): its defaults. */
export function bareBucket(b: BucketSummary): BucketMeta {
  return {
    name: b.name,
    createdAt: b.createdAt,
    versioning: 'Unversioned',
    objectLock: false,
    hasLifecycle: false,
    hasNotification: false,
    targets: [],
  };
}

export class MinioChangeFeed implements ChangeFeedOps {
  constructor(private readonly deps: MinioChangeFeedDeps) {}

  async subscribe(target: ChangeFeedTarget, signal: AbortSignal): Promise<{ applied: boolean }> {
    const result = await this.deps.admin(signal).setConfigKV(auditTargetConfig(target));
    return { applied: !result.restartRequired };
  }

  async unsubscribe(name: string, signal: AbortSignal): Promise<void> {
    await this.deps.admin(signal).deleteConfigKV(`${AUDIT_SUBSYS}:${name}`);
  }

  async readPart(request: PartRequest, signal: AbortSignal): Promise<SitePart> {
    // As in snapshot(): the first call to fail ends the others.
    const abort = new AbortController();
    const sibling = AbortSignal.any([signal, abort.signal]);
    const failFast = <T>(p: Promise<T>): Promise<T> =>
      p.catch((e: unknown) => {
        abort.abort();
        throw e;
      });
    const admin = this.deps.admin(sibling);
    const wanted = [...new Set(request.buckets)];
    const [info, iamFiles, list] = await Promise.all([
      failFast(admin.serverInfo({ signal: sibling })),
      request.iam ? failFast(admin.exportIAMArchive({ signal: sibling })) : undefined,
      wanted.length > 0 ? failFast(this.deps.listBuckets(sibling)) : undefined,
    ]);
    const listed = new Map((list ?? []).map((b) => [b.name, b] as const));
    const present = wanted.filter((b) => listed.has(b));
    const reads = await mapLimit(present, BUCKET_READS, (bucket) =>
      failFast(admin.exportBucketMetadataArchive({ bucket, signal: sibling })),
    );
    const buckets = new Map<string, BucketMeta | null>(wanted.map((b) => [b, null]));
    present.forEach((name, i) => {
      const files = reads[i];
      const summary = listed.get(name);
      if (!files || !summary) return;
      const meta =
        this.deps.exports.buckets(files, { whole: false }).get(name) ?? bareBucket(summary);
      buckets.set(name, { ...meta, createdAt: summary.createdAt });
    });
    return {
      deploymentID: info.deploymentID,
      ...(iamFiles ? { iam: this.deps.exports.iam(iamFiles) } : {}),
      buckets,
    };
  }

  async watchBuckets(
    handlers: { onOpen: () => void; onEvent: (e: BucketEvent) => void },
    signal: AbortSignal,
  ): Promise<void> {
    const idle = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const alive = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idle.abort(new SiteError(this.deps.site, 'ListenNotification', 'Timeout', 'stream idle'));
      }, IDLE_MS);
      timer.unref();
    };
    const op = 's3:ListenNotification';
    try {
      alive();
      await this.deps.transport.send({
        op,
        method: 'GET',
        path: '/',
        query: {
          events: ['s3:BucketCreated:*', 's3:BucketRemoved:*'],
          ping: String(PING_SECONDS),
        },
        timeoutMs: STREAM_MAX_MS,
        signal: AbortSignal.any([signal, idle.signal]),
        consume: async (body) => {
          handlers.onOpen();
          try {
            for await (const line of jsonLines(body, MAX_JSON_LINE_BYTES)) {
              alive();
              for (const e of bucketEvents(line)) handlers.onEvent(e);
            }
          } catch (e: unknown) {
            if (e instanceof DecodeError) {
              throw new SiteError(this.deps.site, op, 'Invalid', `malformed event: ${e.message}`);
            }
            throw e;
          }
        },
      });
    } catch (e: unknown) {
      signal.throwIfAborted();
      if (idle.signal.aborted) throw idle.signal.reason as Error;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `fn` over `items`, at most `limit` at once, results in order; the first failure rejects. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

interface EventRecord {
  eventName?: unknown;
  s3?: { bucket?: { name?: unknown } };
  userIdentity?: { principalId?: unknown };
  source?: { userAgent?: unknown };
}

const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v.slice(0, 512) : undefined);

function bucketEvent(rec: EventRecord): BucketEvent | undefined {
  const bucket = text(rec.s3?.bucket?.name);
  const event = text(rec.eventName) ?? '';
  const kind = event.startsWith('s3:BucketCreated:')
    ? 'created'
    : event.startsWith('s3:BucketRemoved:')
      ? 'removed'
      : undefined;
  if (bucket === undefined || kind === undefined) return undefined;
  return {
    bucket,
    kind,
    accessKey: text(rec.userIdentity?.principalId),
    userAgent: text(rec.source?.userAgent),
  };
}

/** The bucket events of one line of the stream (`{"Records":[...]}`; `null` is the ping). */
export function bucketEvents(line: unknown): BucketEvent[] {
  const records = (line as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records)) return [];
  return (records as unknown[])
    .map((r) => bucketEvent((r ?? {}) as EventRecord))
    .filter((e): e is BucketEvent => e !== undefined);
}
