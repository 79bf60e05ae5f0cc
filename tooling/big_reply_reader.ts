/**
 * A ZeroMQ client that reads everything and asks for big replies, several in flight: every
 * request must get its reply or an `ERROR`, never silence, however the service bounds
 * what it queues for a peer. It reads either through libzmq (as fast as the machine
 * allows), or, given `bytesPerSecond`, as a raw ZMTP speaker that reads no faster than
 * that: a slow reader, which still reads everything. Used by the attack bench
 * (`zmq-big-replies-reader`) and its scaled-down test.
 *
 * @example
 * ```ts ignore
 * const result = await readBigReplies({
 *   endpoint: "tcp://127.0.0.1:5555",
 *   request: `get ${fields} ${addresses.join(" ")}`,
 *   total: 20,
 *   inFlight: 2,
 * });
 * console.log(result.replies, result.errors, result.silent);
 * ```
 *
 * @module
 */

import { PipelinedDealer } from "./pipelined_dealer.ts";
import { ZmtpSpeaker } from "./zmtp_speaker.ts";

const decoder = new TextDecoder();

/** Options of {@linkcode readBigReplies}. */
export interface BigRepliesOptions {
  /** The service's ZeroMQ endpoint. */
  endpoint: string;
  /** The request, sent `total` times. */
  request: string;
  /** Requests in all (default 20). */
  total?: number;
  /** Requests in flight at once (default 2). */
  inFlight?: number;
  /** How long a request may wait for its reply before it counts as silent (default 10 s). */
  deadlineMs?: number;
  /** Stops sending and waiting when aborted; what is still in flight counts as cut short. */
  signal?: AbortSignal;
  /** Read as a raw ZMTP speaker, no faster than this (default: through libzmq, at once). */
  bytesPerSecond?: number;
}

/** What the reader got. */
export interface BigRepliesResult {
  sent: number;
  /** Replies that were not `ERROR`. */
  replies: number;
  /** `ERROR` replies by text, numbers in them written `N`, cut to 160 characters. */
  errors: Record<string, number>;
  /** Requests with no reply within the deadline. */
  silent: number;
  /**
   * Requests given up with the connection when another one's deadline passed (the raw
   * reader's pending read cannot be taken back, so it starts a new connection).
   */
  abandoned: number;
  /** Requests still waiting when the signal aborted (within their deadline). */
  cutShort: number;
  /** The largest reply, in bytes. */
  largestBytes: number;
  /** Bytes of all replies. */
  bytes: number;
}

/**
 * Sends the request `total` times, `inFlight` at a time, reading every reply.
 *
 * @param options the endpoint, the request, how many, the deadline
 * @returns replies, errors and silent requests
 */
export async function readBigReplies(options: BigRepliesOptions): Promise<BigRepliesResult> {
  const result: BigRepliesResult = {
    sent: 0,
    replies: 0,
    errors: {},
    silent: 0,
    abandoned: 0,
    cutShort: 0,
    largestBytes: 0,
    bytes: 0,
  };
  if (options.bytesPerSecond === undefined) await readThroughLibzmq(options, result);
  else await readSlowly(options, result);
  return result;
}

/** Keeps `inFlight` requests out; `send` sends one with its id. */
function topUp(
  options: BigRepliesOptions,
  state: { result: BigRepliesResult; waiting: Map<string, number> },
  send: (id: string) => void,
): void {
  const { result, waiting } = state;
  while (waiting.size < (options.inFlight ?? 2) && result.sent < (options.total ?? 20)) {
    const id = String(result.sent++);
    send(id);
    waiting.set(id, performance.now());
  }
}

/** Counts one reply to a request in flight. */
function count(result: BigRepliesResult, reply: { text: string; bytes: number }): void {
  result.bytes += reply.bytes;
  result.largestBytes = Math.max(result.largestBytes, reply.bytes);
  if (reply.text.startsWith("ERROR")) {
    // Grouped by their words: the sizes in them differ from one reply to the next.
    const text = reply.text.replace(/\d+(\.\d+)?/g, "N").slice(0, 160);
    result.errors[text] = (result.errors[text] ?? 0) + 1;
  } else {
    result.replies++;
  }
}

async function readThroughLibzmq(
  options: BigRepliesOptions,
  result: BigRepliesResult,
): Promise<void> {
  const deadlineMs = options.deadlineMs ?? 10_000;
  /** Send time of each request in flight, by id. */
  const waiting = new Map<string, number>();
  const dealer = PipelinedDealer.open({ endpoint: options.endpoint });
  try {
    while (options.signal?.aborted !== true) {
      topUp(options, { result, waiting }, (id) => dealer.send(id, options.request));
      if (waiting.size === 0) break;
      const reply = await dealer.next(100);
      if (reply !== null && waiting.delete(reply.id)) {
        count(result, { text: reply.reply, bytes: reply.bytes });
      }
      const now = performance.now();
      for (const [id, sentAt] of waiting) {
        if (now - sentAt >= deadlineMs) {
          waiting.delete(id);
          result.silent++;
        }
      }
    }
  } finally {
    await dealer.close();
  }
  result.cutShort = waiting.size;
}

async function readSlowly(options: BigRepliesOptions, result: BigRepliesResult): Promise<void> {
  const deadlineMs = options.deadlineMs ?? 10_000;
  const waiting = new Map<string, number>();
  let speaker = await ZmtpSpeaker.connect(options.endpoint, { socketType: "DEALER" });
  const stop = () => speaker.close();
  const aborted = () => options.signal?.aborted === true;
  options.signal?.addEventListener("abort", stop);
  try {
    while (!aborted()) {
      const sends: Promise<void>[] = [];
      topUp(options, { result, waiting }, (id) => {
        sends.push(speaker.send([id, "", options.request]));
      });
      await Promise.all(sends);
      if (waiting.size === 0) break;
      const oldest = Math.min(...waiting.values());
      try {
        const frames = await speaker.receive(
          Math.max(1, oldest + deadlineMs - performance.now()),
          { bytesPerSecond: options.bytesPerSecond! },
        );
        const id = frames.length > 2 ? decoder.decode(frames[0]) : "";
        const last = frames.at(-1) ?? new Uint8Array(0);
        if (waiting.delete(id)) count(result, { text: decoder.decode(last), bytes: last.length });
      } catch (error) {
        if (aborted()) break;
        // The oldest request's deadline passed (or the connection ended): what waited that
        // long is silent; the rest is given up with the connection.
        const now = performance.now();
        for (const sentAt of waiting.values()) {
          if (now - sentAt >= deadlineMs - 1) result.silent++;
          else result.abandoned++;
        }
        waiting.clear();
        speaker.close();
        if (!(error instanceof Error && /no message within/.test(error.message))) throw error;
        speaker = await ZmtpSpeaker.connect(options.endpoint, { socketType: "DEALER" });
      }
    }
  } finally {
    options.signal?.removeEventListener("abort", stop);
    speaker.close();
  }
  result.cutShort = waiting.size;
}

/**
 * One line for a table.
 *
 * @example
 * ```ts
 * import { describeBigReplies } from "./big_reply_reader.ts";
 * console.log(describeBigReplies({ sent: 2, replies: 1, errors: { "ERROR\treply too large": 1 }, silent: 0, abandoned: 0, cutShort: 0, largestBytes: 2e6, bytes: 2e6 }));
 * // 2 sent, 1 replies (largest 1.9 MiB), 1 ERROR ("ERROR\treply too large" 1), 0 silent
 * ```
 *
 * @param result what the reader got
 * @returns the line
 */
export function describeBigReplies(result: BigRepliesResult): string {
  const errors = Object.entries(result.errors);
  const errorCount = errors.reduce((sum, [, count]) => sum + count, 0);
  const texts = errors.map(([text, count]) => `${JSON.stringify(text)} ${count}`).join(", ");
  return `${result.sent} sent, ${result.replies} replies ` +
    `(largest ${(result.largestBytes / 1024 / 1024).toFixed(1)} MiB), ` +
    `${errorCount} ERROR${errorCount > 0 ? ` (${texts})` : ""}, ${result.silent} silent` +
    (result.abandoned > 0 ? `, ${result.abandoned} given up with the connection` : "") +
    (result.cutShort > 0 ? `, ${result.cutShort} still waiting when the time ran out` : "");
}
