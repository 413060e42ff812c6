/**
 * A token-bucket rate limiter keyed by client (address or credential). Its state is per replica
 * and transient by design: a limit protects this process, and losing it on restart only resets
 * budgets. The map is bounded so a flood of distinct keys cannot exhaust memory.
 * @module
 */

export interface RateLimiterOptions {
  /** Sustained requests per second per key. */
  ratePerSecond: number;
  /** Requests a key may make in a burst. */
  burst: number;
  /** Most keys tracked at once; the oldest are forgotten first. */
  maxKeys?: number;
  now?: () => number;
}

/** Token buckets by key; {@link RateLimiter.take} answers whether a request may proceed. */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #opts: Required<RateLimiterOptions>;

  constructor(options: RateLimiterOptions) {
    this.#opts = { maxKeys: 100_000, now: () => performance.now(), ...options };
  }

  /**
   * Takes one token for `key`.
   * @returns 0 when allowed, else the seconds to wait before retrying (for Retry-After)
   */
  take(key: string): number {
    const now = this.#opts.now();
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= this.#opts.maxKeys) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      b = { tokens: this.#opts.burst, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.#opts.burst, b.tokens + ((now - b.at) / 1000) * this.#opts.ratePerSecond);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.#opts.ratePerSecond));
  }
}
