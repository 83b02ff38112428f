import { MinioSiteClient } from './minio/minio-site-client.js';
import type { SiteClient, SiteConnection } from './site-client.js';
import { SiteError } from './site-error.js';

/** The driver for a site's flavor. */
export function newSiteClient(conn: SiteConnection): SiteClient {
  switch (conn.flavor) {
    case 'minio':
      return new MinioSiteClient(conn);
    case 's3':
      throw new SiteError(
        conn.name,
        'connect',
        'Unsupported',
        'the s3 flavor is not implemented yet',
      );
  }
}
