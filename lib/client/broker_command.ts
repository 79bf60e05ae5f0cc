/**
 * `geoipmq broker --frontend E --backend E`: runs the scale-out broker until SIGTERM or
 * SIGINT. Front ends connect to the front end; geoipmq instances started with
 * `--connect` connect to the back end.
 *
 * @module
 */

import { GeoipBroker } from "./broker.ts";
import { openLibzmq } from "../zmq/mod.ts";
import type { Logger } from "../log/mod.ts";

/** The settled options of `geoipmq broker`. */
export interface BrokerCommandOptions {
  /** Where front ends connect. */
  frontend: string[];
  /** Where geoipmq instances (`geoipmq --connect`) connect. */
  backend: string[];
  /** A libzmq to load instead of the bundled one. */
  libzmq: string | undefined;
  /** The largest frame a front end may send through the broker. */
  maxRequestBytes: number;
  /** Stops the broker as SIGTERM does, when aborted (for a caller that runs it in-process). */
  signal?: AbortSignal;
}

/**
 * Runs `geoipmq broker`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger } from "../log/mod.ts";
 * import { runBroker } from "./mod.ts";
 * const endpoints = ["tcp://127.0.0.1:*"]; // e.g. ["tcp://*:5555"] and ["tcp://*:5556"]
 * const options = {
 *   frontend: endpoints,
 *   backend: endpoints,
 *   libzmq: undefined,
 *   maxRequestBytes: 65536,
 * };
 * // Once it is ready, stop it (as SIGTERM or SIGINT would).
 * const stop = new AbortController();
 * const log = new Logger({
 *   write: (line) => {
 *     console.error(line);
 *     if (line.includes("broker ready")) stop.abort();
 *   },
 * });
 * assert.equal(await runBroker({ ...options, signal: stop.signal }, log), 0);
 * ```
 *
 * @param options the settled options
 * @param log where events go
 * @returns the exit code: 0 after a stop signal, 1 when it cannot start or its loop fails
 */
export async function runBroker(options: BrokerCommandOptions, log: Logger): Promise<number> {
  let broker: GeoipBroker;
  try {
    const lib = openLibzmq(options.libzmq);
    broker = GeoipBroker.start({
      lib,
      frontend: options.frontend,
      backend: options.backend,
      maxRequestBytes: options.maxRequestBytes,
    });
  } catch (error) {
    log.error("failed", `broker cannot start: ${(error as Error).message}`);
    return 1;
  }
  log.info(
    "ready",
    `broker ready: front ends on ${broker.frontendEndpoints.join(", ")}, instances on ${
      broker.backendEndpoints.join(", ")
    }`,
    { frontend: broker.frontendEndpoints, backend: broker.backendEndpoints },
  );
  const { promise, resolve } = Promise.withResolvers<Deno.Signal | "abort">();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const listeners = signals.map((signal) => {
    const listener = () => resolve(signal);
    Deno.addSignalListener(signal, listener);
    return listener;
  });
  if (options.signal?.aborted) resolve("abort");
  options.signal?.addEventListener("abort", () => resolve("abort"), { once: true });
  const ended = await Promise.race([promise, broker.failed.then((message) => ({ message }))]);
  if (typeof ended === "string") {
    const why = ended === "abort" ? "request" : ended;
    log.info("stop", `broker stopping on ${why}`, { signal: why });
  } else log.error("failed", `broker failed: ${ended.message}`);
  await broker.stop();
  signals.forEach((name, i) => Deno.removeSignalListener(name, listeners[i]!));
  const { forwarded, refused, dropped } = broker.tally;
  log.info(
    "stopped",
    `stopped: ${forwarded} requests forwarded, ${refused} answered ERROR, ${dropped} dropped`,
    { forwarded, refused, dropped },
  );
  return typeof ended === "string" ? 0 : 1;
}
