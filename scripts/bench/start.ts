/**
 * Starts the bench's servers together: geoipmq at its defaults and without its cache, the
 * C loop and the Go peer where they were built. A peer that fails to start is left out with
 * its reason; geoipmq failing to start ends the bench.
 *
 * @module
 */

import type { Prepared } from "./prepare.ts";
import { type Server, startCLoop, startGeoipmq, startGoPeer } from "./servers.ts";
import type { ServerKey } from "./plan.ts";

/** The servers that run. */
export interface RunningServers {
  all: Server[];
  get(key: ServerKey): Server | undefined;
  /** The keys of the running servers, in table order. */
  keys: ServerKey[];
}

/**
 * Starts every wanted server that can run.
 *
 * @example
 * ```ts ignore
 * const running = await startServers(prepared);
 * console.log(running.keys); // ["geoipmq", "nocache", "C", "Go"]
 * ```
 *
 * @param prepared the database, the builds, the options
 * @returns the running servers
 * @throws {Error} when geoipmq does not start
 */
export async function startServers(prepared: Prepared): Promise<RunningServers> {
  const { options, registry, builds, database, problems } = prepared;
  const wanted = (key: ServerKey) => options.servers.includes(key);
  const http = prepared.hasWrk ? ["--http", "127.0.0.1:0"] : [];
  const libzmq = options.libzmq === undefined ? [] : ["--libzmq", options.libzmq];
  const withLibzmq = options.libzmq === undefined ? "" : `, --libzmq ${options.libzmq}`;
  const cache = prepared.defaultCacheMb === undefined
    ? "default cache"
    : `default cache: --cache-mb ${prepared.defaultCacheMb}`;
  prepared.progress("starting the servers");
  const optional = (key: ServerKey, start: () => Promise<Server>) =>
    start().catch((error: Error) => {
      const problem = `it did not start: ${error.message.split("\n").join(" | ")}`;
      problems.push({ server: key, problem, install: "" });
      return undefined;
    });
  const starting: Promise<Server | undefined>[] = [
    startGeoipmq(registry, {
      key: "geoipmq",
      label: `geoipmq at its defaults (${cache})${http.length > 0 ? ", --http" : ""}${withLibzmq}`,
      database: database.path,
      extra: [...http, ...libzmq],
    }),
  ];
  if (wanted("nocache")) {
    starting.push(optional("nocache", () =>
      startGeoipmq(registry, {
        key: "nocache",
        label: `geoipmq --cache-mb 0 (no answer cache), otherwise at its defaults${withLibzmq}`,
        database: database.path,
        extra: ["--cache-mb", "0", ...http, ...libzmq],
      })));
  }
  const { cLoop, goPeer } = builds;
  if (cLoop !== undefined && "binary" in cLoop) {
    starting.push(
      optional("C", () => startCLoop(registry, { binary: cLoop.binary, database: database.path })),
    );
  }
  if (goPeer !== undefined && "binary" in goPeer && prepared.hasWrk) {
    starting.push(
      optional(
        "Go",
        () => startGoPeer(registry, { binary: goPeer.binary, database: database.path }),
      ),
    );
  }
  const started = await Promise.allSettled(starting);
  const all: Server[] = [];
  for (const result of started) {
    if (result.status === "fulfilled" && result.value !== undefined) all.push(result.value);
  }
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(all.map((s) => s.stop()));
    throw failed.reason;
  }
  const order: ServerKey[] = ["geoipmq", "nocache", "C", "Go"];
  const keys = order.filter((key) => all.some((s) => s.key === key));
  return { all, keys, get: (key) => all.find((s) => s.key === key) };
}
