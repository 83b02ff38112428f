import { describe, expect, it } from '@jest/globals';

import { FakeClock } from '../runtime/clock.js';
import { ByteRateLimiter, MeteredStream } from './throttle.js';

describe('ByteRateLimiter', () => {
  it('lets a second of bytes through at once, then paces to the rate', () => {
    const clock = new FakeClock();
    const l = new ByteRateLimiter(1000, clock);
    expect(l.take(1000)).toBe(0);
    expect(l.take(500)).toBe(500);
    clock.advance(500);
    expect(l.take(500)).toBe(500);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new ByteRateLimiter(0, new FakeClock())).toThrow(RangeError);
  });
});

describe('MeteredStream', () => {
  it('counts bytes and holds a chunk until the limiter lets it go', async () => {
    const clock = new FakeClock();
    const s = new MeteredStream(new ByteRateLimiter(10, clock), clock);
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => got.push(c));
    s.write(Buffer.alloc(10));
    s.write(Buffer.alloc(10));
    await new Promise((r) => setImmediate(r));
    expect(got).toHaveLength(1);
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
    expect(got).toHaveLength(2);
    expect(s.bytes).toBe(20);
  });
});
