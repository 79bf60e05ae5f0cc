/**
 * `get` requests whose field lists are all different and as long as a request may be:
 * 64 valid-looking paths (`city.names.x…`) of about 1 KB each, so every request makes the
 * service parse a new list. What the service keeps of parsed lists must stay within a
 * budget. Used by the attack bench (`get-distinct-field-lists`) and its scaled-down test.
 *
 * @example
 * ```ts ignore
 * const result = await sendDistinctFieldLists({ endpoint: "tcp://127.0.0.1:5555", count: 3000 });
 * console.log(result.answered, result.errors);
 * ```
 *
 * @module
 */

import { PipelinedDealer } from "./pipelined_dealer.ts";

/** The most fields one `get` list may name. */
const FIELDS_PER_LIST = 64;

/**
 * A list of 64 distinct paths, about `bytes` long, different for each `index`.
 *
 * @example
 * ```ts
 * import { distinctFieldList } from "./distinct_field_lists.ts";
 * const list = distinctFieldList(7, 2048);
 * console.log(list.length, list.split(",").length, list.slice(0, 22)); // 2047 64 city.names.x7p0aaaaaaa
 * ```
 *
 * @param index which list
 * @param bytes about how long
 * @returns the comma-separated list
 */
export function distinctFieldList(index: number, bytes: number): string {
  const pathLength = Math.floor((bytes - (FIELDS_PER_LIST - 1)) / FIELDS_PER_LIST);
  return Array.from({ length: FIELDS_PER_LIST }, (_, i) => {
    const start = `city.names.x${index}p${i}`;
    return start + "a".repeat(Math.max(0, pathLength - start.length));
  }).join(",");
}

/** Options of {@linkcode sendDistinctFieldLists}. */
export interface DistinctFieldListsOptions {
  /** The service's ZeroMQ endpoint. */
  endpoint: string;
  /** How many lists (default 3000). */
  count?: number;
  /** The first list's index (default 0): runs with different starts share no list. */
  firstIndex?: number;
  /** About how long each list is (default 65,408: the request fits 64 KiB). */
  listBytes?: number;
  /** The addresses of each request (default two, so it is a batch). */
  addresses?: readonly string[];
  /** Requests in flight at once (default 8). */
  inFlight?: number;
  /** How long a request may wait for its reply (default 10 s). */
  deadlineMs?: number;
  /** Stops sending when aborted. */
  signal?: AbortSignal;
}

/** What the sender got. */
export interface DistinctFieldListsResult {
  sent: number;
  /** Requests answered with values (not `ERROR`). */
  answered: number;
  /** `ERROR` replies by text. */
  errors: Record<string, number>;
  /** Requests with no reply within the deadline, or still waiting at the stop. */
  unanswered: number;
}

/**
 * Sends `get <list> <addresses>` with a new list each time, a few in flight.
 *
 * @param options the endpoint, how many, how long, in flight
 * @returns what came back
 */
export async function sendDistinctFieldLists(
  options: DistinctFieldListsOptions,
): Promise<DistinctFieldListsResult> {
  const count = options.count ?? 3000;
  const first = options.firstIndex ?? 0;
  const listBytes = options.listBytes ?? 65_536 - 128;
  const addresses = (options.addresses ?? ["81.2.69.160", "8.8.8.8"]).join(" ");
  const inFlight = options.inFlight ?? 8;
  const deadlineMs = options.deadlineMs ?? 10_000;
  const result: DistinctFieldListsResult = { sent: 0, answered: 0, errors: {}, unanswered: 0 };
  const waiting = new Map<string, number>();
  const dealer = PipelinedDealer.open({ endpoint: options.endpoint });
  try {
    while (options.signal?.aborted !== true) {
      while (waiting.size < inFlight && result.sent < count) {
        const id = String(result.sent);
        dealer.send(id, `get ${distinctFieldList(first + result.sent, listBytes)} ${addresses}`);
        result.sent++;
        waiting.set(id, performance.now());
      }
      if (waiting.size === 0) break;
      const reply = await dealer.next(100);
      if (reply !== null && waiting.delete(reply.id)) {
        if (reply.reply.startsWith("ERROR")) {
          const text = reply.reply.slice(0, 120);
          result.errors[text] = (result.errors[text] ?? 0) + 1;
        } else {
          result.answered++;
        }
      }
      const now = performance.now();
      for (const [id, sentAt] of waiting) {
        if (now - sentAt >= deadlineMs) {
          waiting.delete(id);
          result.unanswered++;
        }
      }
    }
  } finally {
    await dealer.close();
  }
  result.unanswered += waiting.size;
  return result;
}
