/**
 * What one encrypted MinIO admin call costs in key derivation on this machine: madmin's default
 * argon2id (64 MiB, 4 lanes; what the operator writes and MinIO answers with) against the
 * PBKDF2 envelope (0x02) that MinIO's DecryptData also accepts.
 */
import {
  PayloadAlgorithm,
  type PayloadAlgorithmId,
  encryptPayload,
} from '../../src/sites/minio/admin/payload-crypto.js';
import { cpuSeconds } from './proc.js';
import { round } from './stats.js';

export interface KdfCost {
  algorithm: string;
  n: number;
  /** Wall milliseconds per encryption, one at a time. */
  wallMs: number;
  /** CPU milliseconds of this process per encryption (all threads). */
  cpuMs: number;
}

async function measure(name: string, algorithm: PayloadAlgorithmId, n: number): Promise<KdfCost> {
  const body = Buffer.from(JSON.stringify({ secretKey: 'x'.repeat(40), status: 'enabled' }));
  await encryptPayload(body, 'warm-up-secret', { algorithm });
  const cpu0 = cpuSeconds(process.pid);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await encryptPayload(body, `secret-${i}`, { algorithm });
  return {
    algorithm: name,
    n,
    wallMs: round((performance.now() - t0) / n, 1),
    cpuMs: round(((cpuSeconds(process.pid) - cpu0) * 1000) / n, 1),
  };
}

export async function kdfCosts(n = 20): Promise<KdfCost[]> {
  return [
    await measure('argon2id (madmin default, 0x00)', PayloadAlgorithm.Argon2idAesGcm, n),
    await measure('PBKDF2-SHA256 8192 (0x02)', PayloadAlgorithm.Pbkdf2AesGcm, n),
  ];
}
