/**
 * GetBucketReplication / PutBucketReplication as the AWS PutBucketReplication reference
 * specifies them: the document as XML bytes, `Content-MD5` of exactly those bytes (the
 * reference requires it as the integrity check), `x-amz-expected-bucket-owner` when the
 * resource names the owner account, `x-amz-bucket-object-lock-token` when it gives one.
 */
import type { ReplicationXMLTransport } from '../s3-bucket-ops.js';
import type { ReplicationPutOptions } from '../site-client.js';
import { type S3Transport, contentMD5 } from '../s3-transport.js';

const NO_REPLICATION_CONFIG = 'ReplicationConfigurationNotFoundError';

/** The request headers of a PutBucketReplication of `body`. */
export function putReplicationHeaders(
  body: Buffer,
  opts: ReplicationPutOptions = {},
): Record<string, string> {
  return {
    'content-type': 'application/xml',
    'content-md5': contentMD5(body),
    ...(opts.expectedBucketOwner === undefined
      ? {}
      : { 'x-amz-expected-bucket-owner': opts.expectedBucketOwner }),
    ...(opts.objectLockToken === undefined
      ? {}
      : { 'x-amz-bucket-object-lock-token': opts.objectLockToken }),
  };
}

export class S3ReplicationXML implements ReplicationXMLTransport {
  constructor(private readonly transport: S3Transport) {}

  async get(bucket: string, signal?: AbortSignal): Promise<string | undefined> {
    const r = await this.transport.send({
      op: 'GetBucketReplication',
      method: 'GET',
      bucket,
      subresource: 'replication',
      tolerate: [NO_REPLICATION_CONFIG],
      signal,
    });
    return r.code === NO_REPLICATION_CONFIG ? undefined : r.body.toString('utf8');
  }

  async put(
    bucket: string,
    xml: string,
    signal?: AbortSignal,
    opts?: ReplicationPutOptions,
  ): Promise<void> {
    const body = Buffer.from(xml, 'utf8');
    await this.transport.send({
      op: 'PutBucketReplication',
      method: 'PUT',
      bucket,
      subresource: 'replication',
      body,
      headers: putReplicationHeaders(body, opts),
      signal,
    });
  }
}
