import { randomBytes } from 'node:crypto';

import { stopProcess } from './processes.js';
import {
  type MinioServer,
  readStack,
  restartProcess,
  STACK_DIR,
  startMinio,
  waitMinioReady,
} from './stack.js';

export type ThrowawayMinio = MinioServer & {
  /** The process name in the stack (`minio-<name>`). */
  process: string;
  stop(): Promise<void>;
  /** Starts the server again with the same data, port and credentials. */
  restart(opts?: { downMs?: number }): Promise<void>;
};

/** A throwaway MinIO server for one test file, sharing the stack's KMS key. */
export async function startThrowawayMinio(
  prefix: string,
  env: Record<string, string> = {},
): Promise<ThrowawayMinio> {
  const info = readStack();
  if (!info) throw new Error('The stack is not up (jest globalSetup starts it)');
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const server = await startMinio(STACK_DIR, { name, kmsSecretKey: info.kmsSecretKey, env });
  const proc = `minio-${name}`;
  return {
    ...server,
    process: proc,
    stop: () => stopProcess(STACK_DIR, proc),
    restart: async (opts = {}) => {
      await restartProcess(proc, opts);
      await waitMinioReady(server.endpoint);
    },
  };
}
