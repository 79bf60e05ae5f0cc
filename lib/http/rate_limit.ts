/**
 * What the HTTP routes ask before answering a lookup, when a rate limit is in force.
 *
 * @module
 */

/**
 * A per-peer request rate limit, as the HTTP routes use it: asked once per lookup request
 * with the peer's IP address; a refusal is answered 429 with `Retry-After`.
 *
 * @example
 * ```ts
 * import type { RequestRateLimiter } from "./rate_limit.ts";
 * // Lets each address make one request per second.
 * const last = new Map<string, number>();
 * const limiter: RequestRateLimiter = {
 *   allow(address, nowMs) {
 *     if (nowMs - (last.get(address) ?? -Infinity) < 1000) return false;
 *     last.set(address, nowMs);
 *     return true;
 *   },
 *   retryAfterSeconds: () => 1,
 * };
 * console.log(limiter.allow("127.0.0.1", 0), limiter.allow("127.0.0.1", 10)); // true false
 * ```
 */
export interface RequestRateLimiter {
  /**
   * @param address the peer's IP address
   * @param nowMs the time, ms (e.g. `Date.now()`)
   * @returns whether this request may be answered (and counts it when so)
   */
  allow(address: string, nowMs: number): boolean;
  /**
   * @param address the peer's IP address
   * @param nowMs the time, ms
   * @returns whole seconds until the address may be answered again
   */
  retryAfterSeconds(address: string, nowMs: number): number;
}
