/**
 * What a geoipmq reply may look like, whatever the request (docs/PROTOCOL.md): the fuzz
 * tests check every reply against these shapes.
 *
 * - `ERROR`, a tab and one line of printable ASCII;
 * - `pong`;
 * - a JSON document (`json`, `info`);
 * - lines joined by `\n`, each `NOT_FOUND`, an `ERROR` line, or eight tab-separated
 *   fields without CR or LF.
 *
 * @module
 */

const ERROR_LINE = /^ERROR\t[\x20-\x7e]+$/;

/**
 * @param line one line of a reply
 * @returns whether it is `ERROR`, a tab and one line of printable ASCII
 */
export function isErrorLine(line: string): boolean {
  return ERROR_LINE.test(line);
}

/**
 * @param line one line of a `geoip` reply
 * @returns why it is not `NOT_FOUND`, an `ERROR` line or eight fields, or undefined
 */
export function tsvLineProblem(line: string): string | undefined {
  if (line === "NOT_FOUND" || isErrorLine(line)) return undefined;
  if (line.startsWith("ERROR")) return `malformed ERROR line ${JSON.stringify(line)}`;
  if (line.includes("\r")) return `CR inside a line ${JSON.stringify(line)}`;
  const fields = line.split("\t");
  if (fields.length !== 8) {
    return `${fields.length} fields instead of 8 in ${JSON.stringify(line.slice(0, 200))}`;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function jsonAnswerProblem(value: unknown): string | undefined {
  if (!isObject(value)) return "a JSON answer that is not an object";
  if (typeof value.ip !== "string") return "a JSON answer without an ip";
  if ("error" in value) {
    return typeof value.error === "string" && /^[\x20-\x7e]+$/.test(value.error)
      ? undefined
      : `a JSON error that is not one printable line: ${JSON.stringify(value.error)}`;
  }
  if (!("network" in value) || !("record" in value)) return "a JSON answer without network";
  if (value.network !== null && typeof value.network !== "string") return "a bad network";
  if ((value.network === null) !== (value.record === null)) {
    return "network and record disagree on whether the address was found";
  }
  return undefined;
}

/** What the request was, when the test knows it, for a stricter check. */
export interface ReplyExpectation {
  /** The request's verb. */
  verb: "geoip" | "json" | "ping" | "info";
  /** How many addresses the request carried. */
  addresses: number;
}

/**
 * Checks a reply's shape.
 *
 * @param reply the reply text
 * @param expected the request, when known: a lookup must then have one line (or one JSON
 *   element) per address, unless the whole request was refused with one `ERROR` line
 * @returns why the reply is malformed, or undefined when it is well-formed
 */
export function replyProblem(reply: string, expected?: ReplyExpectation): string | undefined {
  if (reply === "pong") {
    return expected === undefined || expected.verb === "ping" ? undefined : "an unasked pong";
  }
  if (!reply.includes("\n") && reply.startsWith("ERROR")) {
    return isErrorLine(reply) ? undefined : `malformed ERROR reply ${JSON.stringify(reply)}`;
  }
  if (reply.startsWith("{") || reply.startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(reply);
    } catch (error) {
      return `invalid JSON (${(error as Error).message}): ${JSON.stringify(reply.slice(0, 200))}`;
    }
    if (isObject(value) && "database_type" in value) {
      return expected === undefined || expected.verb === "info" ? undefined : "an unasked info";
    }
    if (expected !== undefined && expected.verb !== "json") return "an unasked JSON reply";
    if (Array.isArray(value)) {
      if (expected !== undefined && value.length !== expected.addresses) {
        return `${value.length} JSON answers for ${expected.addresses} addresses`;
      }
      for (const element of value) {
        const problem = jsonAnswerProblem(element);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    if (expected !== undefined && expected.addresses !== 1) {
      return `one JSON answer for ${expected.addresses} addresses`;
    }
    return jsonAnswerProblem(value);
  }
  if (expected !== undefined && expected.verb !== "geoip") return "an unasked TSV reply";
  const lines = reply.split("\n");
  if (expected !== undefined && lines.length !== expected.addresses) {
    return `${lines.length} lines for ${expected.addresses} addresses`;
  }
  for (const line of lines) {
    const problem = tsvLineProblem(line);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
