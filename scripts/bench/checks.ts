/**
 * Before the load: the servers asked the same addresses of every shape, their answers
 * compared. Over ZeroMQ, geoipmq (with and without cache) against the C loop, byte for
 * byte, in batches of 100; over HTTP, geoipmq against the Go peer, status and parsed JSON.
 *
 * @module
 */

import { Libzmq } from "../../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../../lib/zmq/mod.ts";
import { fetchAnswers, requestPoolOf } from "./load_generator.ts";
import { shapeAddresses, type ShapeName, type ShapeSource } from "../../tooling/mod.ts";
import { compareHttp } from "./http_load.ts";
import { BATCH_SIZE } from "./plan.ts";
import type { Prepared } from "./prepare.ts";
import type { RunningServers } from "./start.ts";

/** Addresses per shape compared over ZeroMQ, and over HTTP. */
const ZMQ_SAMPLE = 2000;
const HTTP_SAMPLE = 100;

/** What the comparison found for one shape. */
export interface ShapeCheck {
  shape: ShapeName;
  /** Addresses compared over ZeroMQ with the C loop (0: no C loop). */
  compared: number;
  /** Per geoipmq server: answers that differ from the C loop's. */
  differ: Record<string, number>;
  /** Addresses the C loop found. */
  found: number;
  /** HTTP: addresses asked of geoipmq and Go, and how many answers differ. */
  http: { compared: number; differ: number; found: number } | null;
  /** The first difference. */
  example: string | null;
}

/**
 * The source of a shape's addresses, for the generator and wrk.
 *
 * @param prepared the options and the pool file
 * @param shape the shape
 * @param offset where in its sequence to start
 * @returns the source
 */
export function shapeSource(prepared: Prepared, shape: ShapeName, offset: number): ShapeSource {
  return {
    shape,
    seed: prepared.options.seed,
    offset,
    ...(shape === "pool" ? { file: prepared.poolFile } : {}),
  };
}

function compareZmq(
  lib: Libzmq,
  running: RunningServers,
  addresses: string[],
): Pick<ShapeCheck, "compared" | "differ" | "found" | "example"> {
  const c = running.get("C");
  if (c?.endpoint === undefined) return { compared: 0, differ: {}, found: 0, example: null };
  const pool = requestPoolOf(addresses, { seed: 0, batchSize: BATCH_SIZE });
  const reference = fetchAnswers(lib, c.endpoint, pool, 10_000).singles;
  const decoder = new TextDecoder();
  const differ: Record<string, number> = {};
  let example: string | null = null;
  for (const server of running.all.filter((s) => s.key !== "C" && s.endpoint !== undefined)) {
    const answers = fetchAnswers(lib, server.endpoint!, pool, 10_000).singles;
    differ[server.key] = 0;
    for (const [i, expected] of reference.entries()) {
      const got = decoder.decode(answers[i]);
      if (got === decoder.decode(expected)) continue;
      differ[server.key]!++;
      example ??= `${addresses[i]}: ${server.key} ${JSON.stringify(got)} | C ${
        JSON.stringify(decoder.decode(expected))
      }`;
    }
  }
  const found = reference.filter((a) => decoder.decode(a) !== "NOT_FOUND").length;
  return { compared: reference.length, differ, found, example };
}

/**
 * Compares the servers' answers for the first addresses of every shape.
 *
 * @param prepared the options, the builds
 * @param running the servers
 * @returns one check per shape (none when the load generator was not built)
 */
export async function checkAnswers(
  prepared: Prepared,
  running: RunningServers,
): Promise<ShapeCheck[]> {
  const generator = prepared.builds.loadGenerator;
  if (!("binary" in generator)) return [];
  prepared.progress("comparing the servers' answers for the first addresses of every shape");
  const lib = Libzmq.open(bundledLibzmqPath());
  const checks: ShapeCheck[] = [];
  try {
    for (const shape of prepared.options.shapes) {
      const source = shapeSource(prepared, shape, 0);
      const addresses = await shapeAddresses(generator.binary, source, ZMQ_SAMPLE);
      const zmq = compareZmq(lib, running, addresses);
      const geoipmq = running.get("geoipmq")!;
      const go = running.get("Go");
      const http = geoipmq.http !== undefined && go !== undefined
        ? await compareHttp([geoipmq, go], addresses.slice(0, HTTP_SAMPLE))
        : null;
      checks.push({
        shape,
        ...zmq,
        http: http === null
          ? null
          : { compared: http.compared, differ: http.differ, found: http.found },
        example: zmq.example ?? http?.example ?? null,
      });
    }
  } finally {
    lib.close();
  }
  return checks;
}
