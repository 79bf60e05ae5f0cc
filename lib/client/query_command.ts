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
 * failure), 1 when it could not be reached in time or a key file cannot be used.
 *
 * @module
 */

import { DatabaseError, GeoDatabase } from "../database/mod.ts";
import { GeoipResponder } from "../lookup/mod.ts";
import { DEFAULT_LIMITS } from "../protocol/mod.ts";
import { type ClientCurveKeys, GeoipClient, GeoipClientError } from "./client.ts";
import { KeyFileError, readPublicKeyFile, readSecretKeyFile } from "../curve/mod.ts";
import { type Libzmq, openLibzmq } from "../zmq/mod.ts";

/** The key files of a query to a CURVE service. */
export interface QueryCurveFiles {
  /** The service's public key file, as `geoipmq keygen` writes it (`PREFIX.pub`). */
  serverKeyFile: string;
  /** This client's secret key file (`PREFIX.key`, mode 0600); its public key is derived. */
  secretKeyFile: string;
}

/** The settled options of `geoipmq query`. */
export interface QueryOptions {
  /** The service's endpoints; requests are spread over them. */
  endpoints: string[];
  /**
   * Database files to answer from in this process, without a service (in `--db` order,
   * merged as the service merges them); none: ask the service.
   */
  databases: string[];
  /** Languages for names, most preferred first (with `databases`). */
  languages: string[];
  /** A field list: print these fields of each record (the `get` verb) instead. */
  fields: string | undefined;
  /** Print each address's database record as JSON instead of a TSV line. */
  json: boolean;
  /** Print the service's info and nothing else. */
  info: boolean;
  /** How long to wait for one reply, in milliseconds. */
  timeoutMs: number;
  /** How many times to send a request before giving up. */
  attempts: number;
  /** Addresses per request. */
  batch: number;
  /** The addresses given as arguments; none means: read them from stdin. */
  ips: string[];
  /** A libzmq to load instead of the bundled one. */
  libzmq: string | undefined;
  /** CURVE key files, or undefined for a service without CURVE. */
  curve: QueryCurveFiles | undefined;
}

/** Where the query command reads and writes. */
export interface QueryIo {
  /** Standard input, read when no address is given. */
  stdin: ReadableStream<Uint8Array>;
  /** One line at a time to standard output. */
  print: (line: string) => void;
  /** One line at a time to standard error. */
  error: (line: string) => void;
}

/** A failure before the first request: libzmq or a key file cannot be used. */
class QuerySetupError extends Error {
  /** @param message one line */
  constructor(message: string) {
    super(message);
    this.name = "QuerySetupError";
  }
}

/**
 * Runs `geoipmq query`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommand } from "../cli/mod.ts";
 * import { Logger } from "../log/mod.ts";
 * import { startService } from "../service/mod.ts";
 * import { runQuery } from "./mod.ts";
 * const serve = parseCommand(["--bind", "tcp://127.0.0.1:*", "--workers", "1"], {});
 * if (serve.name !== "serve") throw new Error("not serve");
 * const service = await startService(serve.options, { log: new Logger({ write: () => {} }) });
 *
 * // `geoipmq query --endpoint ENDPOINT`, reading addresses from stdin:
 * const query = parseCommand(["query", "--endpoint", service.endpoints[0]!], {});
 * if (query.name !== "query") throw new Error("not query");
 * const lines: string[] = [];
 * const code = await runQuery(query.options, {
 *   stdin: ReadableStream.from(["81.2.69.160\n10.0.0.1\n"]).pipeThrough(new TextEncoderStream()),
 *   print: (line) => lines.push(line),
 *   error: (line) => console.error(line),
 * });
 * assert.equal(code, 0);
 * assert.deepEqual(lines, [
 *   "81.2.69.160\tGB\tENG\tEast Finchley\tN2\t51.596700\t-0.159300\t(null)\t(null)",
 *   "10.0.0.1\tNOT_FOUND",
 * ]);
 * await service.stop();
 * ```
 *
 * @param options the settled options
 * @param io where to read and write
 * @returns the exit code: 0 when answered, 1 when not
 */
export async function runQuery(options: QueryOptions, io: QueryIo): Promise<number> {
  let client: Asker;
  try {
    client = options.databases.length > 0
      ? await localAsker(options, io)
      : await serviceAsker(options);
  } catch (error) {
    if (
      !(error instanceof QuerySetupError || error instanceof KeyFileError ||
        error instanceof DatabaseError)
    ) throw error;
    io.error(`geoipmq: query: ${error.message}`);
    return 1;
  }
  await using _client = client;
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
        const verb = options.fields === undefined ? "geoip" : `get ${options.fields}`;
        const reply = await client.request(`${verb} ${ips.join(" ")}`);
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
    io.error(`geoipmq: query: ${(error as Error).message}`);
    return 1;
  }
}

/** What `query` asks: a service through GeoipClient, or database files in this process. */
interface Asker extends AsyncDisposable {
  request(text: string): Promise<string>;
  info(): Promise<Record<string, unknown>>;
}

/** A GeoipClient on the service's endpoints (with CURVE keys when given). */
async function serviceAsker(options: QueryOptions): Promise<Asker> {
  const lib = loadLibzmq(options.libzmq);
  const curve = options.curve === undefined ? undefined : await readClientKeys(lib, options.curve);
  return new GeoipClient({
    endpoints: options.endpoints,
    timeoutMs: options.timeoutMs,
    attempts: options.attempts,
    batchSize: options.batch,
    lib,
    ...(curve === undefined ? {} : { curve }),
  });
}

/**
 * The responder the service's workers use, over database files opened here; its warning
 * about the location database's schema, if any, goes to stderr as the service logs it.
 */
async function localAsker(options: QueryOptions, io: QueryIo): Promise<Asker> {
  const databases: GeoDatabase[] = [];
  for (const path of options.databases) databases.push(await GeoDatabase.open(path));
  const responder = new GeoipResponder(databases, {
    limits: { ...DEFAULT_LIMITS, maxAddresses: Math.max(options.batch, 1) },
    server: { version: "query", libzmqVersion: "-", startedAt: Date.now() },
    languages: options.languages,
  });
  const warning = responder.locationSchema.warning;
  if (warning !== undefined) io.error(`geoipmq: query: warning: ${warning}`);
  const encoder = new TextEncoder();
  const request = (text: string) => Promise.resolve(responder.respond(encoder.encode(text)));
  return {
    request,
    info: async () => JSON.parse(await request("info")) as Record<string, unknown>,
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

function loadLibzmq(path: string | undefined): Libzmq {
  try {
    return openLibzmq(path);
  } catch (error) {
    throw new QuerySetupError((error as Error).message);
  }
}

/** Reads the service's public key and this client's secret key; derives the public key. */
async function readClientKeys(lib: Libzmq, files: QueryCurveFiles): Promise<ClientCurveKeys> {
  if (!lib.has("curve")) {
    throw new QuerySetupError(
      `Cannot use CURVE: libzmq ${lib.version()} from "${lib.path}" was built without CURVE`,
    );
  }
  const serverKey = await readPublicKeyFile(lib, files.serverKeyFile);
  const own = await readSecretKeyFile(lib, files.secretKeyFile);
  return { serverKey, publicKey: own.publicKey, secretKey: lib.z85Encode(own.secretKey) };
}
