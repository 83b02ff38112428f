/**
 * A hostile or broken site cannot take the operator down: every body it sends is read against a
 * cap, zips are checked before they are inflated, and the error says which limit was hit without
 * quoting the body. The site is a small fake server on loopback (test/support/hostile-site.ts):
 * no real server can be made to answer a gigabyte or a zip bomb. The operator test runs the
 * built operator against the real apiserver, with a group of one real MinIO and the fake.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';

import type { SiteReplicationGroup } from '../../src/api/site-replication-group.js';
import { SRG_RESOURCE } from '../../src/api/names.js';
import { findCondition } from '../../src/runtime/conditions.js';
import { MAX_CONDITION_MESSAGE, MAX_PART_MESSAGE } from '../../src/runtime/messages.js';
import type { MinioSiteClient } from '../../src/sites/minio/minio-site-client.js';
import { SiteError } from '../../src/sites/site-error.js';
import { eventually } from '../support/eventually.js';
import {
  type HostileMode,
  type HostileSite,
  LONG_ERROR_CHARS,
  MALFORMED_SECRET,
  startHostileSite,
} from '../support/hostile-site.js';
import { applyCrds, createNamespace, kubeClient, mustKubectl, stack } from '../support/kube.js';
import { minioDriver, startThrowawayMinio, type ThrowawayMinio } from '../support/minio.js';
import { OperatorProcess } from '../support/operator.js';
import { ensureCaSecret, siteSpec } from '../support/site-spec.js';

const MiB = 1024 * 1024;
const FILLER = 'x'.repeat(64);
/**
 * The operator's peak RSS stays under the 200 MiB, and what a hostile site adds to it
 * far below what it sends (without the caps: 1 GiB for the stream, 256 MiB for one entry of the
 * bomb; the growth bound is 192 MiB). Measured 2026-12-07 with the chart's V8 flags and without
 * @kubernetes/client-node (docs/decisions.md 26): ~105 MiB at start; a group with the bomb site
 * peaks at ~135 MiB, with the streaming site at ~175 MiB (before: 160-180 at start, 223-237).
 */
const PEAK_RSS_LIMIT = 200 * MiB;
const GROWTH_LIMIT = 192 * MiB;

const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;

let fake: HostileSite;

async function failure(p: Promise<unknown>): Promise<SiteError> {
  try {
    await p;
  } catch (e: unknown) {
    if (e instanceof SiteError) return e;
    throw e;
  }
  throw new Error('expected a SiteError');
}

/** The largest body the fake wrote for requests whose path starts with `prefix`. */
function mostServed(prefix: string): number {
  const sizes = fake.served.filter((s) => s.path.startsWith(prefix)).map((s) => s.bytes);
  if (sizes.length === 0) throw new Error(`no request to ${prefix}`);
  return Math.max(...sizes);
}

beforeAll(async () => {
  fake = await startHostileSite('stream');
});

afterAll(async () => {
  await fake.close();
});

describe('the MinIO driver against a hostile site', () => {
  let driver: MinioSiteClient;

  beforeAll(() => {
    driver = minioDriver(
      { endpoint: fake.endpoint, accessKey: 'hostile', secretKey: 'hostile-secret', ca: fake.ca },
      { name: 'hostile', timeoutMs: 30_000 },
    );
  });

  afterAll(() => {
    driver.close();
  });

  beforeEach(() => {
    fake.served.splice(0);
  });

  it('refuses an endless S3 answer at 4 MiB and server info at 2 MiB', async () => {
    fake.mode = 'stream';
    // MinIO's bucket list is read through the admin transport (sites/minio/list-buckets.ts).
    const s3 = await failure(driver.listBuckets());
    expect(s3.kind).toBe('Invalid');
    expect(s3.message).toBe('hostile: s3:ListBuckets: response too large: GET / exceeded 4 MiB');
    const admin = await failure(driver.admin.serverInfo());
    expect(admin.kind).toBe('Invalid');
    expect(admin.message).toBe(
      'hostile: serverInfo: response too large: GET /minio/admin/v3/info exceeded 2 MiB',
    );
    // Reading stopped at the cap: what the fake managed to write is the cap plus socket buffers.
    expect(mostServed('/?')).toBeLessThan(64 * MiB);
    expect(mostServed('/minio/admin/v3/info')).toBeLessThan(64 * MiB);
  });

  it('refuses an endless export at 16 MiB', async () => {
    fake.mode = 'stream';
    const e = await failure(driver.admin.exportIAMFiles());
    expect(e.message).toBe(
      'hostile: exportIAM: response too large: GET /minio/admin/v3/export-iam exceeded 16 MiB',
    );
    expect(mostServed('/minio/admin/v3/export-iam')).toBeLessThan(96 * MiB);
  });

  it('refuses a declared length past the cap without reading the body', async () => {
    fake.mode = 'declared';
    expect((await failure(driver.listBuckets())).message).toMatch(/response too large/);
    expect((await failure(driver.admin.serverInfo())).message).toMatch(/response too large/);
  });

  it('reports an error status without reading an endless error body', async () => {
    fake.mode = 'error';
    const e = await failure(driver.admin.serverInfo());
    expect({ kind: e.kind, status: e.status }).toEqual({ kind: 'Internal', status: 500 });
    expect(mostServed('/minio/admin/v3/info')).toBeLessThan(64 * MiB);
  });

  it('refuses the overlapping zip bomb before inflating it', async () => {
    fake.mode = 'bomb';
    const e = await failure(driver.admin.exportIAMFiles());
    expect(e.kind).toBe('Invalid');
    expect(e.message).toBe(
      'hostile: exportIAM: response too large: GET /minio/admin/v3/export-iam unzipped: ' +
        'entry iam-assets/users-0.json expands to 256 MiB, over 32 MiB',
    );
    const snap = await failure(driver.snapshot());
    expect(snap.message).toMatch(/response too large: GET \/minio\/admin\/v3\/export-/);
  });

  it('refuses an endless line of a streamed answer at 1 MiB', async () => {
    fake.mode = 'long-line';
    const e = await failure(driver.replicationBacklog('bucket'));
    expect(e.kind).toBe('Invalid');
    expect(e.message).toMatch(/replicationDiff: .*a line is longer than 1048576 characters$/);
  });

  it('refuses a bucket list holding what cannot be a bucket name', async () => {
    fake.mode = 'long-name';
    const e = await failure(driver.listBuckets());
    expect(e.message).toBe(
      'hostile: ListBuckets: malformed response: a bucket name of 300 characters (at most 255)',
    );
  });

  it('never quotes the body in an error', async () => {
    const calls = [
      ['stream', () => driver.listBuckets()],
      ['stream', () => driver.admin.serverInfo()],
      ['stream', () => driver.snapshot()],
      ['error', () => driver.listBuckets()],
      ['error', () => driver.admin.serverInfo()],
      ['error', () => driver.snapshot()],
      ['long-line', () => driver.replicationBacklog('bucket')],
    ] as const;
    for (const [mode, call] of calls) {
      fake.mode = mode;
      expect((await failure(call())).message).not.toContain(FILLER);
    }
  });
});

describe('the operator against a hostile site', () => {
  let ns: string;
  let real: ThrowawayMinio;
  const figures: string[] = [];

  async function apply(doc: object) {
    await mustKubectl(['apply', '-n', ns, '-f', '-'], stringify(doc));
  }

  async function putCredentials(site: string, accessKey: string, secretKey: string) {
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${site}-credentials` },
      stringData: { accessKey, secretKey },
    });
  }

  function group(name: string) {
    return {
      apiVersion: 'sitesync.io/v1alpha1',
      kind: 'SiteReplicationGroup',
      metadata: { name },
      spec: {
        primary: 'real',
        syncInterval: '2s',
        sites: [siteSpec('real', real), siteSpec('hostile', fake)],
      },
    };
  }

  /** The fake's `lastError` in the group's status once it matches; the real site stays reachable. */
  async function fakeSiteError(name: string, pattern: RegExp): Promise<string> {
    return eventually(
      async () => {
        const g = await kubeClient().get<SiteReplicationGroup>(SRG_RESOURCE, ns, name);
        const sites = g.status?.sites ?? [];
        const hostile = sites.find((s) => s.name === 'hostile');
        expect(hostile?.lastError).toMatch(pattern);
        expect(sites.find((s) => s.name === 'real')?.reachable).toBe(true);
        return hostile?.lastError ?? '';
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  }

  /** Waits until the fake has answered `n` more IAM export requests (passes of the operator). */
  async function morePasses(n: number): Promise<void> {
    const exports = () => fake.served.filter((s) => s.path.includes('/export-iam')).length;
    const target = exports() + n;
    await eventually(
      () => {
        expect(exports()).toBeGreaterThanOrEqual(target);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  }

  /**
   * A fresh operator process faces a group of one real MinIO and the fake in `mode` for a few
   * passes; returns the status error and the operator's peak RSS at start and at the end.
   */
  async function face(
    mode: HostileMode,
    name: string,
    pattern: RegExp,
    inspect: () => Promise<void> = () => Promise.resolve(),
  ) {
    fake.mode = mode;
    const operator = new OperatorProcess({
      KUBECONFIG: stack().kubeconfig,
      WATCH_NAMESPACE: ns,
      LOG_LEVEL: 'debug',
      SITE_TIMEOUT_MS: '10000',
    });
    await operator.start();
    try {
      const started = operator.peakRssBytes();
      await apply(group(name));
      const error = await fakeSiteError(name, pattern);
      await morePasses(3);
      const peak = operator.peakRssBytes();
      const logs = operator.logs();
      await inspect();
      figures.push(`${mode}: peak RSS ${mib(peak)} (${mib(started)} at start)`);
      return { error, started, peak, logs };
    } finally {
      await mustKubectl(['delete', 'srg', name, '-n', ns, '--wait=false']);
      await operator.stop();
    }
  }

  beforeAll(async () => {
    await applyCrds();
    ns = await createNamespace('hostile');
    await ensureCaSecret(ns);
    real = await startThrowawayMinio('hostile-real');
    await putCredentials('real', real.accessKey, real.secretKey);
    await putCredentials('hostile', 'hostile', 'hostile-secret');
  });

  afterAll(async () => {
    await real.stop();
    // The figures docs/decisions.md quotes ("Input from sites and users is bounded").
    process.stdout.write(`${figures.join('\n')}\n`);
  });

  it('reports a site that sends a zip bomb as "response too large", without inflating it', async () => {
    const r = await face(
      'bomb',
      'bomb',
      /response too large: .*export-.* unzipped: .* over 32 MiB/,
    );
    expect(r.error).toContain('expands to 256 MiB');
    // Inflating one entry alone would take 256 MiB.
    expect(r.peak).toBeLessThan(PEAK_RSS_LIMIT);
    expect(r.peak - r.started).toBeLessThan(GROWTH_LIMIT);
    expect(r.logs).not.toContain(FILLER);
  });

  it('reports a site that streams 1 GiB as "response too large" and reads only its caps', async () => {
    const r = await face('stream', 'stream', /response too large: .* exceeded \d+ MiB$/);
    expect(r.error).not.toContain(FILLER);
    // Reading one of the streams whole would take 1 GiB.
    expect(r.peak).toBeLessThan(PEAK_RSS_LIMIT);
    expect(r.peak - r.started).toBeLessThan(GROWTH_LIMIT);
    expect(r.logs).not.toContain(FILLER);
  });
});

describe('status and events against a site that sends what they must not show', () => {
  let ns: string;
  let real: ThrowawayMinio;
  let operator: OperatorProcess;

  async function apply(doc: object) {
    await mustKubectl(['apply', '-n', ns, '-f', '-'], stringify(doc));
  }

  const getGroup = (name: string) => kubeClient().get<SiteReplicationGroup>(SRG_RESOURCE, ns, name);

  function group(name: string, syncInterval = '2s') {
    return {
      apiVersion: 'sitesync.io/v1alpha1',
      kind: 'SiteReplicationGroup',
      metadata: { name },
      spec: {
        primary: 'real',
        syncInterval,
        sites: [siteSpec('real', real), siteSpec('hostile', fake)],
      },
    };
  }

  /** The hostile site's lastError once it matches (the real site reachable). */
  async function hostileError(name: string, pattern: RegExp): Promise<SiteReplicationGroup> {
    return eventually(
      async () => {
        const g = await getGroup(name);
        const sites = g.status?.sites ?? [];
        expect(sites.find((s) => s.name === 'hostile')?.lastError).toMatch(pattern);
        expect(sites.find((s) => s.name === 'real')?.reachable).toBe(true);
        return g;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  }

  beforeAll(async () => {
    await applyCrds();
    ns = await createNamespace('hostile-msg');
    await ensureCaSecret(ns);
    real = await startThrowawayMinio('hostile-msg-real');
    for (const [site, ak, sk] of [
      ['real', real.accessKey, real.secretKey],
      ['hostile', 'hostile', 'hostile-secret'],
    ] as const) {
      await apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${site}-credentials` },
        stringData: { accessKey: ak, secretKey: sk },
      });
    }
    operator = new OperatorProcess({
      KUBECONFIG: stack().kubeconfig,
      WATCH_NAMESPACE: ns,
      LOG_LEVEL: 'debug',
      SITE_TIMEOUT_MS: '10000',
    });
    await operator.start();
  });

  afterAll(async () => {
    await operator.stop();
    await real.stop();
  });

  it('an export with malformed JSON next to a secret key: no substring of the key in status, events or logs', async () => {
    fake.mode = 'malformed';
    await apply(group('malformed'));
    const g = await hostileError(
      'malformed',
      /hostile: export-iam: iam-assets\/users\.json in the export is not valid JSON/,
    );
    expect(findCondition(g.status?.conditions, 'Degraded')?.message).toContain('not valid JSON');
    // A few passes more, so every message the failure produces has been written.
    const passes = () => fake.served.filter((s) => s.path.includes('/export-iam')).length;
    const target = passes() + 3;
    await eventually(
      () => {
        expect(passes()).toBeGreaterThanOrEqual(target);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const texts = [
      await mustKubectl(['get', 'srg', '-n', ns, '-o', 'json']),
      await mustKubectl(['get', 'events', '-n', ns, '-o', 'json']),
      operator.logs(),
    ];
    expect(texts[0]).toContain('not valid JSON');
    // Every 5-character piece of the key: a parse error quotes about 10 characters around it.
    const pieces = Array.from({ length: MALFORMED_SECRET.length - 4 }, (_, i) =>
      MALFORMED_SECRET.slice(i, i + 5),
    );
    expect(pieces.filter((p) => texts.some((t) => t.includes(p)))).toEqual([]);
    await mustKubectl(['delete', 'srg', 'malformed', '-n', ns, '--wait=false']);
  });

  it('a 40 KB error from a site leaves a bounded status that still updates', async () => {
    fake.mode = 'long-error';
    await apply(group('long'));
    const g = await hostileError('long', /InternalError|EEEE/);
    const lastError = g.status?.sites?.find((s) => s.name === 'hostile')?.lastError ?? '';
    expect(lastError.length).toBeLessThanOrEqual(MAX_PART_MESSAGE);
    const degraded = findCondition(g.status?.conditions, 'Degraded');
    expect(degraded?.status).toBe('True');
    expect(degraded?.message).toMatch(/^hostile: .*E{100}.*more characters/);
    expect(degraded?.message.length).toBeLessThanOrEqual(MAX_CONDITION_MESSAGE);
    expect(LONG_ERROR_CHARS).toBeGreaterThan(32_768);
    // A new generation is observed: the status patch goes through.
    await apply(group('long', '3s'));
    await eventually(
      async () => {
        const now = await getGroup('long');
        expect(now.metadata.generation).toBeGreaterThan(g.metadata.generation ?? 0);
        expect(now.status?.observedGeneration).toBe(now.metadata.generation);
        expect(findCondition(now.status?.conditions, 'Degraded')?.status).toBe('True');
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    await mustKubectl(['delete', 'srg', 'long', '-n', ns, '--wait=false']);
  });
});
