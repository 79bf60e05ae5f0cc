/**
 * A per-client rate limit: a token bucket per peer address, in bounded memory.
 *
 * @module
 */

/** Options for {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Requests allowed per second per address; also the burst a quiet address may send. */
  perSecond: number;
  /** Addresses tracked at most (default 65,536); see {@linkcode RateLimiter}. */
  maxAddresses?: number;
}

/** One address's bucket: tokens left and when they were counted. */
interface Bucket {
  tokens: number;
  at: number;
}

/** The default bound on the addresses a limiter tracks. */
export const DEFAULT_MAX_TRACKED_ADDRESSES = 65_536;

/**
 * Allows each peer address `perSecond` requests per second (a token bucket holding at
 * most `perSecond` tokens (at least one), refilled continuously). A request counts once, whatever it
 * asks (a batch of 100 addresses is one request).
 *
 * Memory is bounded: at most `maxAddresses` buckets are kept. A full bucket is the same
 * as no bucket, so when the table is full the full ones are dropped; if every tracked
 * address is still limited, a new address is refused until one refills, so a flood
 * from many addresses cannot grow the table or push out the limited ones.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./rate_limiter.ts";
 * const limiter = new RateLimiter({ perSecond: 2 });
 * console.log(limiter.allow("192.0.2.1", 0)); // true
 * console.log(limiter.allow("192.0.2.1", 0)); // true
 * console.log(limiter.allow("192.0.2.1", 0)); // false
 * console.log(limiter.retryAfterSeconds("192.0.2.1", 0)); // 1
 * console.log(limiter.allow("192.0.2.1", 500)); // true: half a second refilled one
 * console.log(limiter.allow("198.51.100.7", 0)); // true: another address
 * ```
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #perMs: number;
  readonly #burst: number;
  readonly #maxAddresses: number;
  readonly #buckets = new Map<string, Bucket>();
  #refused = 0;

  /** @param options the rate, and the bound on tracked addresses */
  constructor(options: RateLimiterOptions) {
    if (!(options.perSecond > 0)) {
      throw new RangeError(`Rate limit must be above 0: ${options.perSecond}`);
    }
    this.#perSecond = options.perSecond;
    this.#perMs = options.perSecond / 1000;
    this.#burst = Math.max(1, options.perSecond);
    this.#maxAddresses = Math.max(1, options.maxAddresses ?? DEFAULT_MAX_TRACKED_ADDRESSES);
  }

  /** Requests per second allowed per address. */
  get perSecond(): number {
    return this.#perSecond;
  }

  /** Addresses tracked now. */
  get trackedAddresses(): number {
    return this.#buckets.size;
  }

  /** Requests refused so far. */
  get refused(): number {
    return this.#refused;
  }

  /**
   * Takes a token for a request from `address`.
   *
   * @param address the peer's address, as text
   * @param nowMs the time now, in milliseconds (`performance.now()` or `Date.now()`)
   * @returns whether the request may be answered
   */
  allow(address: string, nowMs: number): boolean {
    const bucket = this.#buckets.get(address);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxAddresses && !this.#dropFullBuckets(nowMs)) {
        this.#refused++;
        return false;
      }
      this.#buckets.set(address, { tokens: this.#burst - 1, at: nowMs });
      return true;
    }
    this.#refill(bucket, nowMs);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return true;
    }
    this.#refused++;
    return false;
  }

  /**
   * How long `address` should wait before its next request is allowed.
   *
   * @param address the peer's address, as text
   * @param nowMs the time now, in the same clock as {@linkcode RateLimiter.allow}
   * @returns whole seconds, at least 1 (the value of an HTTP `Retry-After`)
   */
  retryAfterSeconds(address: string, nowMs: number): number {
    const bucket = this.#buckets.get(address);
    if (bucket === undefined) return 1;
    this.#refill(bucket, nowMs);
    const missing = 1 - bucket.tokens;
    return Math.max(1, Math.ceil(missing / this.#perSecond));
  }

  #refill(bucket: Bucket, nowMs: number): void {
    const elapsed = nowMs - bucket.at;
    if (elapsed > 0) {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + elapsed * this.#perMs);
      bucket.at = nowMs;
    }
  }

  /** @returns whether room was made */
  #dropFullBuckets(nowMs: number): boolean {
    for (const [address, bucket] of this.#buckets) {
      this.#refill(bucket, nowMs);
      if (bucket.tokens >= this.#burst) this.#buckets.delete(address);
    }
    return this.#buckets.size < this.#maxAddresses;
  }
}
