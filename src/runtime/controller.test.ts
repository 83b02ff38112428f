import { describe, expect, it } from '@jest/globals';

import { FakeClock } from './clock.js';
import { Controller, type Reconcile, type ReconcileResult } from './controller.js';
import { LeadershipLostError, TerminalError } from './errors.js';
import type { Informer } from './informer.js';
import type { ChangeHandler, MetaObject } from './meta.js';

/** An informer with a fixed cache, already synced; tests emit changes by hand. */
class FakeInformer<T extends MetaObject> {
  readonly handlers: ChangeHandler<T>[] = [];
  constructor(readonly objects: T[]) {}
  onChange(h: ChangeHandler<T>) {
    this.handlers.push(h);
  }
  get(key: string) {
    return this.objects.find((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` === key);
  }
  list() {
    return this.objects;
  }
  hasSynced() {
    return true;
  }
  waitForSync() {
    return Promise.resolve();
  }
  run() {
    return Promise.resolve();
  }
  emit(obj: T) {
    for (const h of this.handlers) h(obj, 'added');
  }
  as(): Informer<T> {
    return this as unknown as Informer<T>;
  }
}

const obj = (name: string): MetaObject => ({ metadata: { name, namespace: 'ns' } });

function harness(reconcile: Reconcile, extra: { stalled?: (e: TerminalError) => void } = {}) {
  const clock = new FakeClock();
  const informer = new FakeInformer([obj('a')]);
  const controller = new Controller({
    name: 'test',
    informer: informer.as(),
    reconcile,
    stalled: (_ref, e) => {
      extra.stalled?.(e);
      return Promise.resolve();
    },
    workers: 1,
    resyncMs: 0,
    clock,
  });
  const stop = new AbortController();
  const lost = new AbortController();
  const running = controller.run(stop.signal, lost.signal);
  return { clock, informer, controller, stop, lost, running };
}

describe('Controller', () => {
  it('does not retry a TerminalError, and reports it through `stalled` once', async () => {
    const calls: string[] = [];
    const stalled: TerminalError[] = [];
    const h = harness(
      () => {
        calls.push('reconcile');
        return Promise.reject(new TerminalError('InvalidSpec', 'spec.x: bad'));
      },
      { stalled: (e) => stalled.push(e) },
    );
    h.informer.emit(obj('a'));
    await h.controller.idle();
    h.clock.advance(3_600_000);
    await h.controller.idle();
    expect(calls).toEqual(['reconcile']);
    expect(stalled.map((e) => [e.reason, e.message])).toEqual([['InvalidSpec', 'spec.x: bad']]);
    expect(h.clock.pending()).toBe(0);
    h.stop.abort();
    await h.running;
  });

  it('retries a failing key with exponential backoff capped at requeueAfterMs, and resets it', async () => {
    let result: ReconcileResult = { requeueAfterMs: 5000, backoff: true };
    const h = harness(() => Promise.resolve(result));
    try {
      h.informer.emit(obj('a'));
      const delays: number[] = [];
      for (let i = 0; i < 5; i++) {
        await h.controller.idle();
        const next = h.clock.nextIn() ?? 0;
        delays.push(next);
        h.clock.advance(next);
      }
      // 1 s, 2 s, 4 s (each up to 20 % more), then the cap.
      expect(delays[0]).toBeGreaterThanOrEqual(1000);
      expect(delays[0]).toBeLessThanOrEqual(1200);
      expect(delays[1]).toBeGreaterThanOrEqual(2000);
      expect(delays[2]).toBeGreaterThanOrEqual(4000);
      for (const d of delays.slice(3)) expect(d).toBeCloseTo(5000);
      // A clean pass: the steady-state period, and the backoff starts over.
      await h.controller.idle();
      result = { requeueAfterMs: 30_000 };
      h.clock.advance(h.clock.nextIn() ?? 0);
      await h.controller.idle();
      expect(h.clock.nextIn()).toBeCloseTo(30_000);
      result = { requeueAfterMs: 5000, backoff: true };
      h.clock.advance(30_000);
      await h.controller.idle();
      expect(h.clock.nextIn()).toBeLessThanOrEqual(1200);
    } finally {
      h.stop.abort();
      await h.running;
    }
  });

  it('aborts a reconcile in flight when leadership is lost, with the reason, and does not requeue', async () => {
    const reasons: unknown[] = [];
    let started: () => void = () => undefined;
    const inFlight = new Promise<void>((r) => (started = r));
    const h = harness(async (_ref, { signal }) => {
      started();
      await new Promise((resolve) => {
        signal.addEventListener('abort', resolve, { once: true });
      });
      reasons.push(signal.reason);
      throw signal.reason;
    });
    h.informer.emit(obj('a'));
    await inFlight;
    h.lost.abort(new LeadershipLostError());
    h.stop.abort();
    await h.running;
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(LeadershipLostError);
    expect(h.clock.pending()).toBe(0);
  });

  it('queues the keys a watch maps a change to, when its predicate lets the change through', async () => {
    const seen: string[] = [];
    const h = harness((ref) => {
      seen.push(ref.name);
      return Promise.resolve(undefined);
    });
    const other = new FakeInformer([obj('x')]);
    h.controller.watches(
      other.as(),
      (o) => [`ns/${o.metadata.name}-owner`],
      (o) => o.metadata.name !== 'ignored',
    );
    other.emit(obj('ignored'));
    other.emit(obj('x'));
    await h.controller.idle();
    expect(seen).toEqual(['x-owner']);
    h.stop.abort();
    await h.running;
  });
});
