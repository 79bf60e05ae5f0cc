/**
 * `geoipmq query`: asks a running service by hand.
 *
 * ```sh
 * geoipmq query 81.2.69.160 2001:db8::1          # one TSV line per address
 * geoipmq query --json 81.2.69.160               # one JSON answer per line
 * geoipmq query --info                           # the service's info
 * cut -f1 access.log | geoipmq query             # addresses from stdin, sent in batches
 * ```
 *
 * Exit codes: 0 when the service answered (an invalid address is an `ERROR` line, not a
 * failure), 1 when it could not be reached in time, 2 for a bad flag.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { GeoipClient, GeoipClientError } from "./client.ts";
import { DEFAULT_BIND } from "../cli/mod.ts";
import type { Libzmq } from "../zmq/mod.ts";

/** The usage text of `geoipmq query`. */
export const QUERY_USAGE = `Usage: geoipmq query [options] [IP...]

Asks a geoipmq service where addresses are. With no IP, reads addresses from stdin, one
per line, and sends them in batches.

Options:
  --endpoint E      service endpoint, repeatable (default: ${DEFAULT_BIND};
                    env GEOIPMQ_ENDPOINT, comma-separated)
  --json            print the database record of each address, one JSON per line
  --info            print the service's info and exit
  --timeout-ms N    time to wait for a reply (default: 2000)
  --attempts N      times to send a request before giving up (default: 3)
  --batch N         addresses per request (default: 100)
  --help            print this text
`;

/** Where the query command reads and writes. */
export interface QueryIo {
  /** Standard input, read when no address is given. */
  stdin: ReadableStream<Uint8Array>;
  /** One line at a time to standard output. */
  print: (line: string) => void;
  /** One line at a time to standard error. */
  error: (line: string) => void;
  /** The environment. */
  env: Record<string, string | undefined>;
  /** The libzmq to use. */
  lib?: Libzmq;
}

function positiveInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new TypeError(`--${flag} must be a whole number above 0, got "${value}"`);
  }
  return Number(value);
}

/**
 * Runs `geoipmq query`.
 *
 * @param args the arguments after `query`
 * @param io where to read and write
 * @returns the exit code
 */
export async function runQuery(args: string[], io: QueryIo): Promise<number> {
  let options;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        endpoint: { type: "string", multiple: true },
        json: { type: "boolean" },
        info: { type: "boolean" },
        "timeout-ms": { type: "string" },
        attempts: { type: "string" },
        batch: { type: "string" },
        help: { type: "boolean" },
      },
    });
    options = {
      endpoints: values.endpoint ??
        io.env.GEOIPMQ_ENDPOINT?.split(",").map((e) => e.trim()).filter((e) => e !== "") ??
        [DEFAULT_BIND],
      json: values.json === true,
      info: values.info === true,
      help: values.help === true,
      timeoutMs: positiveInteger("timeout-ms", values["timeout-ms"], 2000),
      attempts: positiveInteger("attempts", values.attempts, 3),
      batch: Math.min(1000, positiveInteger("batch", values.batch, 100)),
      ips: positionals,
    };
  } catch (error) {
    const message = (error as Error).message.split(/\.(\s|$)/)[0];
    io.error(`geoipmq query: ${message} (see --help)`);
    return 2;
  }
  if (options.help) {
    io.print(QUERY_USAGE);
    return 0;
  }
  await using client = new GeoipClient({
    endpoints: options.endpoints,
    timeoutMs: options.timeoutMs,
    attempts: options.attempts,
    batchSize: options.batch,
    ...(io.lib === undefined ? {} : { lib: io.lib }),
  });
  try {
    if (options.info) {
      io.print(JSON.stringify(await client.info(), null, 2));
      return 0;
    }
    const answer = async (ips: string[]) => {
      if (ips.length === 0) return;
      if (options.json) {
        const reply = await client.request(`json ${ips.join(" ")}`);
        if (reply.startsWith("ERROR\t")) throw new GeoipClientError(reply.slice(6));
        const answers = ips.length === 1 ? [JSON.parse(reply)] : JSON.parse(reply);
        for (const one of answers) io.print(JSON.stringify(one));
      } else {
        const reply = await client.request(`geoip ${ips.join(" ")}`);
        const lines = reply.split("\n");
        if (lines.length !== ips.length) throw new GeoipClientError(reply.split("\n")[0]!);
        ips.forEach((ip, i) => io.print(`${ip}\t${lines[i]}`));
      }
    };
    if (options.ips.length > 0) {
      for (let at = 0; at < options.ips.length; at += options.batch) {
        await answer(options.ips.slice(at, at + options.batch));
      }
    } else {
      let batch: string[] = [];
      let pending = "";
      for await (const chunk of io.stdin.pipeThrough(new TextDecoderStream())) {
        const lines = (pending + chunk).split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          const ip = line.trim();
          if (ip === "") continue;
          batch.push(ip);
          if (batch.length === options.batch) {
            await answer(batch);
            batch = [];
          }
        }
      }
      if (pending.trim() !== "") batch.push(pending.trim());
      await answer(batch);
    }
    return 0;
  } catch (error) {
    io.error(`geoipmq query: ${(error as Error).message}`);
    return 1;
  }
}
