import type { Clock } from './clock.js';

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay added at random: 0.2 gives a delay in [d, 1.2 d]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 300_000, jitter: 0.2 };

/** Per-key exponential backoff with jitter: base·2^failures, capped. */
export class ExponentialBackoff {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly opts: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Records one more failure of `key` and returns how long to wait before the retry. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const base = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(n, 30));
    return Math.min(this.opts.maxMs, base * (1 + this.opts.jitter * this.random()));
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

/** A token bucket shared by all keys: at most `burst` at once, refilled at `qps`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Reserves a token and returns how long the caller must wait for it (0 if available). */
  reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }
}

/** client-go's default controller rate limiter: the larger of per-key backoff and the bucket. */
export class ControllerRateLimiter {
  constructor(
    private readonly backoff: ExponentialBackoff,
    private readonly bucket: TokenBucket,
  ) {}

  when(key: string): number {
    return Math.max(this.backoff.when(key), this.bucket.reserve());
  }

  numRequeues(key: string): number {
    return this.backoff.numRequeues(key);
  }

  forget(key: string): void {
    this.backoff.forget(key);
  }
}
