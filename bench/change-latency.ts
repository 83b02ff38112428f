/**
 * Propagation latency with change detection (issue 18), sitesync and MinIO's own site
 * replication side by side in one run, on the local stack (`make stack-up`; also run by
 * `make bench`). sitesync: three https MinIO sites of the stack's CA, the built operator with its
 * change receiver (the stack's MinIO certificate, which every site trusts), one group at the
 * default `syncInterval: 30s` with `changeDetection: events`. Native: three more MinIO servers
 * joined by `mc admin replicate add`. Each change (bench/lib/latency.ts: bucket policy, user,
 * canned policy, group membership, service account, bucket) is made on the second site at a
 * random moment and timed until every other site shows it (polled every 25 ms per site). The
 * operator's logs say where each targeted pass spent its time; its pass counts show whether a
 * full pass delivered any of it. Writes `bench/results/<date>-change-latency.md`.
 *
 *   node node_modules/tsx/dist/cli.mjs bench/change-latency.ts [reps] [--no-native]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { stringify } from 'yaml';

import { SRG_RESOURCE } from '../src/api/names.js';
import type { SiteReplicationGroup } from '../src/api/site-replication-group.js';
import { eventually } from '../test/support/eventually.js';
import {
  applyCrds,
  createNamespace,
  kubeClient,
  mustKubectl,
  stack,
} from '../test/support/kube.js';
import { startThrowawayMinio, type ThrowawayMinio } from '../test/support/minio.js';
import { OperatorProcess } from '../test/support/operator.js';
import { publicReadPolicy } from '../test/support/seed.js';
import { ensureCaSecret, siteSpec } from '../test/support/site-spec.js';
import { freePort, REPO_ROOT, STACK_DIR } from '../test/support/stack.js';
import { CHANGE_KINDS, type LatencySample, measureLatency } from './lib/latency.js';
import { replicateAdd } from './lib/native.js';
import { siteClient } from './lib/seed.js';
import { median, percentile } from './lib/stats.js';
import type { BenchServer } from './lib/workspace.js';

const args = process.argv.slice(2);
const reps = Number(args.find((a) => /^\d+$/.test(a)) ?? '10');
const withNative = !args.includes('--no-native');
const POLL_MS = 25;
const NAMES = ['site-a', 'site-b', 'site-c'];
const out: string[] = [];
const log = (m: string) => {
  out.push(m);
  process.stdout.write(`${m}\n`);
};

async function passes(op: OperatorProcess, group: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = { full: 0, targeted: 0 };
  for (const line of (await op.metrics()).split('\n')) {
    const m = /^sitesync_group_passes_total\{(.*)\} (\S+)$/.exec(line);
    const kind = /kind="(\w+)"/.exec(m?.[1] ?? '')?.[1];
    if (!m?.[1]?.includes(`group="${group}"`) || kind === undefined) continue;
    counts[kind] = (counts[kind] ?? 0) + Number(m[2]);
  }
  return counts;
}

/** The phase timings of every targeted pass in the operator's log. */
function passTimings(logs: string): Map<string, number[]> {
  const phases = new Map<string, number[]>();
  for (const line of logs.split('\n')) {
    if (!line.includes('Ran targeted pass')) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    for (const [k, v] of Object.entries(entry)) {
      if (!k.endsWith('Ms') || typeof v !== 'number') continue;
      const xs = phases.get(k) ?? [];
      xs.push(v);
      phases.set(k, xs);
    }
  }
  return phases;
}

const fmt = (xs: number[]) =>
  xs.length === 0 ? '—' : `${median(xs).toFixed(0)} / ${percentile(xs, 95).toFixed(0)} ms`;

async function seedPolicyBucket(s: { endpoint: string; accessKey: string; secretKey: string }) {
  const seed = siteClient({ ...s, name: 'seed' });
  try {
    await seed.createBucket('bucket-0001');
    await seed.putBucketPolicy('bucket-0001', publicReadPolicy('bucket-0001', 'seed/'));
  } finally {
    seed.close();
  }
}

const asBench = (servers: readonly ThrowawayMinio[]) =>
  servers.map((s, i) => ({ ...s, name: NAMES[i] ?? s.name }) as unknown as BenchServer);

async function runSitesync(): Promise<{ samples: LatencySample[]; phases: Map<string, number[]> }> {
  const client = kubeClient();
  await applyCrds();
  const ns = await createNamespace('cd-bench');
  await ensureCaSecret(ns, client);
  const servers: ThrowawayMinio[] = [];
  const port = await freePort();
  const op = new OperatorProcess({
    KUBECONFIG: stack().kubeconfig,
    WATCH_NAMESPACE: ns,
    LOG_LEVEL: 'info',
    CHANGE_RECEIVER_PORT: String(port),
    CHANGE_RECEIVER_HOST: '127.0.0.1',
    CHANGE_RECEIVER_CERT_FILE: `${STACK_DIR}/pki/minio.crt`,
    CHANGE_RECEIVER_KEY_FILE: `${STACK_DIR}/pki/minio.key`,
    CHANGE_RECEIVER_URL: `https://127.0.0.1:${String(port)}`,
  });
  try {
    for (const n of NAMES) {
      const s = await startThrowawayMinio(`bench-${n}`);
      servers.push(s);
      await mustKubectl(
        ['apply', '-n', ns, '-f', '-'],
        stringify({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: `${n}-credentials` },
          stringData: { accessKey: s.accessKey, secretKey: s.secretKey },
        }),
      );
    }
    const [a] = servers;
    if (!a) throw new Error('no site');
    await seedPolicyBucket(a);
    await op.start();
    await mustKubectl(
      ['apply', '-n', ns, '-f', '-'],
      stringify({
        apiVersion: 'sitesync.io/v1alpha1',
        kind: 'SiteReplicationGroup',
        metadata: { name: 'lat' },
        spec: {
          primary: 'site-a',
          syncInterval: '30s',
          changeDetection: 'events',
          sites: NAMES.map((n, i) => siteSpec(n, servers[i] ?? a)),
        },
      }),
    );
    await eventually(
      async () => {
        const g = await client.get<SiteReplicationGroup>(SRG_RESOURCE, ns, 'lat');
        if (g.status?.changeDetection?.sites?.length !== 3) throw new Error('not reporting yet');
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    log(`== sitesync: change detection on, syncInterval 30s, ${String(reps)} rounds`);
    const before = await passes(op, 'lat');
    const samples = await measureLatency(asBench(servers), {
      reps,
      maxDelayMs: 1000,
      timeoutMs: 120_000,
      pollMs: POLL_MS,
      log,
    });
    const after = await passes(op, 'lat');
    const delta = (k: string) => String((after[k] ?? 0) - (before[k] ?? 0));
    log(`passes meanwhile: full ${delta('full')}, targeted ${delta('targeted')}`);
    return { samples, phases: passTimings(op.logs()) };
  } finally {
    await op.stop('SIGTERM');
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function runNative(): Promise<LatencySample[]> {
  const servers: ThrowawayMinio[] = [];
  const workDir = mkdtempSync(join(tmpdir(), 'sitesync-bench-native-'));
  try {
    for (const n of NAMES)
      servers.push(await startThrowawayMinio(`native-${n}`, {}, { tls: false }));
    const [a] = servers;
    if (!a) throw new Error('no site');
    await seedPolicyBucket(a);
    await replicateAdd(asBench(servers), { workDir, timeoutMs: 300_000 });
    log(`== native: mc admin replicate add, ${String(reps)} rounds`);
    return await measureLatency(asBench(servers), {
      reps,
      maxDelayMs: 1000,
      timeoutMs: 120_000,
      pollMs: POLL_MS,
      log,
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(workDir, { recursive: true, force: true });
  }
}

function report(
  sitesync: { samples: LatencySample[]; phases: Map<string, number[]> },
  native: LatencySample[] | undefined,
): void {
  const ms = (xs: LatencySample[], kind: string) =>
    xs.filter((x) => x.kind === kind).map((x) => x.seconds * 1000);
  log('');
  log('| change | sitesync, events, 30 s (p50 / p95) | native (p50 / p95) |');
  log('| --- | --- | --- |');
  for (const kind of CHANGE_KINDS) {
    log(
      `| ${kind} | ${fmt(ms(sitesync.samples, kind))} | ${native ? fmt(ms(native, kind)) : 'not run'} |`,
    );
  }
  const all = sitesync.samples.map((x) => x.seconds * 1000);
  log(
    `| all kinds | ${fmt(all)} | ${native ? fmt(native.map((x) => x.seconds * 1000)) : 'not run'} |`,
  );
  log(
    `| the write on the source | ${fmt(sitesync.samples.map((x) => x.writeSeconds * 1000))} | ${native ? fmt(native.map((x) => x.writeSeconds * 1000)) : 'not run'} |`,
  );
  log('');
  log('Targeted passes of sitesync, by phase (median / p95, from the operator log):');
  log('');
  log('| phase | median / p95 |');
  log('| --- | --- |');
  for (const [phase, xs] of sitesync.phases)
    log(`| ${phase} | ${fmt(xs)} (n=${String(xs.length)}) |`);
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

async function main(): Promise<void> {
  const loadBefore = load();
  const sitesync = await runSitesync();
  const native = withNative ? await runNative() : undefined;
  const rounds = out.splice(0);
  report(sitesync, native);
  const date = new Date().toISOString().slice(0, 10);
  const file = join(REPO_ROOT, 'bench', 'results', `${date}-change-latency.md`);
  const doc = [
    `# Propagation latency with change detection, ${date}`,
    '',
    `\`bench/change-latency.ts ${args.join(' ')}\` (bench/README.md, "Propagation latency with change`,
    `detection"): ${String(reps)} rounds of six changes made on site-b, each timed until site-a and`,
    `site-c show it (polled every ${String(POLL_MS)} ms each). sitesync: \`syncInterval: 30s\`,`,
    `\`changeDetection: events\`; native: \`mc admin replicate add\`. ${String(cpus().length)} CPUs,`,
    `load average ${loadBefore} at the start and ${load()} at the end (other work on the machine:`,
    'the figures are upper bounds and move a lot between runs).',
    '',
    ...out,
    '',
    '```',
    ...rounds,
    '```',
    '',
  ].join('\n');
  writeFileSync(file, doc);
  process.stdout.write(`\nwritten: ${file}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
