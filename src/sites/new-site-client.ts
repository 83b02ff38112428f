import { MinioSiteClient } from './minio/minio-site-client.js';
import { S3SiteClient } from './s3/s3-site-client.js';
import type { SiteClient, SiteConnection } from './site-client.js';

/** The driver for a site's flavor. */
export function newSiteClient(conn: SiteConnection): SiteClient {
  switch (conn.flavor) {
    case 'minio':
      return new MinioSiteClient(conn);
    case 's3':
      return new S3SiteClient(conn);
  }
}
