import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import { KubeConfig } from '@kubernetes/client-node';

import { KubeClient } from '../../src/runtime/kube-client.js';
import { kubeConfigAuth } from '../../src/runtime/kubeconfig-auth.js';
import { readStack, tool, type StackInfo } from './stack.js';
import { waitFor } from './processes.js';

const run = promisify(execFile);

export function stack(): StackInfo {
  const info = readStack();
  if (!info) throw new Error('The stack is not up (jest globalSetup starts it)');
  return info;
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(stack().kubeconfig);
  return kc;
}

export function kubeClient(): KubeClient {
  return new KubeClient(kubeConfigAuth(kubeConfig()));
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the stack's own kubectl; never throws on a non-zero exit. */
export async function kubectl(args: string[], input?: string): Promise<CommandResult> {
  const env = { ...process.env, KUBECONFIG: stack().kubeconfig };
  return new Promise((resolve) => {
    const child = execFile(
      tool('kubectl'),
      args,
      { env, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function mustKubectl(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A fresh namespace for one test file. */
export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await mustKubectl(['create', 'namespace', name]);
  return name;
}

export async function applyCrds(): Promise<void> {
  await mustKubectl(['apply', '--server-side', '--force-conflicts', '-f', 'crds/']);
  // `kubectl wait` fails at once (not waits) when a CRD just created has no conditions yet
  // (".status.conditions accessor error"): poll the condition instead.
  await waitFor(
    'the CRDs to be Established',
    async () => {
      const r = await kubectl([
        'get',
        'crd/sitereplicationgroups.sitesync.io',
        'crd/bucketreplications.sitesync.io',
        'crd/identityproviders.sitesync.io',
        '-o',
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}',
      ]);
      return r.code === 0 && r.stdout.split('\n').filter((l) => l === 'True').length === 3;
    },
    { timeoutMs: 60_000 },
  );
}

export { run };
