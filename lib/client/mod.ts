/**
 * What talks to geoipmq from outside: the TypeScript client (Lazy Pirate over a REQ
 * socket), the `query` and `broker` commands, and the scale-out broker. The Node client,
 * `node_client.mjs`, is the same client for Node.js front ends.
 *
 * @module
 */

export {
  type ClientCurveKeys,
  GeoipClient,
  GeoipClientError,
  type GeoipClientOptions,
  type GeoipPlace,
  type GeoipRecordAnswer,
  parsePlace,
} from "./client.ts";
export { type BrokerOptions, GeoipBroker } from "./broker.ts";
export {
  BROKER_MAX_FRAMES,
  BrokerLoop,
  type BrokerLoopOptions,
  type BrokerTally,
} from "./broker_loop.ts";
export { type BrokerCommandOptions, runBroker } from "./broker_command.ts";
export {
  type QueryCurveFiles,
  type QueryIo,
  type QueryOptions,
  runQuery,
} from "./query_command.ts";

/**
 * Where the Node.js client lives: `node_client.mjs`, the same GeoipClient on
 * `npm:zeromq` for Node front ends, to copy into one (it does not run under Deno).
 */
export const NODE_CLIENT_MODULE: URL = new URL("./node_client.mjs", import.meta.url);
