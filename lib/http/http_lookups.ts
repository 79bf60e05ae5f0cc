/**
 * The lookups of the HTTP routes: one address as JSON or TSV, one address shaped by the
 * query (fields, languages, GeoIP2's names), and batches written a few addresses at a
 * time; each request counted in the service's metrics as ZeroMQ requests are.
 *
 * @module
 */

import { type AddressAnswer, type GeoipResponder, RequestCounter } from "../lookup/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";
import {
  formatTsv,
  parseFieldList,
  parseLanguageList,
  resolveField,
  stringifyJson,
} from "../protocol/mod.ts";
import type { HttpAnswer } from "./http_messages.ts";
import {
  HttpProblem,
  JSON_TYPE,
  jsonError,
  reply,
  TEXT_TYPE,
  TSV_TYPE,
} from "./http_routes_answers.ts";
import { optionalList, readShape } from "./http_routes_inputs.ts";
import { PackedStrings } from "./packed_strings.ts";

/** What {@linkcode HttpLookups} answers with. */
export interface HttpLookupsOptions {
  /** The responder of the moment, asked once per lookup request. */
  responder: () => GeoipResponder;
  /** Where the requests are counted (with `transport="http"`). */
  metrics: ServiceMetrics;
  /** Most addresses in one batch. */
  maxAddresses: number;
}

/** Addresses of a batch rendered at a time: the answer is written in pieces this big. */
const BATCH_PIECE = 4;

/** The HTTP status of one address's failure: the client's mistake, or the database's. */
function failureStatus(answer: AddressAnswer): number {
  return answer.result === "invalid" ? 400 : 500;
}

function isAnswer(value: AddressAnswer | HttpAnswer): value is HttpAnswer {
  return "status" in value;
}

/**
 * The pieces of a batch's JSON array, {@linkcode BATCH_PIECE} addresses at a time. Each
 * piece is rendered at once (other requests may run between pieces, so the responder's
 * tally is read after each piece and added up); `done` counts the whole request.
 */
function* batchPieces(
  responder: GeoipResponder,
  addresses: PackedStrings,
  done: () => void,
): Generator<string> {
  const sums = { found: 0, notFound: 0, invalid: 0, error: 0 };
  let body = "[";
  for (let start = 0; start < addresses.length; start += BATCH_PIECE) {
    responder.startTally("json");
    const end = Math.min(addresses.length, start + BATCH_PIECE);
    for (let i = start; i < end; i++) {
      const address = addresses.at(i)!;
      const answer = responder.answer("json", address);
      if (i > 0) body += ",";
      body += answer.result === "found" || answer.result === "not_found"
        ? answer.text
        : JSON.stringify({ ip: address, error: answer.text });
    }
    const tally = responder.tally;
    sums.found += tally.found;
    sums.notFound += tally.notFound;
    sums.invalid += tally.invalid;
    sums.error += tally.error;
    yield body;
    body = "";
  }
  responder.startTally("json");
  Object.assign(responder.tally, sums);
  done();
  yield body + "]";
}

/**
 * Answers lookups through the responder of the moment, counting each request in the
 * service's metrics as ZeroMQ requests are counted.
 */
export class HttpLookups {
  readonly #responder: () => GeoipResponder;
  readonly #metrics: ServiceMetrics;
  readonly #maxAddresses: number;
  #counter: RequestCounter | undefined;
  #counted: GeoipResponder | undefined;

  constructor(options: HttpLookupsOptions) {
    this.#responder = options.responder;
    this.#metrics = options.metrics;
    this.#maxAddresses = options.maxAddresses;
  }

  /** One address: the answer, 404 when not found, 4xx/5xx with the reason. */
  one(format: "geoip" | "json", address: string): HttpAnswer {
    const answer = this.#lookUp(format, (responder) => responder.answer(format, address));
    if (isAnswer(answer)) return answer;
    const status = answer.result === "found" ? 200 : 404;
    return format === "json"
      ? reply(status, answer.text, JSON_TYPE)
      : reply(status, answer.text, status === 200 ? TSV_TYPE : TEXT_TYPE);
  }

  /**
   * One address, shaped by the query: `?fields=a.b,c.d` answers just those paths of the
   * record (`{"ip", "network", "fields": {path: value}}`), `?lang=de,en` the names in
   * those languages, `?shape=geoip2` the record in GeoIP2's names (another vendor's
   * mapped; the fields are always read so).
   */
  shaped(
    format: "geoip" | "json",
    address: string,
    query: Map<string, string[]>,
    accepted?: readonly string[],
  ): HttpAnswer {
    const asked = optionalList(query, { name: "lang", parse: parseLanguageList });
    const fields = optionalList(query, { name: "fields", parse: parseFieldList });
    const geoip2 = readShape(query);
    if (fields !== undefined && format === "geoip") {
      throw new HttpProblem(400, '"fields" goes with /json/<ip>, not /geoip/<ip>');
    }
    if (asked !== undefined && format === "json" && fields === undefined) {
      throw new HttpProblem(400, '"lang" chooses names: use it with /geoip/<ip> or with fields');
    }
    // `?lang=` wins over Accept-Language.
    const languages = asked ?? accepted;
    const answer = this.#lookUp(format, (responder) => responder.lookupRecord(address));
    if (isAnswer(answer)) return answer;
    const status = answer.result === "found" ? 200 : 404;
    if (format === "geoip") {
      if (answer.result !== "found") return reply(404, "NOT_FOUND", TEXT_TYPE);
      const tsv = answer.location === null ? "NOT_FOUND" : formatTsv(answer.location, languages);
      return reply(
        answer.location === null ? 404 : 200,
        tsv,
        answer.location === null ? TEXT_TYPE : TSV_TYPE,
      );
    }
    if (geoip2 && fields === undefined) {
      const record = stringifyJson(answer.record ?? null);
      const network = answer.network === undefined || answer.network === null
        ? "null"
        : `"${answer.network}"`;
      return reply(
        status,
        `{"ip":${JSON.stringify(address)},"network":${network},"record":${record}}`,
        JSON_TYPE,
      );
    }
    const chosen: Record<string, unknown> = {};
    for (const path of fields ?? []) {
      const value = answer.record === undefined
        ? undefined
        : resolveField(answer.record, { path, languages: languages ?? ["en"] });
      chosen[path.text] = value ?? null;
    }
    return reply(
      status,
      stringifyJson({ ip: address, network: answer.network ?? null, fields: chosen }),
      JSON_TYPE,
    );
  }

  /**
   * Many addresses: an array of JSON answers, or of `{ip, error}` per bad address. The
   * body is made a few addresses at a time, as the client takes it, all from the
   * responder of the moment the request came; the request is counted once it is whole.
   */
  batch(addresses: string[]): HttpAnswer {
    if (addresses.length > this.#maxAddresses) {
      throw new HttpProblem(400, `more than ${this.#maxAddresses} addresses in one request`);
    }
    const started = performance.now();
    const responder = this.#responder();
    const counter = this.#counterFor(responder);
    return reply(
      200,
      // Packed: the answer's writing keeps a few KiB of its request, not an array.
      batchPieces(responder, PackedStrings.of(addresses), () => counter.answered(started)),
      JSON_TYPE,
    );
  }

  /**
   * Looks one address up through the responder of the moment and counts the request: a
   * failed address is the request's error, answered here with its status.
   */
  #lookUp<T extends AddressAnswer>(
    format: "geoip" | "json",
    lookUp: (responder: GeoipResponder) => T,
  ): T | HttpAnswer {
    const started = performance.now();
    const responder = this.#begin(format);
    const answer = lookUp(responder);
    const failed = answer.result === "invalid" || answer.result === "error";
    if (failed) responder.tally.outcome = "error";
    this.#count(started);
    return failed ? jsonError(failureStatus(answer), answer.text) : answer;
  }

  #begin(format: "geoip" | "json"): GeoipResponder {
    const responder = this.#responder();
    this.#counterFor(responder);
    responder.startTally(format);
    return responder;
  }

  #counterFor(responder: GeoipResponder): RequestCounter {
    // A new responder (after a reload) gets a new counter, before its first lookup.
    if (this.#counted !== responder) {
      this.#counted = responder;
      this.#counter = new RequestCounter(this.#metrics, responder, "http");
    }
    return this.#counter!;
  }

  #count(started: number): void {
    this.#counter!.answered(started);
  }
}
