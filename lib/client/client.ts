/**
 * A client for geoipmq front ends, in Deno, on the project's libzmq binding: one call
 * per lookup or batch, typed results, and the ZeroMQ Guide's Lazy Pirate pattern (wait
 * for a reply with a time-out; on a time-out close the socket, open a new one and send
 * again, a bounded number of times; then a clear error).
 *
 * The socket is connected to every endpoint given, with `ZMQ_IMMEDIATE`, so libzmq spreads
 * requests over the instances that are up and a request never waits on one that is down.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommand } from "../cli/mod.ts";
 * import { Logger } from "../log/mod.ts";
 * import { startService } from "../service/mod.ts";
 * import { GeoipClient } from "./client.ts";
 * // A service to ask, on a free port of 127.0.0.1, with the bundled database.
 * const serve = parseCommand(["--bind", "tcp://127.0.0.1:*", "--workers", "1"], {});
 * if (serve.name !== "serve") throw new Error("not serve");
 * const service = await startService(serve.options, { log: new Logger({ write: () => {} }) });
 *
 * const client = new GeoipClient({ endpoints: [...service.endpoints] });
 * const place = await client.lookup("81.2.69.160");
 * assert.equal(place?.countryCode, "GB");
 * assert.equal(place?.city, "East Finchley");
 * assert.equal(await client.lookup("10.0.0.1"), null); // not in the database
 * await client.close();
 * await service.stop();
 * ```
 *
 * @module
 */

import {
  bundledLibzmqPath,
  Libzmq,
  SocketBytesOption,
  SocketOption,
  SocketType,
  ZMQ_POLLIN,
  ZMQ_POLLOUT,
  ZmqContext,
  type ZmqSocket,
} from "../zmq/mod.ts";

/** One address's place, the fields of the `geoip` reply; null where the database has none. */
export interface GeoipPlace {
  countryCode: string | null;
  subdivisionCode: string | null;
  city: string | null;
  postalCode: string | null;
  latitude: number | null;
  longitude: number | null;
  metroCode: number | null;
}

/** The `json` answer for one address. */
export interface GeoipRecordAnswer {
  ip: string;
  /** The matched network in CIDR form; null when not found. */
  network: string | null;
  /** The record as stored in the database; null when not found. */
  record: Record<string, unknown> | null;
}

/** CURVE keys (Z85, 40 characters each) for a service that requires them. */
export interface ClientCurveKeys {
  /** The service's public key. */
  serverKey: string;
  /** This client's public key (on the service's allow-list). */
  publicKey: string;
  /** This client's secret key. */
  secretKey: string;
}

/** Options for {@linkcode GeoipClient}. */
export interface GeoipClientOptions {
  /** The service's endpoints, e.g. `tcp://10.0.0.5:5555`; requests are spread over them. */
  endpoints: string[];
  /** How long to wait for one reply, in milliseconds (default 1000). */
  timeoutMs?: number;
  /** How many times to send a request before giving up (default 3). */
  attempts?: number;
  /** Addresses per batch request (default 100; the service accepts up to 1000). */
  batchSize?: number;
  /** CURVE keys, when the service requires them. */
  curve?: ClientCurveKeys;
  /** The libzmq to use (default: the one inside `npm:zeromq`). */
  lib?: Libzmq;
}

const POLL_ITEM_SIZE = 16;
const NULL_FIELD = "(null)";
const decoder = new TextDecoder();

/** The service could not be reached in time, or answered `ERROR` to the whole request. */
export class GeoipClientError extends Error {
  /**
   * @param message one line
   * @param options the cause, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GeoipClientError";
  }
}

/**
 * A geoipmq client. Not for concurrent use from one object: calls wait for each other
 * (they are queued), since a REQ socket carries one request at a time; make one client
 * per concurrent caller, or send batches.
 */
export class GeoipClient implements AsyncDisposable {
  readonly #options: Required<Omit<GeoipClientOptions, "curve" | "lib">> & {
    curve: ClientCurveKeys | undefined;
  };
  readonly #lib: Libzmq;
  readonly #context: ZmqContext;
  readonly #pollItem = new Uint8Array(POLL_ITEM_SIZE);
  #socket: ZmqSocket | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** @param options endpoints, time-outs, retries, keys */
  constructor(options: GeoipClientOptions) {
    if (options.endpoints.length === 0) throw new TypeError("GeoipClient needs an endpoint");
    this.#options = {
      endpoints: [...options.endpoints],
      timeoutMs: options.timeoutMs ?? 1000,
      attempts: options.attempts ?? 3,
      batchSize: options.batchSize ?? 100,
      curve: options.curve,
    };
    this.#lib = options.lib ?? Libzmq.open(bundledLibzmqPath());
    this.#context = ZmqContext.create(this.#lib);
  }

  /**
   * Looks one address up.
   *
   * @param ip an IPv4 or IPv6 address
   * @returns the place, or null when the database has no record for it
   * @throws {GeoipClientError} for an invalid address or when no reply came in time
   */
  async lookup(ip: string): Promise<GeoipPlace | null> {
    const [answer] = await this.lookupMany([ip]);
    if (answer instanceof GeoipClientError) throw answer;
    return answer ?? null;
  }

  /**
   * Looks many addresses up, in batch requests of `batchSize`.
   *
   * @param ips the addresses
   * @returns per address, in order: the place, null when not found, or the error for it
   * @throws {GeoipClientError} when no reply came in time
   */
  async lookupMany(ips: readonly string[]): Promise<(GeoipPlace | null | GeoipClientError)[]> {
    const answers: (GeoipPlace | null | GeoipClientError)[] = [];
    for (let at = 0; at < ips.length; at += this.#options.batchSize) {
      const batch = ips.slice(at, at + this.#options.batchSize);
      const reply = await this.request(`geoip ${batch.join(" ")}`);
      const lines = reply.split("\n");
      if (lines.length !== batch.length) throw new GeoipClientError(oneLine(reply));
      for (const line of lines) answers.push(parsePlace(line));
    }
    return answers;
  }

  /**
   * The database record of one address.
   *
   * @param ip an IPv4 or IPv6 address
   * @returns the `json` answer (record null when not found)
   * @throws {GeoipClientError} for an invalid address or when no reply came in time
   */
  async record(ip: string): Promise<GeoipRecordAnswer> {
    const reply = await this.request(`json ${ip}`);
    if (reply.startsWith("ERROR\t")) throw new GeoipClientError(oneLine(reply));
    return JSON.parse(reply) as GeoipRecordAnswer;
  }

  /** @returns the service's `info`: database type, build time, version, uptime... */
  async info(): Promise<Record<string, unknown>> {
    const reply = await this.request("info");
    if (reply.startsWith("ERROR\t")) throw new GeoipClientError(oneLine(reply));
    return JSON.parse(reply) as Record<string, unknown>;
  }

  /**
   * Sends one raw request, Lazy Pirate style.
   *
   * @param text the request, e.g. `ping`
   * @returns the reply text
   * @throws {GeoipClientError} when no reply came after every attempt
   */
  request(text: string): Promise<string> {
    const run = () => this.#request(text);
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #request(text: string): Promise<string> {
    if (this.#closed) throw new GeoipClientError("GeoipClient is closed");
    const { attempts, timeoutMs, endpoints } = this.#options;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const socket = this.#socket ??= this.#open();
      const deadline = Date.now() + timeoutMs;
      // With ZMQ_IMMEDIATE a send waits for a live connection: wait for it off-thread.
      if (
        await this.#waitFor(socket, ZMQ_POLLOUT, timeoutMs) &&
        socket.send(text, { dontWait: true }) &&
        await this.#waitFor(socket, ZMQ_POLLIN, Math.max(0, deadline - Date.now()))
      ) {
        const frames = socket.receive({ dontWait: true });
        if (frames !== null) return decoder.decode(frames[0]);
      }
      // No reply in time: the REQ socket is stuck; drop it and start afresh.
      socket.close();
      this.#socket = undefined;
    }
    throw new GeoipClientError(
      `No reply from ${endpoints.join(", ")} after ${attempts} attempts of ${timeoutMs} ms`,
    );
  }

  async #waitFor(socket: ZmqSocket, events: number, timeoutMs: number): Promise<boolean> {
    const view = new DataView(this.#pollItem.buffer);
    view.setBigUint64(0, BigInt(Deno.UnsafePointer.value(socket.pointer)), true);
    view.setInt16(12, events, true);
    view.setInt16(14, 0, true);
    // zmq_poll runs off this thread, so waiting for a reply does not block the caller's
    // event loop; the socket is not touched here meanwhile.
    const ready = await this.#lib.pollAsync(this.#pollItem, 1, timeoutMs);
    return ready > 0;
  }

  #open(): ZmqSocket {
    const socket = this.#context.socket(SocketType.REQ);
    try {
      socket.setOption(SocketOption.LINGER, 0);
      socket.setOption(SocketOption.IMMEDIATE, 1);
      socket.setOption(SocketOption.IPV6, 1);
      const curve = this.#options.curve;
      if (curve !== undefined) {
        socket.setBytesOption(SocketBytesOption.CURVE_SERVERKEY, curve.serverKey);
        socket.setBytesOption(SocketBytesOption.CURVE_PUBLICKEY, curve.publicKey);
        socket.setBytesOption(SocketBytesOption.CURVE_SECRETKEY, curve.secretKey);
      }
      for (const endpoint of this.#options.endpoints) socket.connect(endpoint);
    } catch (error) {
      // A socket left open would make close() wait forever in zmq_ctx_term.
      socket.close();
      throw error;
    }
    return socket;
  }

  /** Closes the socket and the context. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    this.#socket?.close();
    this.#socket = undefined;
    await this.#context.terminate();
  }

  /** Same as {@linkcode GeoipClient.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Reads one line of a `geoip` reply.
 *
 * @param line eight tab-separated fields, `NOT_FOUND`, or `ERROR<TAB>reason`
 * @returns the place, null for `NOT_FOUND`, or the error
 */
export function parsePlace(line: string): GeoipPlace | null | GeoipClientError {
  if (line === "NOT_FOUND") return null;
  if (line.startsWith("ERROR\t")) return new GeoipClientError(oneLine(line));
  const fields = line.split("\t");
  if (fields.length !== 8) {
    return new GeoipClientError(`Unexpected reply line ${JSON.stringify(line)}`);
  }
  const text = (value: string) => value === NULL_FIELD ? null : value;
  const number = (value: string) => value === NULL_FIELD ? null : Number(value);
  return {
    countryCode: text(fields[0]!),
    subdivisionCode: text(fields[1]!),
    city: text(fields[2]!),
    postalCode: text(fields[3]!),
    latitude: number(fields[4]!),
    longitude: number(fields[5]!),
    metroCode: number(fields[6]!),
  };
}

function oneLine(reply: string): string {
  const line = reply.split("\n")[0]!;
  return line.startsWith("ERROR\t") ? `geoipmq: ${line.slice(6)}` : `geoipmq: ${line}`;
}
