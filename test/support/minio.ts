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

/** A throwaway MinIO server for one test file, sharing the stack's KMS key. */
export async function startThrowawayMinio(
  prefix: string,
): Promise<MinioServer & { stop(): Promise<void> }> {
  const info = readStack();
  if (!info) throw new Error('The stack is not up (jest globalSetup starts it)');
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const server = await startMinio(STACK_DIR, { name, kmsSecretKey: info.kmsSecretKey });
  return { ...server, stop: () => stopProcess(STACK_DIR, `minio-${name}`) };
}
