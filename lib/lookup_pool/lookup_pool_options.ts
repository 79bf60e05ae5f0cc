/**
 * What the lookup pool is started with ({@linkcode LookupPoolOptions}), and what it tells
 * the service of its workers ({@linkcode WorkerLifeEvent}).
 *
 * @module
 */

import type { Refusal } from "../curve/mod.ts";
import type { GeoDatabase } from "../database/mod.ts";
import type { ServerInfo } from "../lookup/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";
import type { ClientLimits, RequestLimits } from "../protocol/mod.ts";
import type { Libzmq } from "../zmq/mod.ts";
import type { BrokerLinkEvent } from "./broker_link.ts";
import type { ClientEvent } from "./client_event.ts";

/** Options for `LookupPool.start`. */
export interface LookupPoolOptions {
  /** The loaded libzmq. */
  lib: Libzmq;
  /** The databases to serve, in `--db` order; their bytes must be in `SharedArrayBuffer`s. */
  databases: readonly GeoDatabase[];
  /** Languages for names (`--lang`), most preferred first. */
  languages: readonly string[];
  /** Endpoints to bind, e.g. `tcp://127.0.0.1:5555`; `tcp://127.0.0.1:*` picks a port. */
  bind: readonly string[];
  /** Endpoints to connect to, e.g. a broker's back end. */
  connect: readonly string[];
  /** How many lookup workers to run. */
  workers: number;
  /** Request bounds. */
  limits: RequestLimits;
  /** What each worker's caches of rendered answers may hold together, in bytes; 0: none. */
  cache: { maxBytes: number };
  /** What `info` says about the service. */
  server: Pick<ServerInfo, "version" | "libzmqVersion" | "startedAt">;
  /** Where the workers count requests. */
  metrics: ServiceMetrics;
  /** Messages queued per client connection each way (`ZMQ_SNDHWM`, `ZMQ_RCVHWM`). */
  hwm: number;
  /** Per-connection budgets and the rate limit; default: none. */
  clientLimits?: ClientLimits;
  /** The lookup worker's module (default `lookup_worker.ts`; tests swap in a faulty one). */
  workerModule?: URL;
  /** Told when a worker fails and when a pool worker has been replaced. */
  onWorkerEvent?: (event: WorkerLifeEvent) => void;
  /** How long workers have to reach a database switch (default `SWITCH_TIMEOUT_MS`). */
  switchTimeoutMs?: number;
  /** CURVE on every endpoint, with an allow-list of clients; default: off. */
  curve?: CurveOptions;
  /** Told when a connection to a broker (`connect`) is lost and when it is back. */
  onBrokerEvent?: (event: BrokerLinkEvent) => void;
}

/** CURVE settings of the lookup pool. */
export interface CurveOptions {
  /** The lookup pool's CURVE secret key, 32 bytes. */
  secretKey: Uint8Array;
  /** The client public keys let in, in Z85. */
  allowList: readonly string[];
  /** Called for refused clients, at most once per key per 10 s. */
  onRefused?: (refusal: Refusal) => void;
}

/** A worker failed (and, for a pool worker, was replaced). */
export type WorkerLifeEvent =
  | {
    type: "failed" | "replaced";
    /** The worker's number: 0 is the router worker, which is not replaced. */
    worker: number;
    /** Why it failed. */
    message: string;
  }
  | ClientEvent;
