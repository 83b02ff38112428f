/**
 * The object copier's checkpoint, one per bucket, direction and key range: what it has done,
 * key by key, so that a pass after a restart (or after a crash half-way) copies nothing twice
 * and skips nothing. Pure: the encoding and its checks; where it is stored is transfer/'s.
 *
 * Per key (`KeyMark`), newest first everywhere:
 * - `h`: the newest source versions handled (copied, recognised as replicas of the
 *   destination's, or lost a conflict); every source version older than the newest one still
 *   listed is handled too, since a key's versions are copied in order. `t`: the time of the
 *   newest, for when all of `h` have been deleted from the source since.
 * - `m`: [source version, replica version] of the copies made, kept until the reverse
 *   direction has seen the replicas (it must not copy them back: a delete marker carries no
 *   metadata to say it is a replica).
 * - `l`: destination versions that lost a conflict to a copy of ours: the reverse direction
 *   must not copy them over the winner.
 * - `f`: source versions whose copy was about to start when the checkpoint was written
 *   (write-ahead): after a crash, the destination is checked for them before copying again.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

import { z } from 'zod';

/** The `binaryData` key of a checkpoint ConfigMap. */
export const CHECKPOINT_KEY = 'checkpoint.json.gz';
/** Handled source versions kept per key. */
export const MAX_HANDLED = 4;
/** Replicas kept per key awaiting the reverse direction (two-way), or for recovery (one-way). */
export const MAX_REPLICAS_TWO_WAY = 1000;
export const MAX_REPLICAS_ONE_WAY = 2;
/** Refuse to inflate more than this: a damaged or hostile ConfigMap must not exhaust memory. */
const MAX_INFLATED_BYTES = 128 * 1024 * 1024;

const VersionIdSchema = z.string().min(1).max(1024);

export const KeyMarkSchema = z.object({
  h: z.array(VersionIdSchema).max(MAX_HANDLED),
  t: z.number().optional(),
  m: z
    .array(z.tuple([VersionIdSchema, VersionIdSchema]))
    .max(MAX_REPLICAS_TWO_WAY)
    .optional(),
  l: z.array(VersionIdSchema).max(MAX_REPLICAS_TWO_WAY).optional(),
  f: z.array(VersionIdSchema).optional(),
});
export type KeyMark = z.infer<typeof KeyMarkSchema>;

/** A key range: keys after `after` (exclusive) up to `until` (inclusive); open ends absent. */
export const KeyRangeSchema = z.object({
  after: z.string().max(1024).optional(),
  until: z.string().max(1024).optional(),
});
export type KeyRange = z.infer<typeof KeyRangeSchema>;

export const CopyTotalsSchema = z.object({
  passes: z.number().int().nonnegative(),
  copied: z.number().int().nonnegative(),
  deleteMarkers: z.number().int().nonnegative(),
  bytes: z.number().nonnegative(),
  conflicts: z.number().int().nonnegative(),
});
export type CopyTotals = z.infer<typeof CopyTotalsSchema>;

export const CopyCheckpointSchema = z.object({
  format: z.literal(1),
  bucket: z.string().min(1),
  source: z.string().min(1),
  destination: z.string().min(1),
  range: KeyRangeSchema,
  keys: z.record(z.string(), KeyMarkSchema),
  totals: CopyTotalsSchema,
  /** When the last complete pass ended (ISO 8601). */
  lastPassAt: z.string().optional(),
});
export type CopyCheckpoint = z.infer<typeof CopyCheckpointSchema>;

/** The route a checkpoint belongs to. */
export interface CopyRoute {
  bucket: string;
  source: string;
  destination: string;
  range: KeyRange;
}

/**
 * Marks by key in an object without a prototype, so that any key, `__proto__` included, is
 * an own property like the others.
 */
export function keyMarks(entries: Iterable<[string, KeyMark]> = []): Record<string, KeyMark> {
  const out = Object.create(null) as Record<string, KeyMark>;
  for (const [k, v] of entries) out[k] = v;
  return out;
}

export function emptyCheckpoint(route: CopyRoute): CopyCheckpoint {
  return {
    format: 1,
    bucket: route.bucket,
    source: route.source,
    destination: route.destination,
    range: { ...route.range },
    keys: keyMarks(),
    totals: { passes: 0, copied: 0, deleteMarkers: 0, bytes: 0, conflicts: 0 },
  };
}

/** The reverse route: the same bucket and range, the other way. */
export const reverseRoute = (r: CopyRoute): CopyRoute => ({
  ...r,
  source: r.destination,
  destination: r.source,
});

export class CheckpointDecodeError extends Error {
  override readonly name = 'CheckpointDecodeError';
}

export function encodeCheckpoint(c: CopyCheckpoint): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(c), 'utf8'));
}

/** Decodes and checks a stored checkpoint; it must belong to `route`. */
export function decodeCheckpoint(data: Buffer, route: CopyRoute): CopyCheckpoint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(gunzipSync(data, { maxOutputLength: MAX_INFLATED_BYTES }).toString());
  } catch (e: unknown) {
    throw new CheckpointDecodeError(
      `the copier checkpoint of ${describeRoute(route)} is not gzipped JSON`,
      { cause: e },
    );
  }
  const r = CopyCheckpointSchema.safeParse(parsed);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new CheckpointDecodeError(
      `the copier checkpoint of ${describeRoute(route)} is malformed at ${first?.path.join('.') ?? '?'}: ${first?.message ?? ''}`,
    );
  }
  // zod rebuilt `keys` by assignment, which would drop a key named __proto__: take them raw.
  const rawKeys = (parsed as { keys: Record<string, unknown> }).keys;
  const c = {
    ...r.data,
    keys: keyMarks(
      Object.keys(rawKeys).map((k) => [k, KeyMarkSchema.parse(rawKeys[k])] as [string, KeyMark]),
    ),
  };
  if (
    c.bucket !== route.bucket ||
    c.source !== route.source ||
    c.destination !== route.destination ||
    c.range.after !== route.range.after ||
    c.range.until !== route.range.until
  ) {
    throw new CheckpointDecodeError(
      `the stored checkpoint is of ${describeRoute(c)}, not of ${describeRoute(route)}`,
    );
  }
  return c;
}

export function describeRoute(r: CopyRoute): string {
  const after = r.range.after === undefined ? '' : ` after ${JSON.stringify(r.range.after)}`;
  const until = r.range.until === undefined ? '' : ` until ${JSON.stringify(r.range.until)}`;
  return `bucket ${r.bucket} ${r.source} -> ${r.destination}${after}${until}`;
}
