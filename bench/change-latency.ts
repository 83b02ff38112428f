/**
 * Propagation latency with change detection (issue 18), measured once on the local stack
 * (`make stack-up`; not part of `make bench`): three https MinIO sites of the stack's CA, the
 * built operator with its change receiver (the stack's MinIO certificate, which every site
 * trusts), one group at the default `syncInterval: 30s` with `changeDetection: events`. Each
 * change (bucket policy, new user, new bucket) is made on the second site at a random moment
 * and timed until every other site shows it (bench/lib/latency.ts, polled every 50 ms). The
 * operator's pass counts show whether a full pass delivered any of it.
 *
 *   node node_modules/tsx/dist/cli.mjs bench/change-latency.ts [reps]
 */
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
import { freePort, STACK_DIR } from '../test/support/stack.js';
import { type LatencySample, measureLatency } from './lib/latency.js';
import { siteClient } from './lib/seed.js';
import { median, percentile } from './lib/stats.js';
import type { BenchServer } from './lib/workspace.js';

const reps = Number(process.argv[2] ?? '10');
const log = (m: string) => {
  process.stdout.write(`${m}\n`);
};

async function passes(op: OperatorProcess, group: string): Promise<Record<string, number>> {
  const out: Record<string, number> = { full: 0, targeted: 0 };
  for (const line of (await op.metrics()).split('\n')) {
    const m = /^sitesync_group_passes_total\{.*group="([^"]+)",kind="(\w+)"\} (\S+)$/.exec(line);
    if (m?.[1] === group && m[2] !== undefined) out[m[2]] = Number(m[3]);
  }
  return out;
}

async function main(): Promise<void> {
  const client = kubeClient();
  await applyCrds();
  const ns = await createNamespace('cd-bench');
  await ensureCaSecret(ns, client);
  const names = ['site-a', 'site-b', 'site-c'];
  const servers: ThrowawayMinio[] = [];
  for (const n of names) {
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
  const seed = siteClient({ ...a, name: 'site-a' });
  await seed.createBucket('bucket-0001');
  await seed.putBucketPolicy('bucket-0001', publicReadPolicy('bucket-0001', 'seed/'));
  seed.close();
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
  await op.start();
  try {
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
          sites: names.map((n, i) => siteSpec(n, servers[i] ?? a)),
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
    log(`== Propagation latency, change detection on, syncInterval 30s, ${String(reps)} reps`);
    const before = await passes(op, 'lat');
    const samples: LatencySample[] = await measureLatency(
      servers.map((s, i) => ({ ...s, name: names[i] ?? s.name }) as unknown as BenchServer),
      { reps, maxDelayMs: 1000, timeoutMs: 120_000, log },
    );
    const after = await passes(op, 'lat');
    const line = (xs: number[]) =>
      `n=${String(xs.length)} p50 ${median(xs).toFixed(0)} ms, p95 ${percentile(xs, 95).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
    for (const kind of ['bucket-policy', 'new-user', 'new-bucket'] as const) {
      log(`${kind}: ${line(samples.filter((x) => x.kind === kind).map((x) => x.seconds * 1000))}`);
    }
    log(`the write itself on the source: ${line(samples.map((x) => x.writeSeconds * 1000))}`);
    log(
      `passes meanwhile: full ${String((after['full'] ?? 0) - (before['full'] ?? 0))}, targeted ${String((after['targeted'] ?? 0) - (before['targeted'] ?? 0))}`,
    );
  } finally {
    await op.stop('SIGTERM');
    await Promise.all(servers.map((s) => s.stop()));
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
