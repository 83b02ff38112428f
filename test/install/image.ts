/**
 * The operator image as the tests use it: built by hack/image/build.sh (what `make image` runs,
 * cached by the digest of its inputs), and run by podman the way a kubelet runs the chart's
 * Deployment: the pod's user and group, read-only root, no capabilities, no privilege
 * escalation, an emptyDir on /tmp, the ServiceAccount token where Kubernetes mounts it, and the
 * environment the chart and the kubelet give the container.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT, TOOLS_BIN } from '../support/stack.js';
import type { DeploymentDoc } from './rendered.js';

export interface BuiltImage {
  /** build/image (or IMAGE_OUT): the layout, the archive, the SBOM, image.json. */
  dir: string;
  name: string;
  tag: string;
  manifestDigest: string;
  configDigest: string;
  layers: { digest: string; size: number; unpacked: number; files: number; from: string }[];
  compressedBytes: number;
  unpackedBytes: number;
  packages: number;
  archive: string;
  layout: string;
  sbom: string;
  packageList: string;
}

export function exec(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { maxBuffer: 64 << 20, cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function mustExec(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Runs hack/image/build.sh; `env` may point SITESYNC_CACHE and IMAGE_OUT elsewhere. */
export async function buildImage(env: Record<string, string> = {}): Promise<BuiltImage> {
  const out = await mustExec(join(REPO_ROOT, 'hack/image/build.sh'), [], {
    env: { ...process.env, PATH: `${TOOLS_BIN}:${process.env['PATH'] ?? ''}`, ...env },
  });
  const dir = out.trim().split('\n').pop() ?? '';
  const summary = JSON.parse(readFileSync(join(dir, 'image.json'), 'utf8')) as Omit<
    BuiltImage,
    'dir' | 'archive' | 'layout' | 'sbom' | 'packageList'
  >;
  const base = join(dir, `${summary.name}-${summary.tag}`);
  return {
    ...summary,
    dir,
    archive: `${base}.oci.tar`,
    layout: base,
    sbom: `${base}.spdx.json`,
    packageList: `${base}.packages.txt`,
  };
}

/**
 * Limits for `podman run`. Its defaults (nofile 1048576, nproc from podman's own) are above the
 * hard limits of this sandbox, where even root lacks CAP_SYS_RESOURCE, and runc then refuses to
 * start ("error setting rlimit type 7: operation not permitted"); a kubelet's runtime keeps the
 * node's limits, which this mirrors.
 */
export function sandboxUlimits(): string[] {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const hard = (what: string) => {
    const m = new RegExp(`^${what}\\s+\\S+\\s+(\\S+)`, 'm').exec(limits);
    return m?.[1] === 'unlimited' || !m?.[1] ? Infinity : Number(m[1]);
  };
  const nofile = Math.min(hard('Max open files'), 1 << 20);
  const nproc = Math.min(hard('Max processes'), 4096);
  return ['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`];
}

export interface PodRun {
  /** The container's name for podman. */
  name: string;
  image: string;
  env: Record<string, string>;
  /** Host folder mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount. */
  serviceAccountDir: string;
}

interface SecurityContexts {
  pod: {
    runAsUser?: number;
    runAsGroup?: number;
    fsGroup?: number;
    runAsNonRoot?: boolean;
    seccompProfile?: { type: string };
  };
  container: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
}

/** The /tmp emptyDir's size limit in MiB (`64Mi`). */
function emptyDirMiB(d: DeploymentDoc): number {
  const spec = d.spec.template.spec as unknown as {
    volumes?: { name: string; emptyDir?: { sizeLimit?: string } }[];
    containers: { volumeMounts?: { name: string; mountPath: string }[] }[];
  };
  const mount = spec.containers[0]?.volumeMounts?.find((m) => m.mountPath === '/tmp');
  const vol = spec.volumes?.find((v) => v.name === mount?.name);
  const m = /^(\d+)Mi$/.exec(vol?.emptyDir?.sizeLimit ?? '');
  if (!m?.[1]) throw new Error('The chart mounts no emptyDir with a sizeLimit in Mi on /tmp');
  return Number(m[1]);
}

/** The pod's securityContext as podman options: user, group, seccomp. */
function podSecurityArgs(pod: SecurityContexts['pod']): string[] {
  const { runAsUser, runAsGroup, fsGroup } = pod;
  if (runAsUser === undefined || runAsGroup === undefined) {
    throw new Error('The chart sets no runAsUser/runAsGroup');
  }
  if (pod.runAsNonRoot && runAsUser === 0) throw new Error('runAsNonRoot with uid 0');
  // seccomp RuntimeDefault is podman's default profile.
  if (pod.seccompProfile && pod.seccompProfile.type !== 'RuntimeDefault') {
    throw new Error(`seccomp ${pod.seccompProfile.type} is not mirrored here`);
  }
  const args = ['--user', `${runAsUser}:${runAsGroup}`];
  if (fsGroup !== undefined) args.push('--group-add', String(fsGroup));
  return args;
}

/** The container's securityContext as podman options. */
function containerSecurityArgs(c: SecurityContexts['container']): string[] {
  const args: string[] = [];
  if (c.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
  if (c.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  for (const cap of c.capabilities?.drop ?? []) args.push('--cap-drop', cap);
  for (const cap of c.capabilities?.add ?? []) args.push('--cap-add', cap);
  return args;
}

/**
 * `podman run` arguments for the chart's pod, from the rendered Deployment. Host network: the
 * stack listens on loopback, where the container reaches the apiserver (as a pod reaches it
 * through the kubernetes Service) and the MinIO sites.
 */
export function podmanRunArgs(d: DeploymentDoc, run: PodRun): string[] {
  const spec = d.spec.template.spec;
  const sc: SecurityContexts = {
    pod: spec.securityContext,
    container: spec.containers[0]?.securityContext ?? {},
  };
  return [
    ...['--runtime', 'runc', 'run', '--rm', '--name', run.name, '--network', 'host'],
    ...sandboxUlimits(),
    ...podSecurityArgs(sc.pod),
    ...containerSecurityArgs(sc.container),
    ...['--tmpfs', `/tmp:rw,size=${emptyDirMiB(d)}m,mode=1777`],
    ...['-v', `${run.serviceAccountDir}:/var/run/secrets/kubernetes.io/serviceaccount:ro`],
    ...Object.entries(run.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    run.image,
  ];
}
