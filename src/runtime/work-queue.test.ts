import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { FakeClock } from './clock.js';
import { ControllerRateLimiter, ExponentialBackoff, TokenBucket } from './rate-limiter.js';
import { WorkQueue } from './work-queue.js';

function newQueue(clock = new FakeClock()) {
  const limiter = new ControllerRateLimiter(
    new ExponentialBackoff({ baseMs: 1000, maxMs: 60_000, jitter: 0 }),
    new TokenBucket(1000, 1000, clock),
  );
  return { clock, queue: new WorkQueue(clock, limiter) };
}

describe('WorkQueue', () => {
  it('collapses duplicate keys', async () => {
    const { queue } = newQueue();
    queue.add('a');
    queue.add('a');
    queue.add('b');
    expect(queue.len()).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
  });

  it('never hands a key in flight to a second worker, and runs it once more after done', async () => {
    const { queue } = newQueue();
    queue.add('a');
    const first = await queue.get();
    queue.add('a');
    queue.add('a');
    expect(queue.len()).toBe(0);
    queue.done(first ?? '');
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe('a');
    queue.done('a');
    expect(queue.len()).toBe(0);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const { queue } = newQueue();
    const pending = queue.get();
    queue.add('x');
    expect(await pending).toBe('x');
  });

  it('delays addAfter until the clock reaches it; the earlier of two delays wins', () => {
    const { queue, clock } = newQueue();
    queue.addAfter('a', 5000);
    queue.addAfter('a', 2000);
    clock.advance(1999);
    expect(queue.len()).toBe(0);
    clock.advance(1);
    expect(queue.len()).toBe(1);
    clock.advance(10_000);
    expect(queue.len()).toBe(1);
  });

  it('backs off exponentially per key until forget', () => {
    const { queue, clock } = newQueue();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = clock.now();
      queue.addRateLimited('k');
      while (queue.len() === 0) clock.advance(100);
      delays.push(clock.now() - start);
      void queue.get();
      queue.done('k');
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
    queue.forget('k');
    expect(queue.numRequeues('k')).toBe(0);
  });

  it('returns undefined to waiters after shutdown and ignores new keys', async () => {
    const { queue } = newQueue();
    const pending = queue.get();
    queue.shutDown();
    expect(await pending).toBeUndefined();
    queue.add('a');
    expect(queue.len()).toBe(0);
  });

  it('property: a key is never processed twice at once and every added key is processed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.constant('DONE')), { maxLength: 60 }),
        async (ops) => {
          const { queue } = newQueue();
          const inFlight = new Set<string>();
          const added = new Set<string>();
          const processed = new Set<string>();
          for (const op of ops) {
            if (op === 'DONE') {
              const k = [...inFlight][0];
              if (k !== undefined) {
                inFlight.delete(k);
                queue.done(k);
              }
              continue;
            }
            queue.add(op);
            added.add(op);
            while (queue.len() > 0) {
              const k = (await queue.get()) ?? '';
              expect(inFlight.has(k)).toBe(false);
              inFlight.add(k);
              processed.add(k);
            }
          }
          for (const k of [...inFlight]) queue.done(k);
          while (queue.len() > 0) {
            const k = (await queue.get()) ?? '';
            processed.add(k);
            queue.done(k);
          }
          expect(processed).toEqual(added);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('ExponentialBackoff', () => {
  it('caps the delay and adds bounded jitter', () => {
    const b = new ExponentialBackoff({ baseMs: 1000, maxMs: 300_000, jitter: 0.2 }, () => 1);
    const d = Array.from({ length: 12 }, () => b.when('k'));
    expect(d[0]).toBe(1200);
    expect(d[1]).toBe(2400);
    expect(Math.max(...d)).toBe(300_000);
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then spaces requests at the rate', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 2, clock);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBeCloseTo(100);
    clock.advance(1000);
    expect(bucket.reserve()).toBe(0);
  });
});
