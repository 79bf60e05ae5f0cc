/**
 * What one ZeroMQ client may make the service do: the per-connection byte budgets and
 * the per-address rate limit.
 *
 * @module
 */

/**
 * Bytes in a mebibyte (MiB), the unit of the budgets' flags (`--max-inbound-mb`,
 * `--max-outbound-mb`) and of the sizes the service's messages write.
 *
 * @example
 * ```ts
 * import { MIB } from "./client_limits.ts";
 * console.log(32 * MIB); // 33554432
 * ```
 */
export const MIB = 1024 * 1024;

/** The default inbound budget per connection: 32 MiB. */
export const DEFAULT_MAX_INBOUND_BYTES = 32 * MIB;
/** The default outbound budget per connection: 16 MiB. */
export const DEFAULT_MAX_OUTBOUND_BYTES = 16 * MIB;

/** The limits, as the router worker receives them; 0 turns one off. */
export interface ClientLimits {
  /** Bytes a connection may have sent that are not yet taken as whole requests. */
  maxInboundBytes: number;
  /** Bytes of replies a connection's peer may leave unread. */
  maxOutboundBytes: number;
  /** Requests per second per peer IP address. */
  ratePerSecond: number;
  /**
   * The rate limiter's buckets, shared with the HTTP threads so that an address has one
   * budget across transports (`RateLimiter.table` in lib/lookup); absent: a table of its own.
   */
  rateTable?: SharedArrayBuffer;
}

/** Every limit off. */
export const NO_CLIENT_LIMITS: ClientLimits = Object.freeze({
  maxInboundBytes: 0,
  maxOutboundBytes: 0,
  ratePerSecond: 0,
});

/**
 * A size in MiB with one decimal, as the service's messages write sizes.
 *
 * @example
 * ```ts
 * import { formatMib } from "./client_limits.ts";
 * console.log(formatMib(21_286_093)); // 20.3 MiB
 * ```
 *
 * @param bytes the size
 * @returns e.g. `20.3 MiB`
 */
export function formatMib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

/**
 * Why a reply is refused that would pass a client's outbound budget on its own: the
 * reason of its `ERROR`, naming its size and the limit.
 *
 * @example
 * ```ts
 * import { replyTooLargeReason } from "./client_limits.ts";
 * console.log(replyTooLargeReason(21_286_093, 16 * 1024 * 1024));
 * // reply too large: 20.3 MiB, over the 16.0 MiB a client may leave unread (--max-outbound-mb); ask for fewer addresses or fields
 * ```
 *
 * @param bytes the reply's size
 * @param maxOutboundBytes the budget
 * @returns the reason
 */
export function replyTooLargeReason(bytes: number, maxOutboundBytes: number): string {
  return `reply too large: ${formatMib(bytes)}, over the ${formatMib(maxOutboundBytes)} a ` +
    "client may leave unread (--max-outbound-mb); ask for fewer addresses or fields";
}

/**
 * Why a request is refused while its client has more replies unread than the budget
 * leaves room for: the reason of its `ERROR busy`.
 *
 * @example
 * ```ts
 * import { unreadRepliesReason } from "./client_limits.ts";
 * console.log(unreadRepliesReason(14_000_000, 16 * 1024 * 1024));
 * // busy: 13.4 MiB of replies to this connection unread, and this one would pass its 16.0 MiB (--max-outbound-mb); read them, then ask again
 * ```
 *
 * @param unreadBytes what the connection's peer has not read
 * @param maxOutboundBytes the budget
 * @returns the reason
 */
export function unreadRepliesReason(unreadBytes: number, maxOutboundBytes: number): string {
  return `busy: ${formatMib(unreadBytes)} of replies to this connection unread, and this ` +
    `one would pass its ${formatMib(maxOutboundBytes)} (--max-outbound-mb); read them, then ` +
    "ask again";
}
