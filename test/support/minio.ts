import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { MinioSiteClient } from '../../src/sites/minio/minio-site-client.js';

import { readProcessSpec, startProcess, stopProcess } from './processes.js';
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
  /** Restarts it without waiting until it serves (to watch it start). */
  restartNoWait(): Promise<void>;
  /**
   * Stops it, deletes its drive (a replaced disk, a recreated volume) and starts it again on
   * the same port with the same root credentials: a new deployment ID, nothing in it.
   */
  wipe(): Promise<void>;
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
    restartNoWait: () => restartProcess(proc),
    wipe: async () => {
      const spec = readProcessSpec(STACK_DIR, proc);
      await stopProcess(STACK_DIR, proc);
      // startMinio keeps the drive in STACK_DIR/minio-<name>, the process's own name.
      rmSync(join(STACK_DIR, proc), { recursive: true, force: true });
      mkdirSync(join(STACK_DIR, proc), { recursive: true });
      startProcess(STACK_DIR, spec);
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
