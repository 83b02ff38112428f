/**
 * Changing a MinIO site behind the operator's back, the way a lost disk or a hand-made fix
 * would, without MinIO replicating the change to its peers: a version deleted with the header
 * MinIO's own replication sends for a delete it replicates (`X-Amz-Replication-Status:
 * REPLICA`; the root user holds `s3:ReplicateDelete`). The receiving site deletes the version
 * and, taking the delete for a replica, does not send it on. Used to make two sites differ by
 * exactly the versions a test names.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';

import { s3For } from './seed.js';
import type { MinioServer } from './stack.js';

export async function deleteVersionUnreplicated(
  server: MinioServer,
  ref: { bucket: string; key: string; versionId: string },
): Promise<void> {
  const s3 = s3For(server);
  s3.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers: Record<string, string> };
      req.headers['x-amz-replication-status'] = 'REPLICA';
      return next(args);
    },
    { step: 'build', name: 'replicaDelete' },
  );
  try {
    await s3.send(
      new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }),
    );
  } finally {
    s3.destroy();
  }
}
