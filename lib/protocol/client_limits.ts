/**
 * What one ZeroMQ client may make the service do: the per-connection byte budgets and
 * the per-address rate limit.
 *
 * @module
 */

/** The default inbound budget per connection: 32 MiB. */
export const DEFAULT_MAX_INBOUND_BYTES = 32 * 1024 * 1024;
/** The default outbound budget per connection: 16 MiB. */
export const DEFAULT_MAX_OUTBOUND_BYTES = 16 * 1024 * 1024;

/** The limits, as the router worker receives them; 0 turns one off. */
export interface ClientLimits {
  /** Bytes a connection may have sent that are not yet taken as whole requests. */
  maxInboundBytes: number;
  /** Bytes of replies a connection's peer may leave unread. */
  maxOutboundBytes: number;
  /** Requests per second per peer IP address. */
  ratePerSecond: number;
}

/** Every limit off. */
export const NO_CLIENT_LIMITS: ClientLimits = Object.freeze({
  maxInboundBytes: 0,
  maxOutboundBytes: 0,
  ratePerSecond: 0,
});
