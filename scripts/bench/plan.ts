/**
 * What the bench runs: the loads (how clients ask), the traffic shapes (which addresses they
 * ask), which loads each shape gets, and which servers answer each load.
 *
 * @module
 */

import { type ShapeName } from "../../tooling/mod.ts";
import { HTTP_CONNECTIONS } from "./http_load.ts";

/** The loads. */
export type LoadName = "lockstep" | "pipelined" | "batch" | "http";

/** How one load's clients ask. */
export interface Load {
  name: LoadName;
  /** For the tables. */
  label: string;
  /** ZeroMQ: REQ in lock-step or pipelined DEALERs; HTTP: wrk. */
  socket: "req" | "dealer" | "http";
  clients: number;
  inFlight: number;
  /** Addresses per request. */
  batch: number;
}

/** Addresses per batch request. */
export const BATCH_SIZE = 100;

/** The loads, in table order. */
export const LOADS: readonly Load[] = [
  {
    name: "lockstep",
    label: "lock-step, 20 REQ",
    socket: "req",
    clients: 20,
    inFlight: 1,
    batch: 1,
  },
  {
    name: "pipelined",
    label: "pipelined, 4 DEALER x 16",
    socket: "dealer",
    clients: 4,
    inFlight: 16,
    batch: 1,
  },
  {
    name: "batch",
    label: `batches of ${BATCH_SIZE}, 20 REQ`,
    socket: "req",
    clients: 20,
    inFlight: 1,
    batch: BATCH_SIZE,
  },
  {
    name: "http",
    label: `HTTP /json, wrk ${HTTP_CONNECTIONS} conns`,
    socket: "http",
    clients: HTTP_CONNECTIONS,
    inFlight: 1,
    batch: 1,
  },
];

/** One traffic shape and the loads it gets. */
export interface Shape {
  name: ShapeName;
  description: string;
  loads: readonly LoadName[];
  /** Whether geoipmq without its answer cache is loaded too. */
  cacheOff: boolean;
}

/** The shapes, in run order: the default is all of them. */
export const SHAPES: readonly Shape[] = [
  {
    name: "uniform",
    description: "uniform random IPv4 over the whole address space, never repeated",
    loads: ["lockstep", "pipelined", "batch", "http"],
    cacheOff: true,
  },
  {
    name: "pool",
    description: "a pool of random IPv4 addresses, asked again and again",
    loads: ["lockstep", "pipelined", "batch", "http"],
    cacheOff: true,
  },
  {
    name: "zipf",
    description: "Zipf's law (s = 1) over 1,000,000 random IPv4 addresses",
    loads: ["lockstep", "pipelined", "batch", "http"],
    cacheOff: true,
  },
  {
    name: "v6",
    description: "random IPv6 addresses in eight busy /16 blocks of the registries",
    loads: ["pipelined", "batch", "http"],
    cacheOff: true,
  },
  {
    name: "same",
    description: "one address (81.2.69.142) asked again and again: the per-message ceiling",
    loads: ["lockstep", "pipelined"],
    cacheOff: false,
  },
];

/** The servers: geoipmq with and without its answer cache, the C loop, the Go peer. */
export const SERVER_KEYS = ["geoipmq", "nocache", "C", "Go"] as const;
/** One of {@linkcode SERVER_KEYS}. */
export type ServerKey = typeof SERVER_KEYS[number];

/**
 * The servers that answer a load of a shape, of those running.
 *
 * @example
 * ```ts
 * const http = LOADS.find((load) => load.name === "http")!;
 * console.log(serversFor(SHAPES[0]!, http, ["geoipmq", "C", "Go"])); // ["geoipmq", "Go"]
 * ```
 *
 * @param shape the shape
 * @param load the load
 * @param running the servers that run
 * @returns their keys, in table order
 */
export function serversFor(shape: Shape, load: Load, running: readonly ServerKey[]): ServerKey[] {
  const peer: ServerKey = load.socket === "http" ? "Go" : "C";
  return running.filter((key) =>
    key === "geoipmq" || key === peer || (key === "nocache" && shape.cacheOff)
  );
}

/** Addresses each (round, load) slot may use: uniform never repeats within 2^32 / this. */
const SLOT_ADDRESSES = 2 ** 25;
/** The most rounds whose uniform addresses never repeat (slots of 8 loads each). */
export const MAX_ROUNDS = 2 ** 32 / SLOT_ADDRESSES / 8;

/**
 * Where in its shape's sequence a run starts: every (round, load) has its own slot, the
 * servers of a round share it, so they are asked the same addresses.
 *
 * @example
 * ```ts
 * console.log(runOffset(1, 0)); // 268435456
 * ```
 *
 * @param round the round, from 0
 * @param loadIndex the load's place in {@linkcode LOADS}
 * @returns the offset
 */
export function runOffset(round: number, loadIndex: number): number {
  return (round * 8 + loadIndex) * SLOT_ADDRESSES;
}

/** What the bench was asked to do. */
export interface Options {
  seconds: number;
  warmup: number;
  runs: number;
  db: string | undefined;
  /** The libzmq geoipmq loads (`--libzmq`), or undefined for the bundled one. */
  libzmq: string | undefined;
  servers: ServerKey[];
  shapes: ShapeName[];
  loads: LoadName[];
  addresses: number;
  seed: number;
  json: string | undefined;
  severalDatabases: boolean;
  severalNetworks: number;
}
