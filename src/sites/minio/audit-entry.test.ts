import { describe, expect, it } from '@jest/globals';

import { decodeAuditReport, hintOf, peekCallName } from './audit-entry.js';

/** An entry as MinIO's audit target writes it (Go field order: api right after trigger). */
function entry(
  name: string,
  extra: {
    bucket?: string;
    statusCode?: number;
    query?: Record<string, string>;
    deployment?: string;
  } = {},
): string {
  return JSON.stringify({
    version: '1',
    deploymentid: extra.deployment ?? 'dep-b',
    time: '2026-12-08T10:00:00Z',
    event: '',
    trigger: 'incoming',
    api: {
      name,
      ...(extra.bucket === undefined ? {} : { bucket: extra.bucket }),
      status: 'OK',
      statusCode: extra.statusCode ?? 200,
      rx: 0,
      tx: 0,
    },
    remotehost: '127.0.0.1',
    userAgent: 'MinIO (linux; amd64) madmin-go/3.0 mc/DEVELOPMENT',
    requestQuery: extra.query ?? {},
    requestHeader: { Authorization: 'AWS4-HMAC-SHA256 Credential=...' },
    accessKey: 'b-admin',
  });
}

describe('decodeAuditReport', () => {
  it('turns IAM, bucket-config and bucket calls into hints of that scope', () => {
    const body = [
      entry('AddUser', { query: { accessKey: 'alice' } }),
      entry('PutBucketPolicy', { bucket: 'photos' }),
      entry('PutBucket', { bucket: 'new' }),
      entry('DeleteBucket', { bucket: 'old' }),
      entry('SetRemoteTarget', { query: { bucket: 'photos' } }),
      entry('ImportBucketMetadata'),
    ].join('\n');
    const r = decodeAuditReport(`${body}\n`);
    expect(r.malformed).toBe(0);
    expect(r.hints.map((h) => [h.op, h.scope])).toEqual([
      ['AddUser', { kind: 'iam' }],
      ['PutBucketPolicy', { kind: 'bucket', bucket: 'photos', listed: false }],
      ['PutBucket', { kind: 'bucket', bucket: 'new', listed: true }],
      ['DeleteBucket', { kind: 'bucket', bucket: 'old', listed: true }],
      ['SetRemoteTarget', { kind: 'bucket', bucket: 'photos', listed: false }],
      ['ImportBucketMetadata', { kind: 'everything' }],
    ]);
    expect(r.hints[0]).toMatchObject({
      deploymentID: 'dep-b',
      accessKey: 'b-admin',
      at: Date.parse('2026-12-08T10:00:00Z'),
    });
  });

  it('ignores reads, failed calls and configurations never replicated', () => {
    const body = [
      entry('GetObject', { bucket: 'photos' }),
      entry('PutObject', { bucket: 'photos' }),
      entry('ExportIAM'),
      entry('AddUser', { statusCode: 400 }),
      entry('PutBucketLifecycle', { bucket: 'photos' }),
      entry('SetConfigKV'),
    ].join('\n');
    expect(decodeAuditReport(body)).toEqual({ hints: [], ignored: 6, malformed: 0 });
  });

  it('counts lines that are not entries as malformed, and never throws', () => {
    const r = decodeAuditReport(`not json\n{"api":{}}\n${'x'.repeat(2 * 1024 * 1024)}\n\n`);
    expect(r).toEqual({ hints: [], ignored: 0, malformed: 3 });
  });

  it('reads the call name from the first bytes without being fooled by escaped strings', () => {
    expect(peekCallName(entry('GetObject'))).toBe('GetObject');
    const tricky = JSON.stringify({
      userAgent: '"api":{"name":"AddUser"',
      api: { name: 'GetObject' },
    });
    expect(peekCallName(tricky)).toBe('GetObject');
    expect(peekCallName('{}')).toBeUndefined();
  });

  it('a bucket call without a usable bucket name reads everything', () => {
    expect(hintOf(JSON.parse(entry('PutBucketTagging')))).toMatchObject({
      scope: { kind: 'everything' },
    });
    expect(
      hintOf(JSON.parse(entry('PutBucketTagging', { bucket: 'x'.repeat(300) }))),
    ).toMatchObject({
      scope: { kind: 'everything' },
    });
  });
});
