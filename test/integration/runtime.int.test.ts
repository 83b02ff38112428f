/**
 * The generic controller runtime against the real apiserver: reconcile + status, retries with
 * backoff, per-key serialisation, surviving an apiserver restart, and leader election between
 * two real processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { isTrue } from '../../src/runtime/conditions.js';
import { Informer } from '../../src/runtime/informer.js';
import {
  KubeClient,
  LEASES,
  type ResourceType,
  type WatchEvent,
  type WatchOptions,
  isGone,
} from '../../src/runtime/kube-client.js';
import type { Lease } from '../../src/runtime/leader-election.js';
import { eventually } from '../support/eventually.js';
import { createNamespace, kubeClient, mustKubectl, stack } from '../support/kube.js';
import { REPO_ROOT, restartApiserver } from '../support/stack.js';
import { WIDGET_CRD, WIDGETS, type Widget, widget, widgetController } from '../support/widgets.js';

let client: KubeClient;
let ns: string;

beforeAll(async () => {
  client = kubeClient();
  await mustKubectl(['apply', '-f', '-'], WIDGET_CRD);
  await mustKubectl(['wait', '--for=condition=Established', 'crd/widgets.test.sitesync.io']);
  ns = await createNamespace('runtime');
});

async function getWidget(name: string): Promise<Widget> {
  return client.get<Widget>(WIDGETS, ns, name);
}

async function readyAtGeneration(name: string): Promise<Widget> {
  const w = await getWidget(name);
  expect(isTrue(w.status?.conditions, 'Ready')).toBe(true);
  expect(w.status?.observedGeneration).toBe(w.metadata.generation);
  return w;
}

describe('controller runtime on a real apiserver', () => {
  const stop = new AbortController();
  const attempts = new Map<string, number[]>();
  const active = new Map<string, number>();
  let maxActivePerKey = 0;
  let running: Promise<void>;

  beforeAll(() => {
    const { controller } = widgetController(client, {
      namespace: ns,
      identity: 'in-process',
      backoff: { baseMs: 200, maxMs: 5000 },
      onReconcile: async (key) => {
        attempts.set(key, [...(attempts.get(key) ?? []), performance.now()]);
        const n = (active.get(key) ?? 0) + 1;
        active.set(key, n);
        maxActivePerKey = Math.max(maxActivePerKey, n);
        const w = await client
          .get<Widget>(WIDGETS, ns, key.split('/')[1] ?? '')
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, w?.spec?.slowMs ?? 0));
        active.set(key, n - 1);
      },
    });
    running = controller.run(stop.signal);
  });

  afterAll(async () => {
    stop.abort();
    await running;
  });

  it('reconciles a created resource and writes observedGeneration and Ready', async () => {
    await client.create(WIDGETS, ns, widget(ns, 'w1', { value: 'one' }));
    const first = await eventually(() => readyAtGeneration('w1'));
    expect(first.metadata.generation).toBe(1);
    await client.patch(WIDGETS, { namespace: ns, name: 'w1' }, { spec: { value: 'two' } });
    const second = await eventually(() => readyAtGeneration('w1'));
    expect(second.metadata.generation).toBe(2);
    expect(second.status?.conditions?.[0]?.message).toBe('value=two');
  });

  it('is not queued again by status writes (its own or others), but is by spec and annotations', async () => {
    await client.create(WIDGETS, ns, widget(ns, 'quiet', { value: 'one' }));
    await eventually(() => readyAtGeneration('quiet'));
    const count = () => attempts.get(`${ns}/quiet`)?.length ?? 0;
    await new Promise((r) => setTimeout(r, 2000));
    expect(count()).toBe(1);
    await client.patch(
      WIDGETS,
      { namespace: ns, name: 'quiet', subresource: 'status' },
      { status: { handledBy: 'someone else' } },
    );
    await new Promise((r) => setTimeout(r, 2000));
    expect(count()).toBe(1);
    await client.patch(
      WIDGETS,
      { namespace: ns, name: 'quiet' },
      { metadata: { annotations: { 'sitesync.io/resync': '1' } } },
    );
    await eventually(() => {
      expect(count()).toBe(2);
    });
    await client.patch(WIDGETS, { namespace: ns, name: 'quiet' }, { spec: { value: 'two' } });
    await eventually(() => readyAtGeneration('quiet'));
    await new Promise((r) => setTimeout(r, 1000));
    expect(count()).toBe(3);
  });

  it('retries a failing reconcile with growing delays', async () => {
    await client.create(WIDGETS, ns, widget(ns, 'failing', { fail: true }));
    const times = await eventually(
      () => {
        const t = attempts.get(`${ns}/failing`) ?? [];
        expect(t.length).toBeGreaterThanOrEqual(5);
        return t;
      },
      { timeoutMs: 30_000 },
    );
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    // base 200 ms doubling with at most 20 % jitter: each gap is at least 1.5x the previous one.
    for (let i = 1; i < 4; i++) expect(gaps[i] ?? 0).toBeGreaterThan((gaps[i - 1] ?? 0) * 1.5);
    expect(gaps[0] ?? 0).toBeGreaterThanOrEqual(190);
    // Fixing the spec makes it converge.
    await client.patch(WIDGETS, { namespace: ns, name: 'failing' }, { spec: { fail: false } });
    await eventually(() => readyAtGeneration('failing'), { timeoutMs: 20_000 });
  });

  it('never reconciles one key concurrently, and catches up with changes made meanwhile', async () => {
    await client.create(WIDGETS, ns, widget(ns, 'slow', { slowMs: 400, value: '0' }));
    for (let i = 1; i <= 5; i++) {
      await client.patch(WIDGETS, { namespace: ns, name: 'slow' }, { spec: { value: String(i) } });
      await new Promise((r) => setTimeout(r, 50));
    }
    const w = await eventually(async () => {
      const x = await readyAtGeneration('slow');
      expect(x.status?.conditions?.[0]?.message).toBe('value=5');
      return x;
    });
    expect(w.metadata.generation).toBe(6);
    expect(maxActivePerKey).toBe(1);
    // Changes that arrived during a reconcile collapsed into fewer reconciles than changes.
    expect((attempts.get(`${ns}/slow`) ?? []).length).toBeLessThan(7);
  });

  it('resumes watching after the apiserver restarts', async () => {
    await restartApiserver({ downMs: 1000 });
    await client.create(WIDGETS, ns, widget(ns, 'after-restart', { value: 'x' }));
    await eventually(() => readyAtGeneration('after-restart'), { timeoutMs: 60_000 });
  });
});

describe('leader election between two real processes', () => {
  const procs: ChildProcess[] = [];

  function startInstance(identity: string): ChildProcess {
    const p = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'test/support/elector-process.ts'),
        stack().kubeconfig,
        ns,
        identity,
      ],
      { stdio: 'ignore', cwd: REPO_ROOT },
    );
    procs.push(p);
    return p;
  }

  const exitCode = (p: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) resolve(p.exitCode);
      else
        p.once('exit', (code) => {
          resolve(code);
        });
    });

  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
  });

  it('lets only the leader act, and the other takes over after the leader dies', async () => {
    const a = startInstance('alpha');
    await eventually(
      async () => {
        const lease = await client.get<Lease>(LEASES, ns, 'widget-leader');
        expect(lease.spec?.holderIdentity).toBe('alpha');
      },
      { timeoutMs: 30_000 },
    );
    const b = startInstance('beta');
    await client.create(WIDGETS, ns, widget(ns, 'led', { value: '1' }));
    await eventually(
      async () => {
        expect((await getWidget('led')).status?.handledBy).toBe('alpha');
      },
      {
        timeoutMs: 30_000,
      },
    );
    // Give beta time to act if it wrongly would, then change the widget again.
    await new Promise((r) => setTimeout(r, 1500));
    await client.patch(WIDGETS, { namespace: ns, name: 'led' }, { spec: { value: '2' } });
    await eventually(async () => {
      const w = await readyAtGeneration('led');
      expect(w.status?.handledBy).toBe('alpha');
    });

    a.kill('SIGKILL');
    expect(await exitCode(a)).toBeNull();
    // alpha is gone: the record it renewed last is final.
    const last = await client.get<Lease>(LEASES, ns, 'widget-leader');
    expect(last.spec?.holderIdentity).toBe('alpha');
    const renewedAt = Date.parse(String(last.spec?.renewTime));
    let acquiredAt = 0;
    await eventually(
      async () => {
        const lease = await client.get<Lease>(LEASES, ns, 'widget-leader');
        expect(lease.spec?.holderIdentity).toBe('beta');
        acquiredAt = Date.parse(String(lease.spec?.acquireTime));
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // Lease duration is 4 s: beta takes over only after seeing alpha's record unchanged that long.
    expect(acquiredAt - renewedAt).toBeGreaterThanOrEqual(4000 - 50);
    await client.patch(WIDGETS, { namespace: ns, name: 'led' }, { spec: { value: '3' } });
    await eventually(
      async () => {
        const w = await readyAtGeneration('led');
        expect(w.status?.handledBy).toBe('beta');
      },
      { timeoutMs: 30_000 },
    );

    // SIGTERM: beta drains, releases the lease and exits 0.
    b.kill('SIGTERM');
    expect(await exitCode(b)).toBe(0);
    const lease = await client.get<Lease>(LEASES, ns, 'widget-leader');
    expect(lease.spec?.holderIdentity ?? null).toBeNull();
  });
});

describe('expired resource versions', () => {
  it('the apiserver answers a watch from a compacted resource version with 410, as KubeApiError', async () => {
    const err = await client
      .watch(WIDGETS, { namespace: ns, query: { resourceVersion: '1' } }, () => undefined)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isGone(err)).toBe(true);
  });

  it('an informer whose watch gets 410 relists and keeps delivering changes', async () => {
    // The real client, except that the first watch asks for a long-gone resource version.
    class ExpiringClient extends KubeClient {
      expired = 0;
      override watch<T>(
        type: ResourceType,
        opts: WatchOptions,
        onEvent: (ev: WatchEvent<T>) => void,
      ): Promise<void> {
        if (this.expired > 0) return super.watch(type, opts, onEvent);
        this.expired++;
        return super.watch(
          type,
          { ...opts, query: { ...opts.query, resourceVersion: '1' } },
          onEvent,
        );
      }
    }
    const expiring = new ExpiringClient(client.config);
    const informer = new Informer<Widget>(expiring, WIDGETS, { namespace: ns, maxBackoffMs: 500 });
    const seen: string[] = [];
    informer.onChange((w) => seen.push(w.metadata.name));
    const stop = new AbortController();
    const running = informer.run(stop.signal);
    await informer.waitForSync();
    await client.create(WIDGETS, ns, widget(ns, 'after-410', { value: 'x' }));
    await eventually(() => {
      expect(expiring.expired).toBe(1);
      expect(seen).toContain('after-410');
    });
    stop.abort();
    await running;
  });

  it('an informer over a list of namespaces sees those, not others, and a relist of one keeps the rest', async () => {
    const [a, b, other] = [
      await createNamespace('inf-a'),
      await createNamespace('inf-b'),
      await createNamespace('inf-other'),
    ];
    await client.create(WIDGETS, a, widget(a, 'in-a', { value: 'x' }));
    await client.create(WIDGETS, other, widget(other, 'elsewhere', { value: 'x' }));
    // Every namespace relisted often (counted): a relist of one must not drop the other's objects.
    class CountingClient extends KubeClient {
      readonly lists = new Map<string, number>();
      override list<T>(...args: Parameters<KubeClient['list']>) {
        const n = args[1] ?? '';
        this.lists.set(n, (this.lists.get(n) ?? 0) + 1);
        return super.list<T>(...args);
      }
    }
    const counting = new CountingClient(client.config);
    const informer = new Informer<Widget>(counting, WIDGETS, {
      namespaces: [a, b],
      relistMs: 1000,
    });
    const deleted: string[] = [];
    informer.onChange((w, change) => {
      if (change === 'deleted') deleted.push(w.metadata.name);
    });
    const stop = new AbortController();
    const running = informer.run(stop.signal);
    await informer.waitForSync();
    await client.create(WIDGETS, b, widget(b, 'in-b', { value: 'x' }));
    await client.create(WIDGETS, other, widget(other, 'elsewhere-2', { value: 'x' }));
    const names = () =>
      informer.list().map((w) => `${w.metadata.namespace ?? ''}/${w.metadata.name}`);
    await eventually(() => {
      expect(names().sort()).toEqual([`${a}/in-a`, `${b}/in-b`]);
    });
    // Past a few relists of each namespace, both are still there and nothing was deleted.
    const after = (n: string) => (counting.lists.get(n) ?? 0) + 3;
    const [wantA, wantB] = [after(a), after(b)];
    await eventually(
      () => {
        expect(counting.lists.get(a)).toBeGreaterThanOrEqual(wantA);
        expect(counting.lists.get(b)).toBeGreaterThanOrEqual(wantB);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect([...counting.lists.keys()].sort()).toEqual([a, b].sort());
    expect(names().sort()).toEqual([`${a}/in-a`, `${b}/in-b`]);
    expect(deleted).toEqual([]);
    stop.abort();
    await running;
  });
});
