/**
 * What the router worker reports about the per-connection budgets, for the log, and
 * about its connections to brokers.
 *
 * @module
 */

/** What the router worker tells the main thread (for the log). */
export type ClientEvent =
  | {
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
  | {
    /** A monitor event about a connection to a broker, for `broker_link.ts`. */
    type: "link";
    /** The monitor event. */
    event: number;
    /** Its value. */
    fd: number;
    /** Unused. */
    bytes: number;
    /** The endpoint libzmq names. */
    address: string;
  };
