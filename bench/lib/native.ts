/** MinIO's own site replication: `mc admin replicate add` over MC_HOST_ aliases (no mc config). */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { tool } from '../../test/support/stack.js';
import type { BenchServer } from './workspace.js';

function mcEnv(servers: readonly BenchServer[], configDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MC_CONFIG_DIR: configDir, MC_NO_COLOR: '1' };
  servers.forEach((s, i) => {
    const host = s.endpoint.replace(/^http:\/\//, '');
    env[`MC_HOST_site${i}`] =
      `http://${encodeURIComponent(s.accessKey)}:${encodeURIComponent(s.secretKey)}@${host}`;
  });
  return env;
}

/** Runs mc with the servers as aliases site0, site1, …; rejects with mc's output on failure. */
export function mc(
  servers: readonly BenchServer[],
  args: string[],
  opts: { workDir: string; timeoutMs?: number },
): Promise<string> {
  const workDir = opts.workDir;
  const configDir = join(workDir, 'mc-config');
  mkdirSync(configDir, { recursive: true });
  return new Promise((resolve, reject) => {
    execFile(
      tool('mc'),
      args,
      { env: mcEnv(servers, configDir), maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 600_000 },
      (err, stdout, stderr) => {
        if (err) {
          const why = err.killed
            ? `killed after ${(opts.timeoutMs ?? 600_000) / 1000} s`
            : err.message;
          reject(new Error(`mc ${args.join(' ')}: ${why}\n${stdout}${stderr}`));
        } else resolve(stdout);
      },
    );
  });
}

/** `mc admin replicate add site0 site1 …` (site0 holds the data). */
export async function replicateAdd(
  servers: readonly BenchServer[],
  opts: { workDir: string; timeoutMs?: number },
): Promise<void> {
  await mc(servers, ['admin', 'replicate', 'add', ...servers.map((_, i) => `site${i}`)], opts);
}
