/**
 * The write side of an HTTP connection: an answer framed (status line, header fields,
 * `content-length` or chunked encoding) and written, a long one in pieces through one
 * buffer of {@linkcode WRITE_BUDGET_BYTES}, so a client that does not read holds no more.
 *
 * @module
 */

import type { Conn } from "./http_connection.ts";
import type { HttpAnswer } from "./http_messages.ts";

/** Most bytes of an answer handed to the socket at once. */
export const WRITE_PIECE_BYTES = 4 * 1024;

/**
 * Most bytes of a long answer a connection holds encoded at once (its write budget): a
 * piece larger than this is written in several chunks.
 */
export const WRITE_BUDGET_BYTES = 8 * 1024;

const STATUS_TEXT: Record<number, string> = {
  100: "Continue",
  200: "OK",
  204: "No Content",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

const encoder = new TextEncoder();
/** Bytes kept before a chunk's data for its size line (8 hex digits, CRLF). */
const SIZE_LINE_ROOM = 10;
/** Bytes kept after a chunk's data for its CRLF and the last chunk. */
const TRAILER_ROOM = 7;

/** How an answer is framed on its connection. */
export interface AnswerFraming {
  /** The answer to a `HEAD` request: its head only. */
  head: boolean;
  /** Whether the connection stays open after it. */
  keepAlive: boolean;
  /** Whether a body of pieces goes in chunks (HTTP/1.1) or as it is, then closing. */
  chunked: boolean;
  /** Waits for this connection's turn to write its next piece, when it must. */
  pace: () => Promise<void> | undefined;
}

/**
 * Writes all of the bytes.
 *
 * @param conn the connection
 * @param bytes what to write
 */
export async function writeAll(conn: Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
}

function headerLines(headers: Record<string, string>): string {
  let text = "";
  for (const name in headers) text += `${name}: ${headers[name]}\r\n`;
  return text;
}

/**
 * An answer with a whole body, as the bytes to write.
 *
 * @param answer an answer whose body is a string
 * @param options whether it answers `HEAD` and whether the connection stays open
 * @returns the bytes
 */
export function encodeWhole(
  answer: HttpAnswer,
  options: { head: boolean; keepAlive: boolean },
): Uint8Array {
  const body = encoder.encode(answer.body as string);
  const head = statusLine(answer.status) + headerLines(answer.headers) +
    (answer.status === 204 ? "" : `content-length: ${body.length}\r\n`) +
    (options.keepAlive ? "" : "connection: close\r\n") + "\r\n";
  if (options.head) return encoder.encode(head);
  const bytes = new Uint8Array(head.length + body.length);
  encoder.encodeInto(head, bytes);
  bytes.set(body, head.length);
  return bytes;
}

/**
 * Writes an answer. A whole body goes in one write; pieces are gathered up to
 * {@linkcode WRITE_PIECE_BYTES} and written one chunk at a time (chunked encoding, or the
 * bytes as they are for an HTTP/1.0 client, whose connection then closes).
 *
 * @param conn the connection
 * @param written the answer and its framing
 */
export async function writeAnswer(
  conn: Conn,
  written: { answer: HttpAnswer; framing: AnswerFraming },
): Promise<void> {
  const { answer, framing: options } = written;
  if (typeof answer.body === "string") {
    await writeAll(conn, encodeWhole(answer, options));
    return;
  }
  const chunked = options.chunked;
  const keepAlive = options.keepAlive && chunked;
  const head = statusLine(answer.status) + headerLines(answer.headers) +
    (chunked && !options.head ? "transfer-encoding: chunked\r\n" : "") +
    (keepAlive ? "" : "connection: close\r\n") + "\r\n";
  if (options.head) {
    await writeAll(conn, encoder.encode(head));
    return;
  }
  let prefix = head;
  let pending = "";
  // The connection's write budget: one buffer of WRITE_BUDGET_BYTES for every piece of
  // this answer, each write awaited before the next is encoded into it. A client that
  // does not read holds this buffer, its request's leftovers, and no more.
  let out: Uint8Array | undefined;
  const send = async (last: boolean) => {
    out ??= new Uint8Array(WRITE_BUDGET_BYTES);
    let text = pending;
    pending = "";
    let at = 0;
    if (prefix !== "") {
      const bytes = encoder.encode(prefix);
      prefix = "";
      if (bytes.length > WRITE_BUDGET_BYTES / 2) await writeAll(conn, bytes);
      else {
        out.set(bytes);
        at = bytes.length;
      }
    }
    const room = chunked ? SIZE_LINE_ROOM : 0;
    for (;;) {
      const dataStart = at + room;
      const { read, written } = encoder.encodeInto(
        text,
        out.subarray(dataStart, WRITE_BUDGET_BYTES - TRAILER_ROOM),
      );
      text = read === text.length ? "" : text.slice(read);
      const sizeLine = chunked && written > 0 ? `${written.toString(16)}\r\n` : "";
      // The head (first piece only) moves up against the chunk's size line.
      const begin = dataStart - sizeLine.length - at;
      if (at > 0) out.copyWithin(begin, 0, at);
      encoder.encodeInto(sizeLine, out.subarray(dataStart - sizeLine.length));
      let end = dataStart + written;
      if (chunked && written > 0) end += encoder.encodeInto("\r\n", out.subarray(end)).written;
      if (chunked && last && text === "") {
        end += encoder.encodeInto("0\r\n\r\n", out.subarray(end)).written;
      }
      if (end > begin) await writeAll(conn, out.subarray(begin, end));
      at = 0;
      if (text === "") return;
    }
  };
  for (const piece of answer.body) {
    pending += piece;
    // At most 3 bytes a character: a piece stays near WRITE_PIECE_BYTES.
    if (pending.length * 3 >= WRITE_PIECE_BYTES) {
      await send(false);
      await options.pace();
    }
  }
  await send(true);
}
