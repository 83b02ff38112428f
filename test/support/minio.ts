import { randomBytes } from 'node:crypto';

import { MinioSiteClient } from '../../src/sites/minio/minio-site-client.js';

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

/**
 * A throwaway MinIO server for one test file, sharing the stack's KMS key; https with the
 * sites' CA unless `tls: false`.
 */
export async function startThrowawayMinio(
  prefix: string,
  env: Record<string, string> = {},
  opts: { tls?: boolean } = {},
): Promise<ThrowawayMinio> {
  const info = readStack();
  if (!info) throw new Error('The stack is not up (jest globalSetup starts it)');
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const server = await startMinio(STACK_DIR, {
    name,
    kmsSecretKey: info.kmsSecretKey,
    env,
    ...(opts.tls === false ? { tls: false } : {}),
  });
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

/** A MinIO driver for a server, as the tests and the benchmark use it to set up and check. */
export function minioDriver(
  server: { endpoint: string; accessKey: string; secretKey: string; ca?: string | undefined },
  opts: { name?: string; timeoutMs?: number; onCall?: (op: string) => void } = {},
): MinioSiteClient {
  return new MinioSiteClient({
    name: opts.name ?? 'check',
    flavor: 'minio',
    endpoint: server.endpoint,
    region: 'us-east-1',
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    ca: server.ca,
    timeoutMs: opts.timeoutMs ?? 10_000,
    ...(opts.onCall ? { onCall: opts.onCall } : {}),
  });
}
