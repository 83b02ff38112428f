import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { mapLimit, settleLimit } from './concurrency.js';

const tick = (n: number) => new Promise<void>((r) => setTimeout(r, n));

describe('mapLimit', () => {
  it('keeps input order and never exceeds the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await tick(n);
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});

describe('settleLimit', () => {
  it('turns failures into values', async () => {
    const out = await settleLimit([1, 2, 3], 2, (n) =>
      n === 2 ? Promise.reject(new Error('two')) : Promise.resolve(n),
    );
    expect(out[0]).toEqual({ ok: true, value: 1 });
    expect(out[1]?.ok).toBe(false);
    expect(out[2]).toEqual({ ok: true, value: 3 });
  });

  it('runs the items of one lane one after another, in input order, and a failure does not stop the lane', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ lane: fc.constantFrom('a', 'b', 'c'), fail: fc.boolean() }), {
          maxLength: 30,
        }),
        fc.integer({ min: 1, max: 5 }),
        async (items, limit) => {
          const running = new Map<string, number>();
          const started: number[] = [];
          let inFlight = 0;
          let peak = 0;
          let overlap = false;
          const indexed = items.map((item, i) => ({ ...item, i }));
          const out = await settleLimit(
            indexed,
            limit,
            async (item) => {
              if ((running.get(item.lane) ?? 0) > 0) overlap = true;
              running.set(item.lane, (running.get(item.lane) ?? 0) + 1);
              inFlight++;
              peak = Math.max(peak, inFlight);
              started.push(item.i);
              await tick(item.i % 3);
              inFlight--;
              running.set(item.lane, (running.get(item.lane) ?? 0) - 1);
              if (item.fail) throw new Error(`item ${item.i}`);
              return item.i;
            },
            (item) => item.lane,
          );
          expect(overlap).toBe(false);
          expect(peak).toBeLessThanOrEqual(limit);
          expect(out).toHaveLength(items.length);
          out.forEach((r, i) => {
            expect(r.ok).toBe(!items[i]?.fail);
          });
          for (const lane of ['a', 'b', 'c']) {
            const order = started.filter((i) => indexed[i]?.lane === lane);
            expect(order).toEqual([...order].sort((x, y) => x - y));
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
