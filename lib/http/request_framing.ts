/**
 * One request taken off a connection: its head found within the size limit (431 past it),
 * `100 Continue` when the client waits for it, and its body as the head frames it.
 *
 * @module
 */

import type { ConnReader } from "./conn_reader.ts";
import { writeAll } from "./answer_writer.ts";
import type { Connection } from "./http_connection.ts";
import type { HttpLimits } from "./http_limits.ts";
import type { RequestHead } from "./request_head.ts";
import { readRequestBody } from "./request_body.ts";
import { Refusal } from "./refusals.ts";

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** A request read whole: its head and its body (empty when none). */
export interface ReceivedRequest {
  head: RequestHead;
  body: Uint8Array;
}

/**
 * The next request's head bytes, or undefined when the peer closed before one began.
 *
 * @param connection the connection (its request deadline starts with the first byte)
 * @param from its reader and the limits
 * @returns a view of the head in the reader's buffer, without its blank line
 * @throws {Refusal} 431 for a head too large, 400 for a connection ended inside one
 */
export async function readHead(
  connection: Connection,
  from: { reader: ConnReader; limits: HttpLimits },
): Promise<Uint8Array | undefined> {
  const { reader, limits: { maxHeadBytes, requestTimeoutMs } } = from;
  // Bytes after reader.start already searched (reading may move reader.start).
  let checked = 0;
  for (;;) {
    const end = reader.headEnd(reader.start + checked);
    if (end >= 0) {
      if (end - reader.start > maxHeadBytes) {
        throw new Refusal(431, `request head larger than ${maxHeadBytes} bytes`);
      }
      // A view, not a copy: the head is parsed before the buffer is read into again.
      const head = reader.bytes.subarray(reader.start, end);
      reader.start = end + 4;
      return head;
    }
    checked = Math.max(0, reader.end - reader.start - 3);
    if (reader.end - reader.start > maxHeadBytes) {
      throw new Refusal(431, `request head larger than ${maxHeadBytes} bytes`);
    }
    const wasEmpty = reader.start === reader.end;
    if (!await reader.fill(maxHeadBytes + 4)) {
      if (wasEmpty) return undefined;
      throw new Refusal(400, "connection ended inside a request head");
    }
    connection.requestBegan(requestTimeoutMs);
  }
}

/**
 * The body of a request whose head was read: `100 Continue` first when the client
 * waits for it (413 at once for a length over the limit), then the body itself.
 *
 * @param connection the connection
 * @param from its reader, the request's head and the limits
 * @returns the body, empty when none
 * @throws {Refusal} 413 for a body too large
 * @throws {BodyError} for a body that breaks its framing
 */
export async function readBody(
  connection: Connection,
  from: { reader: ConnReader; head: RequestHead; limits: HttpLimits },
): Promise<Uint8Array> {
  const { reader, head, limits } = from;
  if (head.expectContinue && head.body.kind !== "none") {
    if (head.body.kind === "length" && head.body.length > limits.maxBodyBytes) {
      throw new Refusal(413, `request body larger than ${limits.maxBodyBytes} bytes`);
    }
    await writeAll(connection.conn, CONTINUE);
  }
  return await readRequestBody(reader, {
    framing: head.body,
    maxBodyBytes: limits.maxBodyBytes,
  });
}
