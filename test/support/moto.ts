import { randomBytes } from 'node:crypto';

import { S3SiteClient } from '../../src/sites/s3/s3-site-client.js';
import { stopProcess } from './processes.js';
import { type MotoServer, STACK_DIR, startMoto } from './stack.js';

export type ThrowawayMoto = MotoServer & { stop(): Promise<void> };

/**
 * A moto server for one test file (state in memory: a restart would lose it, so it can only be
 * stopped). `auth: false` starts it as moto starts by default, accepting any credentials.
 */
export async function startThrowawayMoto(
  prefix: string,
  opts: { auth?: boolean } = {},
): Promise<ThrowawayMoto> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const server = await startMoto(STACK_DIR, { name, ...opts });
  return { ...server, stop: () => stopProcess(STACK_DIR, server.process) };
}

/** An s3 driver for a moto server, as tests use it to set up and check. */
export function s3Driver(
  server: { endpoint: string; accessKey: string; secretKey: string },
  opts: { name?: string; timeoutMs?: number; onCall?: (op: string) => void } = {},
): S3SiteClient {
  return new S3SiteClient({
    name: opts.name ?? 'check',
    flavor: 's3',
    endpoint: server.endpoint,
    region: 'us-east-1',
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    timeoutMs: opts.timeoutMs ?? 10_000,
    ...(opts.onCall ? { onCall: opts.onCall } : {}),
  });
}
