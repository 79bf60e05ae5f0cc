/**
 * `geoipmq broker --frontend E --backend E`: runs the scale-out broker until SIGTERM or
 * SIGINT. Front ends connect to the front end; geoipmq instances started with
 * `--connect` connect to the back end.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { GeoipBroker } from "./broker.ts";
import { checkEndpoint, UsageError } from "../cli/mod.ts";
import { Libzmq } from "../zmq/mod.ts";
import { bundledLibzmqPath } from "../zmq/mod.ts";
import type { Logger } from "../log/mod.ts";

/** The usage text of `geoipmq broker`. */
export const BROKER_USAGE = `Usage: geoipmq broker --frontend ENDPOINT --backend ENDPOINT

Spreads the requests of front ends over geoipmq instances that come and go.

Options (each repeatable):
  --frontend ENDPOINT   where front ends connect, e.g. tcp://*:5555   GEOIPMQ_BROKER_FRONTEND
  --backend ENDPOINT    where instances connect (geoipmq --connect),  GEOIPMQ_BROKER_BACKEND
                        e.g. tcp://*:5556
  --libzmq PATH         libzmq shared library to load                 GEOIPMQ_LIBZMQ
  --help                print this text
`;

/**
 * Runs `geoipmq broker`.
 *
 * @param args the arguments after `broker`
 * @param log where events go
 * @returns the exit code: 0 after a stop signal, 1 when it cannot start, 2 for bad flags
 */
export async function runBroker(args: string[], log: Logger): Promise<number> {
  const env = Deno.env.toObject();
  let frontend: string[];
  let backend: string[];
  let libzmq: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args,
      options: {
        frontend: { type: "string", multiple: true },
        backend: { type: "string", multiple: true },
        libzmq: { type: "string" },
        help: { type: "boolean" },
      },
      allowPositionals: true,
    });
    if (values.help) {
      console.log(BROKER_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const list = (value: string | undefined) =>
      value?.split(",").map((e) => e.trim()).filter((e) => e !== "");
    frontend = values.frontend ?? list(env.GEOIPMQ_BROKER_FRONTEND) ?? [];
    backend = values.backend ?? list(env.GEOIPMQ_BROKER_BACKEND) ?? [];
    if (frontend.length === 0) throw new UsageError("broker needs --frontend ENDPOINT");
    if (backend.length === 0) throw new UsageError("broker needs --backend ENDPOINT");
    for (const endpoint of frontend) checkEndpoint(endpoint, "--frontend");
    for (const endpoint of backend) checkEndpoint(endpoint, "--backend");
    libzmq = values.libzmq ?? env.GEOIPMQ_LIBZMQ;
  } catch (error) {
    const message = (error as Error).message.split(/\.(\s|$)/)[0];
    console.error(`geoipmq broker: ${message} (see --help)`);
    return 2;
  }
  let broker: GeoipBroker;
  try {
    const lib = Libzmq.open(libzmq ?? bundledLibzmqPath());
    broker = GeoipBroker.start({ lib, frontend, backend });
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
  const { promise, resolve } = Promise.withResolvers<Deno.Signal>();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const listeners = signals.map((signal) => {
    const listener = () => resolve(signal);
    Deno.addSignalListener(signal, listener);
    return listener;
  });
  const signal = await promise;
  log.info("stop", `broker stopping on ${signal}`, { signal });
  await broker.stop();
  signals.forEach((name, i) => Deno.removeSignalListener(name, listeners[i]!));
  log.info("stopped", "stopped");
  return 0;
}
