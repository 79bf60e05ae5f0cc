/**
 * The answers the HTTP server gives itself and then closes: a connection over the cap
 * (503), a request it cannot take (400, 413, 431).
 *
 * @module
 */

import type { ConnReader } from "./conn_reader.ts";
import { encodeWhole, writeAnswer } from "./answer_writer.ts";
import type { Conn, Connection } from "./http_connection.ts";
import type { HttpAnswer } from "./http_messages.ts";

/** What a closing connection reads and drops so the client sees its answer, at most. */
const LINGER = { bytes: 256 * 1024, ms: 1000 };

/** A request the server answers itself and then closes the connection. */
export class Refusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * Answers a connection over the cap and closes it.
 *
 * @param conn the connection just accepted
 * @param answer the 503 answer, with a whole body
 */
export function refuseConnection(conn: Conn, answer: HttpAnswer): void {
  const bytes = encodeWhole(answer, { head: false, keepAlive: false });
  // A few hundred bytes on a new connection: the socket takes them at once.
  conn.write(bytes).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch {
      // Closed.
    }
  });
}

/**
 * Answers a request the server refuses, then closes: its write side first, reading and
 * dropping what the client still sends for a moment, so that the client reads the
 * answer instead of a reset.
 *
 * @param connection the connection, closed by the caller afterwards
 * @param refused its reader and the answer
 */
export async function answerAndLinger(
  connection: Connection,
  refused: { reader: ConnReader; answer: HttpAnswer },
): Promise<void> {
  const { conn } = connection;
  const { reader, answer } = refused;
  await writeAnswer(conn, {
    answer,
    framing: { head: false, keepAlive: false, chunked: false, pace: () => undefined },
  });
  try {
    await conn.closeWrite();
  } catch {
    return;
  }
  connection.requestDeadline = Math.min(
    connection.requestDeadline,
    performance.now() + LINGER.ms,
  );
  let dropped = 0;
  reader.start = reader.end = 0;
  while (dropped < LINGER.bytes) {
    const n = await conn.read(reader.bytes);
    if (n === null) return;
    dropped += n;
  }
}
