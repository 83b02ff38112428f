/**
 * A byte-rate limit shared by every transfer of one copier: a token bucket refilled at
 * `bytesPerSecond`, holding at most one second's worth. A chunk larger than what is left is
 * let through once the bucket has been refilled enough to pay for it (it may go into debt by
 * less than a chunk), so the average rate over any second or more is the limit.
 */
import { Transform, type TransformCallback } from 'node:stream';

import type { Clock } from '../runtime/clock.js';

export class ByteRateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly clock: Clock,
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError('bytesPerSecond must be positive');
    this.tokens = bytesPerSecond;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(
      this.bytesPerSecond,
      this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000,
    );
    this.last = now;
  }

  /** Milliseconds to wait before `n` more bytes may go; 0 when they may go now. */
  take(n: number): number {
    this.refill();
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.bytesPerSecond);
  }
}

/** Counts the bytes that pass and, with a limiter, holds each chunk until it may go. */
export class MeteredStream extends Transform {
  bytes = 0;

  constructor(
    private readonly limiter: ByteRateLimiter | undefined,
    private readonly clock: Clock,
    private readonly onBytes?: (n: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    const wait = this.limiter?.take(chunk.length) ?? 0;
    if (wait === 0) {
      done(null, chunk);
      return;
    }
    this.clock.setTimeout(() => {
      done(null, chunk);
    }, wait);
  }
}
