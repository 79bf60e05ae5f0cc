/**
 * The lookup pool: the ZeroMQ side of the service. A ROUTER bound to every endpoint and
 * owned by the router thread (connection budgets, BUSY, the rate limit, the socket
 * monitor), the lookup workers behind it, the database switch among them, and the broker
 * link. Start it with {@linkcode LookupPool.start}.
 *
 * @module
 */

export { LookupPool } from "./lookup_pool.ts";
export type { CurveOptions, LookupPoolOptions, WorkerLifeEvent } from "./lookup_pool_options.ts";
export type { BrokerLinkEvent } from "./broker_link.ts";
export type { SwitchOutcome } from "./database_switch.ts";
export { SHARED_REQUEST_BYTES, SMALL_REQUEST_BYTES } from "./router_loop.ts";

/** The lookup worker's module, for a test that runs it with a fault injected. */
export const LOOKUP_WORKER_MODULE: URL = new URL("./lookup_worker.ts", import.meta.url);
