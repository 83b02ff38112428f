/**
 * The object copier between a real MinIO and a real moto, both ways: every version and delete
 * marker with its bytes (sha256), metadata, tags, content type, retention and legal hold; no
 * loop over passes in both directions (writes counted by a proxy in front of each site); a
 * conflict resolved newest-wins; `sitesync copy` killed (SIGKILL) in the middle of 2 000
 * objects and resumed, copying none twice and losing none; a 200 MiB object copied by the CLI
 * process with its peak RSS under 200 MiB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { REPLICA_MARKER } from '../../src/replication/copy-plan.js';
import { mapLimit } from '../../src/runtime/concurrency.js';
import { MinioSiteClient } from '../../src/sites/minio/minio-site-client.js';
import { S3SiteClient } from '../../src/sites/s3/s3-site-client.js';
import type { ObjectAttributes, SiteClient } from '../../src/sites/site-client.js';
import { MemoryCheckpointStore } from '../../src/transfer/checkpoint-store.js';
import { ObjectCopier, passProgress } from '../../src/transfer/copier.js';
import { keyVersions } from '../../src/transfer/key-listing.js';
import { emptyCheckpoint } from '../../src/replication/copy-checkpoint.js';
import {
  CheckpointTooLargeError,
  ConfigMapCheckpointStore,
  checkpointName,
} from '../../src/transfer/configmap-checkpoint-store.js';
import { kubeConfigMapApi } from '../../src/transfer/kube-configmap-api.js';
import { eventually } from '../support/eventually.js';
import { CONFIGMAPS } from '../../src/runtime/kube-client.js';
import { createNamespace, kubeClient } from '../support/kube.js';
import { type ThrowawayMinio, startThrowawayMinio } from '../support/minio.js';
import { type ThrowawayMoto, startThrowawayMoto } from '../support/moto.js';
import { type CountingProxy, startCountingProxy } from '../support/s3-counting-proxy.js';
import { REPO_ROOT, readStack } from '../support/stack.js';

let minio: ThrowawayMinio;
let moto: ThrowawayMoto;
let minioProxy: CountingProxy;
let motoProxy: CountingProxy;
const clients: SiteClient[] = [];
const signal = new AbortController().signal;
const MiB = 1024 * 1024;

interface Server {
  endpoint: string;
  accessKey: string;
  secretKey: string;
}

function connect(name: string, flavor: 'minio' | 's3', server: Server, endpoint?: string) {
  const conn = {
    name,
    flavor,
    endpoint: endpoint ?? server.endpoint,
    region: 'us-east-1',
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    timeoutMs: 60_000,
  };
  const c = flavor === 'minio' ? new MinioSiteClient(conn) : new S3SiteClient(conn);
  clients.push(c);
  return c;
}

/** The sites as the copier sees them (through the counting proxies) and as the test checks them. */
const copierMinio = () => connect('minio', 'minio', minio, minioProxy.endpoint);
const copierMoto = () => connect('aws', 's3', moto, motoProxy.endpoint);
let checkMinio: SiteClient;
let checkMoto: SiteClient;

beforeAll(async () => {
  // Plain http: the copier's counting proxies speak http, and `sitesync copy` takes no CA yet.
  [minio, moto] = await Promise.all([
    startThrowawayMinio('copier', {}, { tls: false }),
    startThrowawayMoto('copier'),
  ]);
  [minioProxy, motoProxy] = await Promise.all([
    startCountingProxy(minio.endpoint),
    startCountingProxy(moto.endpoint),
  ]);
  checkMinio = connect('minio', 'minio', minio);
  checkMoto = connect('aws', 's3', moto);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([minioProxy.close(), motoProxy.close()]);
  await Promise.all([minio.stop(), moto.stop()]);
});

async function bucketOnBoth(bucket: string, objectLock = false) {
  for (const s of [checkMinio, checkMoto]) {
    await s.createBucket(bucket, { objectLock }, signal);
    await s.enableVersioning(bucket, signal);
  }
}

const attrs = (over: Partial<ObjectAttributes> = {}): ObjectAttributes => ({
  metadata: {},
  tags: {},
  ...over,
});

async function put(
  site: SiteClient,
  { bucket, key }: { bucket: string; key: string },
  body: string | Buffer,
  a = attrs(),
) {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  return site.putObject(
    { bucket, key },
    { body: Readable.from([data]), size: data.length, attributes: a },
    { multipartThreshold: 64 * MiB, partSize: 8 * MiB },
    signal,
  );
}

/** A key's versions oldest first, each as what a copy must reproduce. */
async function history(site: SiteClient, bucket: string) {
  const out: Record<string, unknown[]> = {};
  const listing = keyVersions(site, { bucket, range: {}, pageSize: 1000, signal });
  for await (const k of listing) {
    const versions = [];
    for (const v of [...k.versions].reverse()) {
      if (v.deleteMarker) {
        versions.push('delete-marker');
        continue;
      }
      const r = await site.getObjectVersion({ bucket, key: k.key, versionId: v.versionId }, signal);
      const hash = createHash('sha256');
      for await (const chunk of r.body) hash.update(chunk as Buffer);
      const { [REPLICA_MARKER]: _marker, ...metadata } = r.metadata;
      versions.push({
        sha256: hash.digest('hex'),
        size: r.size,
        contentType: r.contentType,
        cacheControl: r.cacheControl,
        metadata,
        tags: r.tags,
        retention: r.retention,
        legalHold: r.legalHold === true,
      });
    }
    out[k.key] = versions;
  }
  return out;
}

const inAWeek = () => new Date(Date.now() + 7 * 86_400_000).toISOString();

/** Histories with interleaved delete markers, attributes of every kind, and one multipart body. */
async function seedRich(site: SiteClient, bucket: string, interleaved: boolean) {
  await put(site, { bucket, key: 'plain' }, 'one');
  await put(site, { bucket, key: 'plain' }, 'two', attrs({ contentType: 'text/plain' }));
  await put(
    site,
    { bucket, key: 'dir/with meta+tags' },
    'payload',
    attrs({
      contentType: 'application/x-test',
      cacheControl: 'max-age=60',
      metadata: { owner: 'team-a', 'x-note': 'hello, world' },
      tags: { env: 'prod', 'cost center': 'a+b /c=d' },
    }),
  );
  await put(site, { bucket, key: 'locked' }, 'held', attrs({ legalHold: true }));
  await put(
    site,
    { bucket, key: 'retained' },
    'kept',
    attrs({ retention: { mode: 'GOVERNANCE', retainUntil: inAWeek() } }),
  );
  await put(site, { bucket, key: 'deleted' }, 'gone soon');
  await site.putDeleteMarker({ bucket, key: 'deleted' }, signal);
  if (interleaved) {
    await put(site, { bucket, key: 'again' }, 'first');
    await site.putDeleteMarker({ bucket, key: 'again' }, signal);
    await put(site, { bucket, key: 'again' }, 'back');
  }
  await put(
    site,
    { bucket, key: 'big' },
    randomBytes(12 * MiB),
    attrs({ metadata: { size: 'big' } }),
  );
}

function copier(
  source: SiteClient,
  destination: SiteClient,
  bucket: string,
  opts: {
    store?: MemoryCheckpointStore;
    mode?: 'one-way' | 'two-way';
    deleteMarkers?: boolean;
  } = {},
) {
  const { store = new MemoryCheckpointStore(), mode = 'one-way', deleteMarkers = true } = opts;
  return new ObjectCopier({
    source,
    destination,
    bucket,
    store,
    options: {
      mode,
      multipartThreshold: 8 * MiB,
      partSize: 5 * MiB,
      concurrency: 4,
      deleteMarkers,
    },
  });
}

describe('the object copier between MinIO and moto', () => {
  it('copies every version and delete marker MinIO -> moto with bytes, metadata, tags, retention and legal hold; a second pass writes nothing', async () => {
    const bucket = 'rich-to-moto';
    await bucketOnBoth(bucket, true);
    await seedRich(checkMinio, bucket, true);
    const c = copier(copierMinio(), copierMoto(), bucket);
    const first = await c.runPass(signal);
    expect(first).toMatchObject({ failed: 0, pending: 0, copied: 9, deleteMarkers: 2 });
    expect(motoProxy.objectWrites(bucket)).toBe(9);
    const want = await history(checkMinio, bucket);
    const got = await history(checkMoto, bucket);
    // moto lists a key's delete markers after its versions, with times to the second, so the
    // order of 'again' (object, marker, object within a second) shows only in its latest.
    const { again: gotAgain, ...gotRest } = got;
    const { again: wantAgain, ...wantRest } = want;
    expect(gotRest).toEqual(wantRest);
    expect(wantAgain).toEqual([expect.anything(), 'delete-marker', expect.anything()]);
    expect(gotAgain?.at(-1)).toEqual(wantAgain?.at(-1));
    expect([...(gotAgain ?? [])].map((v) => JSON.stringify(v)).sort()).toEqual(
      [...(wantAgain ?? [])].map((v) => JSON.stringify(v)).sort(),
    );
    expect(want['retained']).toEqual([
      expect.objectContaining({ retention: expect.objectContaining({ mode: 'GOVERNANCE' }) }),
    ]);

    const second = await c.runPass(signal);
    expect(second).toMatchObject({ copied: 0, deleteMarkers: 0, failed: 0 });
    expect(motoProxy.objectWrites(bucket)).toBe(9);
    expect(motoProxy.deletes(bucket)).toBe(2);
  });

  it('copies every version and delete marker moto -> MinIO', async () => {
    const bucket = 'rich-to-minio';
    await bucketOnBoth(bucket, true);
    // moto lists delete markers apart from versions, with times to the second: histories
    // where a marker sits between two versions written in one second cannot be ordered from
    // its listing (docs/s3-flavor.md), so the markers here are the newest versions.
    await seedRich(checkMoto, bucket, false);
    const c = copier(copierMoto(), copierMinio(), bucket);
    expect(await c.runPass(signal)).toMatchObject({ failed: 0, copied: 7, deleteMarkers: 1 });
    expect(await history(checkMinio, bucket)).toEqual(await history(checkMoto, bucket));
    expect(minioProxy.objectWrites(bucket)).toBe(7);
  });

  it('with deleteMarkers off, passes over delete markers and copies the versions after them', async () => {
    const bucket = 'no-markers';
    await bucketOnBoth(bucket);
    await put(checkMinio, { bucket, key: 'k' }, 'one');
    await checkMinio.putDeleteMarker({ bucket, key: 'k' }, signal);
    await put(checkMinio, { bucket, key: 'k' }, 'two');
    await put(checkMinio, { bucket, key: 'gone' }, 'three');
    await checkMinio.putDeleteMarker({ bucket, key: 'gone' }, signal);
    const c = copier(copierMinio(), copierMoto(), bucket, { deleteMarkers: false });
    expect(await c.runPass(signal)).toMatchObject({ copied: 3, deleteMarkers: 0, failed: 0 });
    expect(motoProxy.deletes(bucket)).toBe(0);
    const got = await history(checkMoto, bucket);
    expect(got['k']).toHaveLength(2);
    expect(got['k']).not.toContain('delete-marker');
    expect(got['gone']).toHaveLength(1);
    expect(got['gone']).not.toContain('delete-marker');
    expect(await c.runPass(signal)).toMatchObject({ copied: 0, deleteMarkers: 0, pending: 0 });
  });

  it("reports a version it cannot copy as failed, the key's later versions as pending, and copies the other keys", async () => {
    const bucket = 'cannot-lock';
    await checkMoto.createBucket(bucket, { objectLock: true }, signal);
    await checkMinio.createBucket(bucket, {}, signal);
    await checkMinio.enableVersioning(bucket, signal);
    await put(checkMoto, { bucket, key: 'held' }, 'on hold', attrs({ legalHold: true }));
    await put(checkMoto, { bucket, key: 'held' }, 'after');
    await put(checkMoto, { bucket, key: 'free' }, 'free');
    const r = await copier(copierMoto(), copierMinio(), bucket).runPass(signal);
    expect(r).toMatchObject({ copied: 1, failed: 1, pending: 2 });
    expect(r.failures).toEqual([
      expect.objectContaining({
        key: 'held',
        message: expect.stringMatching(/^minio: PutObject: /),
      }),
    ]);
    expect(passProgress(r)).toMatchObject({ pending: 2, replicated: 1, failed: 1, bytes: 4 });
    expect(r.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(minioProxy.objectWrites(bucket)).toBe(1);
  });

  it('two-way: writes on either side reach the other, nothing loops over passes, a conflict is won by the newest write', async () => {
    const bucket = 'both-ways';
    await bucketOnBoth(bucket);
    const store = new MemoryCheckpointStore();
    const toMoto = copier(copierMinio(), copierMoto(), bucket, { store, mode: 'two-way' });
    const toMinio = copier(copierMoto(), copierMinio(), bucket, { store, mode: 'two-way' });
    await put(checkMinio, { bucket, key: 'from-minio' }, 'm1');
    await put(checkMoto, { bucket, key: 'from-moto' }, 'a1');
    await checkMoto.putDeleteMarker({ bucket, key: 'from-moto' }, signal);
    // The same key on both sides: moto's write is the newer one.
    await put(checkMinio, { bucket, key: 'both' }, 'older (minio)');
    await eventually(
      async () => {
        const v = (await checkMinio.listVersionPage(bucket, { prefix: 'both' }, signal))
          .versions[0];
        expect(Date.now() - Date.parse(v?.lastModified ?? '')).toBeGreaterThan(1100);
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    await put(checkMoto, { bucket, key: 'both' }, 'newer (moto)');

    const conflicts = [];
    for (let i = 0; i < 3; i++) {
      const a = await toMoto.runPass(signal);
      const b = await toMinio.runPass(signal);
      conflicts.push(...a.conflicts, ...b.conflicts);
      expect(a.failed + b.failed).toBe(0);
    }
    expect(conflicts).toEqual([
      expect.objectContaining({
        key: 'both',
        winner: expect.objectContaining({ site: 'aws' }),
        loser: expect.objectContaining({ site: 'minio' }),
      }),
    ]);
    // Writes: from-minio to moto; from-moto (+ its delete marker) and both's winner to MinIO.
    expect(motoProxy.objectWrites(bucket)).toBe(1);
    expect(motoProxy.deletes(bucket)).toBe(0);
    expect(minioProxy.objectWrites(bucket)).toBe(2);
    expect(minioProxy.deletes(bucket)).toBe(1);
    const latest = async (s: SiteClient, key: string) => {
      const v = (await s.listVersionPage(bucket, { prefix: key }, signal)).versions[0];
      if (v === undefined || v.deleteMarker) return v?.deleteMarker === true ? 'deleted' : 'absent';
      const r = await s.getObjectVersion({ bucket, key, versionId: v.versionId }, signal);
      return Buffer.concat(await r.body.toArray()).toString();
    };
    for (const key of ['from-minio', 'from-moto', 'both']) {
      expect(await latest(checkMinio, key)).toEqual(await latest(checkMoto, key));
    }
    expect(await latest(checkMinio, 'both')).toBe('newer (moto)');
    // The losing write is kept on its own site, older than the winner.
    expect(
      (await checkMinio.listVersionPage(bucket, { prefix: 'both' }, signal)).versions,
    ).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI as a process: killed and resumed; memory for a large object.

const CLI = join(REPO_ROOT, 'dist/cli/sitesync.js');

function cliEnv(destEndpoint: string): NodeJS.ProcessEnv {
  const stack = readStack();
  if (!stack) throw new Error('The stack is not up');
  return {
    PATH: process.env['PATH'],
    KUBECONFIG: stack.kubeconfig,
    SITESYNC_SITE_MINIO_ENDPOINT: minio.endpoint,
    SITESYNC_SITE_MINIO_ACCESS_KEY: minio.accessKey,
    SITESYNC_SITE_MINIO_SECRET_KEY: minio.secretKey,
    SITESYNC_SITE_AWS_ENDPOINT: destEndpoint,
    SITESYNC_SITE_AWS_FLAVOR: 's3',
    SITESYNC_SITE_AWS_ACCESS_KEY: moto.accessKey,
    SITESYNC_SITE_AWS_SECRET_KEY: moto.secretKey,
  };
}

/**
 * As a copy Job runs it (docs/s3-flavor.md): a small young generation, so that the garbage of
 * streamed chunks is collected often instead of piling up to V8's external-memory threshold.
 */
function startCli(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--max-semi-space-size=2', CLI, 'copy', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      resolve(code);
    }),
  );
  return { child, exited, output: () => ({ out, err }) };
}

const namespace = () => createNamespace('copier');

const vmHWM = (child: ChildProcess) => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
};

describe('sitesync copy (a process)', () => {
  it('killed with SIGKILL in the middle of 2 000 objects, resumes without copying any twice and loses none', async () => {
    const bucket = 'kill-resume';
    await bucketOnBoth(bucket);
    const keys = Array.from({ length: 2000 }, (_, i) => `obj/${String(i).padStart(4, '0')}`);
    await mapLimit(keys, 16, (k) => put(checkMinio, { bucket, key: k }, `body of ${k}`));
    const ns = await namespace();
    const args = [
      '--bucket',
      bucket,
      '--source',
      'minio',
      '--destination',
      'aws',
      '--checkpoint-namespace',
      ns,
      '--batch-keys',
      '50',
      '--concurrency',
      '4',
    ];
    const env = cliEnv(motoProxy.endpoint);

    const first = startCli(args, env);
    await eventually(
      () => {
        expect(motoProxy.objectWrites(bucket)).toBeGreaterThanOrEqual(300);
      },
      { timeoutMs: 120_000, intervalMs: 20 },
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = motoProxy.objectWrites(bucket);
    const partial = [];
    for await (const k of keyVersions(checkMoto, { bucket, range: {}, pageSize: 1000, signal }))
      partial.push(k);
    expect(partial.length).toBeGreaterThanOrEqual(300);
    expect(partial.length).toBeLessThan(2000);

    const second = startCli(args, env);
    expect(await second.exited).toBe(0);
    const report = JSON.parse(second.output().out.trim().split('\n').at(-1) ?? '{}') as {
      copied: number;
      failed: number;
    };
    expect(report.failed).toBe(0);
    // Every object once: 2 000 successful PUTs in all, one version per key on moto.
    expect(motoProxy.objectWrites(bucket)).toBe(2000);
    expect(report.copied).toBe(2000 - atKill);
    const listed = [];
    for await (const k of keyVersions(checkMoto, { bucket, range: {}, pageSize: 1000, signal }))
      listed.push(k);
    expect(listed.map((k) => k.key)).toEqual(keys);
    expect(listed.every((k) => k.versions.length === 1)).toBe(true);
    const sample = listed[1234]!;
    const r = await checkMoto.getObjectVersion(
      { bucket, key: sample.key, versionId: sample.versions[0]!.versionId },
      signal,
    );
    expect(Buffer.concat(await r.body.toArray()).toString()).toBe(`body of ${sample.key}`);
    expect(r.metadata[REPLICA_MARKER]).toMatch(/^minio\//);
  });

  it('copies a 200 MiB object with the process peak RSS (VmHWM) under 200 MiB', async () => {
    const bucket = 'large-object';
    await bucketOnBoth(bucket);
    const size = 200 * MiB;
    const hash = createHash('sha256');
    const chunks = (function* () {
      for (let i = 0; i < size / MiB; i++) {
        const c = Buffer.alloc(MiB, i % 251);
        hash.update(c);
        yield c;
      }
    })();
    await checkMinio.putObject(
      { bucket, key: 'large' },
      {
        body: Readable.from(chunks),
        size,
        attributes: attrs({ contentType: 'application/octet-stream' }),
      },
      { multipartThreshold: 16 * MiB, partSize: 16 * MiB },
      signal,
    );
    const want = hash.digest('hex');
    const ns = await namespace();
    const cli = startCli(
      [
        '--bucket',
        bucket,
        '--source',
        'minio',
        '--destination',
        'aws',
        '--checkpoint-namespace',
        ns,
        '--part-size',
        String(16 * MiB),
        '--multipart-threshold',
        String(16 * MiB),
      ],
      cliEnv(moto.endpoint),
    );
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, vmHWM(cli.child))), 100);
    const code = await cli.exited;
    clearInterval(timer);
    expect({ code, err: cli.output().err }).toEqual({ code: 0, err: '' });
    const report = JSON.parse(cli.output().out.trim().split('\n').at(-1) ?? '{}') as {
      bytes: number;
      maxRssBytes: number;
    };
    expect(report.bytes).toBe(size);
    expect(peak).toBeGreaterThan(0);
    const peakMiB = Math.round(Math.max(peak, report.maxRssBytes) / MiB);
    console.log(
      `copier: a 200 MiB object copied with a peak RSS (VmHWM) of ${String(peakMiB)} MiB`,
    );
    expect(Math.max(peak, report.maxRssBytes)).toBeLessThan(200 * MiB);
    const v = (await checkMoto.listVersionPage(bucket, {}, signal)).versions[0]!;
    const r = await checkMoto.getObjectVersion(
      { bucket, key: 'large', versionId: v.versionId },
      signal,
    );
    const got = createHash('sha256');
    for await (const c of r.body) got.update(c as Buffer);
    expect(got.digest('hex')).toBe(want);
  });
});

describe('checkpoints in ConfigMaps, through the operator KubeClient', () => {
  it('round-trip on the apiserver, and one too large for a ConfigMap is refused with advice', async () => {
    const ns = await namespace();
    const store = new ConfigMapCheckpointStore(kubeConfigMapApi(kubeClient()), ns, {
      'sitesync.io/group': 'g',
    });
    const route = { bucket: 'b', source: 'minio', destination: 'aws', range: { until: 'm' } };
    expect(await store.load(route, signal)).toBeUndefined();
    const c = emptyCheckpoint(route);
    c.keys['k'] = { h: ['v1'], m: [['v1', 'r1']] };
    await store.save(c, signal);
    await store.save(c, signal);
    expect((await store.load(route, signal))?.keys['k']).toEqual({ h: ['v1'], m: [['v1', 'r1']] });
    const big = emptyCheckpoint(route);
    for (let i = 0; i < 40_000; i++)
      big.keys[randomBytes(12).toString('hex')] = { h: [randomBytes(16).toString('hex')] };
    await expect(store.save(big, signal)).rejects.toThrow(CheckpointTooLargeError);
    await expect(store.save(big, signal)).rejects.toThrow(/--partition/);
  });

  it("an owner's checkpoints carry its owner reference and names of their own (two groups never share one)", async () => {
    const ns = await namespace();
    const kube = kubeClient();
    const api = kubeConfigMapApi(kube);
    // Real owners (the garbage collector deletes what an absent owner owns).
    const ownerUid = async (name: string) => {
      const made = await kube.create<{ metadata: { uid: string } }>(CONFIGMAPS, ns, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name },
      });
      return made.metadata.uid;
    };
    const [uid1, uid2] = [await ownerUid('owner-1'), await ownerUid('owner-2')];
    const owner = (uid: string, name: string) => ({
      scope: uid,
      reference: { apiVersion: 'v1', kind: 'ConfigMap', name, uid, controller: true },
    });
    const one = new ConfigMapCheckpointStore(api, ns, {}, owner(uid1, 'owner-1'));
    const two = new ConfigMapCheckpointStore(api, ns, {}, owner(uid2, 'owner-2'));
    const route = { bucket: 'b', source: 'minio', destination: 'aws', range: {} };
    const c = emptyCheckpoint(route);
    c.keys['k'] = { h: ['v1'] };
    await one.save(c, signal);
    expect((await one.load(route, signal))?.keys['k']).toEqual({ h: ['v1'] });
    expect(await two.load(route, signal)).toBeUndefined();
    expect(checkpointName(route, uid1)).not.toBe(checkpointName(route, uid2));
    const cm = await api.get(ns, checkpointName(route, uid1), signal);
    expect(cm?.metadata.ownerReferences).toEqual([owner(uid1, 'owner-1').reference]);
  });
});

describe('a bulk copy in key ranges (as Jobs would run it)', () => {
  it('sitesync partitions cuts the bucket, one sitesync copy per range copies it all, moto as the source', async () => {
    const bucket = 'partitioned';
    await bucketOnBoth(bucket);
    const keys = Array.from({ length: 60 }, (_, i) => `p/${String(i).padStart(2, '0')}`);
    await mapLimit(keys, 8, async (k) => {
      await put(checkMoto, { bucket, key: k }, `${k} v1`);
      await put(checkMoto, { bucket, key: k }, `${k} v2`);
    });
    const env = {
      ...cliEnv(moto.endpoint),
      SITESYNC_SITE_MINIO_ENDPOINT: minioProxy.endpoint,
    };
    const parts = spawn(
      process.execPath,
      [CLI, 'partitions', '--bucket', bucket, '--site', 'aws', '--parts', '3'],
      { env },
    );
    let text = '';
    parts.stdout.on('data', (d: Buffer) => (text += d.toString()));
    expect(await new Promise((r) => parts.on('exit', r))).toBe(0);
    const ranges = text.trim().split('\n');
    expect(ranges).toHaveLength(3);
    const ns = await namespace();
    const jobs = ranges.map((range) =>
      startCli(
        [
          '--bucket',
          bucket,
          '--source',
          'aws',
          '--destination',
          'minio',
          '--checkpoint-namespace',
          ns,
          '--partition',
          range,
        ],
        env,
      ),
    );
    expect(await Promise.all(jobs.map((j) => j.exited))).toEqual([0, 0, 0]);
    expect(minioProxy.objectWrites(bucket)).toBe(120);
    expect(await history(checkMinio, bucket)).toEqual(await history(checkMoto, bucket));
    // A range may start after a key that does not exist: moto 5 then skips the newest version
    // of the next key, which the driver lists again.
    const page = await checkMoto.listVersionPage(
      bucket,
      { after: { key: 'p/19x' }, maxKeys: 4 },
      signal,
    );
    expect(page.versions[0]).toMatchObject({ key: 'p/20', isLatest: true });
    expect(page.versions.filter((x) => x.key === 'p/20')).toHaveLength(2);
  });
});
