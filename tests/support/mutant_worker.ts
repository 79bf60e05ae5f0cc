/**
 * A Worker for the database fuzz test: it opens one mutant database at a time and asks
 * a {@linkcode GeoipResponder} about a list of addresses, timing every request, so the
 * test can end it when a mutant sends the decoder into an endless loop.
 *
 * Message in: {@linkcode MutantJob}; message out: {@linkcode MutantReport}.
 *
 * @module
 */

import { DatabaseError, GeoDatabase } from "../../lib/database/mod.ts";
import { quoteValue, type RequestLimits } from "../../lib/protocol/mod.ts";
import { GeoipResponder } from "../../lib/lookup/mod.ts";
import { replyProblem } from "./reply_shape.ts";

/** What the test asks about one mutant. */
export interface MutantJob {
  /** The mutant's number in the run. */
  index: number;
  /** The database bytes. */
  bytes: Uint8Array<ArrayBuffer>;
  /** Addresses to look up, one request each, then all in one request. */
  addresses: string[];
  /** The request limits of the responder. */
  limits: RequestLimits;
  /** The longest a request may take, in milliseconds. */
  slowMs: number;
}

/** What the worker found. */
export interface MutantReport {
  /** The mutant's number in the run. */
  index: number;
  /** Whether the database opened. */
  opened: boolean;
  /** Why it was refused, when it was. */
  refusal?: string;
  /** Everything wrong: a throw, a malformed reply, a slow request. */
  problems: string[];
  /** Requests answered. */
  requests: number;
  /** The slowest request, in milliseconds. */
  slowestMs: number;
  /** `ERROR` reasons met in lookups, with the addresses and numbers taken out. */
  errorKinds: string[];
  /** Lookups that met BUG 3 (see tests/database_fuzz_test.ts). */
  bug3: number;
  /** Whether `info` answered with JSON. */
  infoOk: boolean;
  /** The `info` reply when it was not JSON. */
  infoError?: string;
}

const encoder = new TextEncoder();
const SERVER = { version: "0", libzmqVersion: "0", startedAt: Date.now() };

/**
 * Runs one job.
 *
 * @param job the mutant and the addresses
 * @returns the report
 */
export function runMutantJob(job: MutantJob): MutantReport {
  const report: MutantReport = {
    index: job.index,
    opened: false,
    problems: [],
    requests: 0,
    slowestMs: 0,
    errorKinds: [],
    bug3: 0,
    infoOk: false,
  };
  const shared = new Uint8Array(new SharedArrayBuffer(job.bytes.length));
  shared.set(job.bytes);
  let database: GeoDatabase;
  try {
    database = GeoDatabase.fromBytes(shared, "mutant");
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    report.refusal = message;
    if (!(error instanceof DatabaseError)) {
      report.problems.push(`open threw ${(error as Error)?.name ?? typeof error}: ${message}`);
    } else if (
      !/^Cannot open database "mutant": [\x20-\x7e]+$/.test(message) || message.length > 300
    ) {
      report.problems.push(`refusal is not one printable line: ${JSON.stringify(message)}`);
    }
    return report;
  }
  report.opened = true;
  const responder = new GeoipResponder(database, {
    limits: job.limits,
    server: SERVER,
    cache: { maxBytes: 1024 * 1024 },
  });
  const ask = (verb: "geoip" | "json" | "info", addresses: string[]): string | undefined => {
    const request = encoder.encode(verb === "info" ? "info" : `${verb} ${addresses.join(" ")}`);
    const started = performance.now();
    let reply: string;
    try {
      reply = responder.respond(request);
    } catch (error) {
      report.problems.push(`respond(${verb} ${addresses.join(" ")}) threw: ${error}`);
      return undefined;
    }
    const elapsed = performance.now() - started;
    report.requests++;
    report.slowestMs = Math.max(report.slowestMs, elapsed);
    if (elapsed > job.slowMs) {
      report.problems.push(`${verb} ${addresses.join(" ")} took ${elapsed.toFixed(0)} ms`);
    }
    const expected = verb === "info"
      ? { verb, addresses: 0 }
      : { verb, addresses: addresses.length };
    const problem = replyProblem(reply, expected);
    if (problem !== undefined) {
      report.problems.push(`${verb} ${addresses.slice(0, 3).join(" ")}...: ${problem}`);
    }
    if (verb !== "info") checkErrors(reply, verb, addresses);
    return reply;
  };
  const ipv4Only = database.metadata.ipVersion === 4;
  /** Every address asked is valid: an error may only be a database error, or IPv6 in IPv4. */
  const checkErrors = (reply: string, verb: "geoip" | "json", addresses: string[]) => {
    const reasons: [string, string][] = [];
    if (reply.startsWith("ERROR\t") && !reply.includes("\n")) {
      reasons.push([addresses.length === 1 ? addresses[0]! : "", reply.slice(6)]);
    } else if (verb === "geoip") {
      reply.split("\n").forEach((line, i) => {
        if (line.startsWith("ERROR\t")) reasons.push([addresses[i]!, line.slice(6)]);
      });
    } else if (reply.startsWith("[")) {
      const answers = JSON.parse(reply) as { ip: string; error?: string }[];
      for (const answer of answers) {
        if (answer.error !== undefined) reasons.push([answer.ip, answer.error]);
      }
    }
    for (const [address, reason] of reasons) {
      const kind = reason.replace(/"[^"]*"/g, '"x"').replace(/\d+/g, "N");
      if (!report.errorKinds.includes(kind)) report.errorKinds.push(kind);
      const quoted = quoteValue(address);
      if (reason.startsWith(`database error for ${quoted}: `)) continue;
      if (
        ipv4Only && address.includes(":") &&
        reason === `IPv6 address in an IPv4-only database: ${quoted}`
      ) continue;
      if (reason.startsWith("Maximum call stack size exceeded")) {
        report.bug3++; // BUG 3: a RangeError from the decoder is taken for the client's fault
        continue;
      }
      report.problems.push(`${verb} ${address}: unexpected error ${JSON.stringify(reason)}`);
    }
  };
  for (const address of job.addresses) {
    for (const verb of ["geoip", "json"] as const) {
      const first = ask(verb, [address]);
      const second = ask(verb, [address]); // from the cache, when it was found
      if (first !== undefined && second !== undefined && first !== second) {
        report.problems.push(`${verb} ${address} answered differently the second time`);
      }
    }
  }
  ask("geoip", job.addresses);
  ask("json", job.addresses);
  const info = ask("info", []);
  report.infoOk = info !== undefined && info.startsWith("{");
  if (!report.infoOk) report.infoError = info?.slice(0, 200) ?? "no reply";
  return report;
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
if (typeof scope.WorkerGlobalScope !== "undefined") {
  scope.onmessage = (event: MessageEvent<MutantJob>) => {
    scope.postMessage(runMutantJob(event.data));
  };
}
