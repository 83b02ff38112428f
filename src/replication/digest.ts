/**
 * Stable digests: the same value gives the same digest whatever the order its object keys were
 * written in, on any machine and any run.
 */
import { createHash } from 'node:crypto';

import { type ReplicationConfig, documentOf } from './replication-config.js';

function _canonical(value: unknown, seen: Set<object>): string | undefined {
  if (typeof value === 'object' && value !== null) {
    const { toJSON } = value as { toJSON?: unknown };
    if (typeof toJSON === 'function') return _canonical(toJSON.call(value) as unknown, seen);
    return _container(value, seen);
  }
  return _scalar(value);
}

function _scalar(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint':
      throw new TypeError('digestOf: a bigint has no JSON form');
    case 'object':
      return 'null';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined; // left out, as JSON.stringify does
  }
}

function _container(value: object, seen: Set<object>): string {
  if (seen.has(value)) throw new TypeError('digestOf: the value is cyclic');
  seen.add(value);
  let out: string;
  if (Array.isArray(value)) {
    out = `[${value.map((v: unknown) => _canonical(v, seen) ?? 'null').join(',')}]`;
  } else {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .sort()
      .flatMap((k) => {
        const v = _canonical(record[k], seen);
        return v === undefined ? [] : [`${JSON.stringify(k)}:${v}`];
      });
    out = `{${members.join(',')}}`;
  }
  seen.delete(value);
  return out;
}

/**
 * Canonical JSON: JSON.stringify's rules (undefined members dropped, non-finite numbers as null,
 * toJSON honoured), with object keys sorted at every depth and no whitespace.
 */
export function canonicalJSON(value: unknown): string {
  return _canonical(value, new Set()) ?? 'null';
}

/** SHA-256, in hex, of the canonical JSON form of `value`. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJSON(value), 'utf8').digest('hex');
}

/**
 * Digest of a replication configuration as an S3 document: operator-only metadata
 * (`destination.site`) is left out, so a desired configuration and the one read back from the
 * site digest alike.
 */
export function digestReplicationConfig(config: ReplicationConfig): string {
  return digestOf(documentOf(config));
}
