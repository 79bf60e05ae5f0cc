/**
 * What the router worker reports about the per-connection budgets, for the log.
 *
 * @module
 */

/** What the router worker tells the main thread (for the log). */
export interface ClientEvent {
  /**
   * `connection-cut`: over the inbound budget, cut; `connection-stalled`: over the
   * outbound one, its requests are dropped; `connection-reading`: back under it.
   */
  type: "connection-cut" | "connection-stalled" | "connection-reading";
  /** The connection's descriptor. */
  fd: number;
  /** The bytes held (inbound) or unread (outbound), at least. */
  bytes: number;
}
