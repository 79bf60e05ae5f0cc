/**
 * GeoipClient for Node.js front ends: the same calls as `lib/client/client.ts` (which runs
 * on Deno), on `npm:zeromq`'s own sockets, which work under Node. Lazy Pirate as in the
 * ZeroMQ Guide: a time-out per request, then close the socket, open a new one and send
 * again, a bounded number of times, then a clear error. The socket connects to every
 * endpoint with `immediate`, so libzmq spreads requests over the instances that are up.
 *
 * The example is not run with the others: it needs Node.js (`npm:zeromq` fails under Deno).
 *
 * ```js ignore
 * // npm install zeromq@6; a service on 127.0.0.1:5555 with the bundled database
 * import { GeoipClient } from "./node_client.mjs";
 * const client = new GeoipClient({ endpoints: ["tcp://127.0.0.1:5555"] });
 * const place = await client.lookup("81.2.69.160");
 * console.log(place.countryCode, place.city); // GB East Finchley
 * client.close();
 * ```
 *
 * @module
 */

import { Request } from "zeromq";

/**
 * @typedef {object} GeoipPlace
 * @property {string | null} countryCode
 * @property {string | null} subdivisionCode
 * @property {string | null} city
 * @property {string | null} postalCode
 * @property {number | null} latitude
 * @property {number | null} longitude
 * @property {number | null} metroCode
 */

/** The service could not be reached in time, or answered `ERROR`. */
export class GeoipClientError extends Error {
  /** @param {string} message one line */
  constructor(message) {
    super(message);
    this.name = "GeoipClientError";
  }
}

const NULL_FIELD = "(null)";

/**
 * Reads one line of a `geoip` reply.
 *
 * @param {string} line eight tab-separated fields, `NOT_FOUND`, or `ERROR<TAB>reason`
 * @returns {GeoipPlace | null | GeoipClientError} the place, null, or the error
 */
export function parsePlace(line) {
  if (line === "NOT_FOUND") return null;
  if (line.startsWith("ERROR\t")) return new GeoipClientError(`geoipmq: ${line.slice(6)}`);
  const fields = line.split("\t");
  if (fields.length !== 8) {
    return new GeoipClientError(`Unexpected reply line ${JSON.stringify(line)}`);
  }
  const text = (value) => value === NULL_FIELD ? null : value;
  const number = (value) => value === NULL_FIELD ? null : Number(value);
  return {
    countryCode: text(fields[0]),
    subdivisionCode: text(fields[1]),
    city: text(fields[2]),
    postalCode: text(fields[3]),
    latitude: number(fields[4]),
    longitude: number(fields[5]),
    metroCode: number(fields[6]),
  };
}

/** A geoipmq client for Node; calls made at once are queued. */
export class GeoipClient {
  /**
   * @param {{ endpoints: string[], timeoutMs?: number, attempts?: number, batchSize?: number,
   *   curve?: { serverKey: string, publicKey: string, secretKey: string } }} options
   */
  constructor(options) {
    if (!options.endpoints?.length) throw new TypeError("GeoipClient needs an endpoint");
    this.endpoints = [...options.endpoints];
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.attempts = options.attempts ?? 3;
    this.batchSize = options.batchSize ?? 100;
    this.curve = options.curve;
    /** @type {Request | undefined} */
    this.socket = undefined;
    this.queue = Promise.resolve();
  }

  /**
   * @param {string} ip an IPv4 or IPv6 address
   * @returns {Promise<GeoipPlace | null>} the place, or null when not found
   */
  async lookup(ip) {
    const [answer] = await this.lookupMany([ip]);
    if (answer instanceof GeoipClientError) throw answer;
    return answer ?? null;
  }

  /**
   * @param {string[]} ips the addresses, sent in batches
   * @returns {Promise<(GeoipPlace | null | GeoipClientError)[]>} one answer per address
   */
  async lookupMany(ips) {
    const answers = [];
    for (let at = 0; at < ips.length; at += this.batchSize) {
      const batch = ips.slice(at, at + this.batchSize);
      const reply = await this.request(`geoip ${batch.join(" ")}`);
      const lines = reply.split("\n");
      if (lines.length !== batch.length) throw new GeoipClientError(`geoipmq: ${lines[0]}`);
      for (const line of lines) answers.push(parsePlace(line));
    }
    return answers;
  }

  /**
   * @param {string} ip an address
   * @returns {Promise<{ ip: string, network: string | null, record: object | null }>}
   */
  async record(ip) {
    const reply = await this.request(`json ${ip}`);
    if (reply.startsWith("ERROR\t")) throw new GeoipClientError(`geoipmq: ${reply.slice(6)}`);
    return JSON.parse(reply);
  }

  /** @returns {Promise<Record<string, unknown>>} the service's info */
  async info() {
    return JSON.parse(await this.request("info"));
  }

  /**
   * Sends one raw request, Lazy Pirate style.
   *
   * @param {string} text the request
   * @returns {Promise<string>} the reply
   */
  request(text) {
    const run = () => this.#request(text);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  async #request(text) {
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      const socket = this.socket ??= this.#open();
      try {
        await socket.send(text);
        const [reply] = await socket.receive();
        return reply.toString("utf8");
      } catch {
        // No reply in time (or no live peer to send to): drop the socket, start afresh.
        socket.close();
        this.socket = undefined;
      }
    }
    throw new GeoipClientError(
      `No reply from ${
        this.endpoints.join(", ")
      } after ${this.attempts} attempts of ${this.timeoutMs} ms`,
    );
  }

  #open() {
    const socket = new Request({
      linger: 0,
      immediate: true,
      ipv6: true,
      receiveTimeout: this.timeoutMs,
      sendTimeout: this.timeoutMs,
      ...(this.curve === undefined ? {} : {
        curveServerKey: this.curve.serverKey,
        curvePublicKey: this.curve.publicKey,
        curveSecretKey: this.curve.secretKey,
      }),
    });
    for (const endpoint of this.endpoints) socket.connect(endpoint);
    return socket;
  }

  /** Closes the socket. */
  close() {
    this.socket?.close();
    this.socket = undefined;
  }
}
