/**
 * What the router thread's loop is handed ({@linkcode RouterLoopOptions}).
 *
 * @module
 */

import type { GeoipResponder, RateLimiter } from "../lookup/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";
import type { RequestLimits } from "../protocol/mod.ts";
import type { Libzmq, ZmqSocket } from "../zmq/mod.ts";
import type { ConnectionBudget } from "./connection_budget.ts";
import type { LoopControl } from "./loop_control.ts";

/** What the router thread's loop works with. */
export interface RouterLoopOptions {
  /** The library, opened on this thread. */
  lib: Libzmq;
  /** The ROUTER bound to the service's endpoints. */
  router: ZmqSocket;
  /** A DEALER bound to the pool's `inproc://` endpoint, or null without a pool. */
  pool: ZmqSocket | null;
  /**
   * How many pool workers answer behind `pool`: while each has a request, the router thread
   * answers a request of up to `SHARED_REQUEST_BYTES` itself (default 1).
   */
  poolWorkers?: number;
  /** Answers requests. */
  responder: GeoipResponder;
  /** Request bounds. */
  limits: RequestLimits;
  /** The main thread's requests. */
  control: LoopControl;
  /** Where requests are counted. */
  metrics: ServiceMetrics;
  /** The per-connection budgets (and the connections' peer addresses). */
  budget: ConnectionBudget;
  /** The per-address rate limit, or null. */
  rateLimiter: RateLimiter | null;
  /** The endpoints the ROUTER connects to (`--connect`); default none. */
  connect?: readonly string[];
  /** The ROUTER's frame limit for bound endpoints, put back after connecting again. */
  frameLimit?: number;
}
