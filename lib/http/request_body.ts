/**
 * Reads a request body, declared by length or chunked, into one buffer that never grows
 * past the body limit: a body of 65,536 one-byte chunks costs what a body of one 64 KiB
 * chunk costs.
 *
 * @module
 */

import type { ConnReader } from "./conn_reader.ts";
import type { RequestHead } from "./request_head.ts";

/** A body the server refuses, with the status to answer (400, 413). */
export class BodyError extends Error {
  /** The HTTP status to answer. */
  readonly status: number;

  /**
   * @param status the HTTP status to answer
   * @param message why, for the client
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "BodyError";
    this.status = status;
  }
}

/** What {@linkcode readRequestBody} needs besides the reader. */
export interface RequestBodyOptions {
  /** How the head says the body is framed. */
  framing: RequestHead["body"];
  /** The largest body taken; a larger one is refused with 413. */
  maxBodyBytes: number;
}

/** Longest chunk-size line (size, extensions) or trailer field taken. */
const MAX_LINE_BYTES = 1024;
/** Trailer bytes taken at most, as for a head. */
const MAX_TRAILER_BYTES = 64 * 1024;
/**
 * Chunk framing (size lines, CRLFs) allowed per body byte: one-byte chunks take six
 * bytes (`1\r\nX\r\n`); beyond eight per byte is not a body but a stream of framing.
 */
const MAX_FRAMING_PER_BYTE = 8;
/** Framing a body of any size may have (the last chunk and a few extensions). */
const MIN_FRAMING_BYTES = 4096;
const CR = 13;
const LF = 10;
const SEMICOLON = 59;
const SPACE = 32;
const TAB = 9;

/**
 * Reads the body the head announced. The body is held in one buffer that grows by
 * doubling up to `maxBodyBytes`; chunk framing is bounded too (size lines, extensions,
 * trailers), so whatever a client sends, reading costs at most about twice the body limit.
 * A body that never ends is the caller's deadline's to end.
 *
 * @example
 * ```ts
 * import { ConnReader } from "./conn_reader.ts";
 * import { readRequestBody } from "./request_body.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = await listener.accept();
 * await client.write(new TextEncoder().encode("3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"));
 * const body = await readRequestBody(new ConnReader(server), {
 *   framing: { kind: "chunked" },
 *   maxBodyBytes: 1024,
 * });
 * console.log(new TextDecoder().decode(body)); // abcde
 * client.close();
 * server.close();
 * listener.close();
 * ```
 *
 * @param reader the connection's reader, just past the head
 * @param options the framing and the body limit
 * @returns the body (empty when none)
 * @throws {BodyError} for a body over the limit (413), malformed chunks or a connection
 *   that ended inside the body (400)
 */
export async function readRequestBody(
  reader: ConnReader,
  options: RequestBodyOptions,
): Promise<Uint8Array> {
  const { framing, maxBodyBytes } = options;
  if (framing.kind === "none") return new Uint8Array(0);
  if (framing.kind === "length") {
    if (framing.length > maxBodyBytes) throw tooLarge(maxBodyBytes);
    const body = new Uint8Array(framing.length);
    await readInto(reader, body, 0, framing.length);
    return body;
  }
  return await readChunked(reader, maxBodyBytes);
}

function tooLarge(maxBodyBytes: number): BodyError {
  return new BodyError(413, `request body larger than ${maxBodyBytes} bytes`);
}

function endedInside(): BodyError {
  return new BodyError(400, "connection ended inside a request body");
}

/** Copies `length` body bytes from the reader into `body` at `at`. */
async function readInto(
  reader: ConnReader,
  body: Uint8Array,
  at: number,
  length: number,
): Promise<void> {
  const end = at + length;
  while (at < end) {
    if (reader.start === reader.end && !await reader.fill(MAX_LINE_BYTES)) throw endedInside();
    const n = Math.min(end - at, reader.end - reader.start);
    body.set(reader.bytes.subarray(reader.start, reader.start + n), at);
    reader.start += n;
    at += n;
  }
}

/** Chunks: size line, data, CRLF, ..., a zero-size line, trailer fields, an empty line. */
async function readChunked(reader: ConnReader, maxBodyBytes: number): Promise<Uint8Array> {
  let body = new Uint8Array(Math.min(maxBodyBytes, 4096));
  let total = 0;
  let framing = 0;
  const framingAllowed = () => MIN_FRAMING_BYTES + MAX_FRAMING_PER_BYTE * total;
  for (;;) {
    const lineEnd = await nextLine(reader);
    framing += lineEnd + 2 - reader.start;
    const size = chunkSize(reader.bytes, reader.start, lineEnd);
    reader.start = lineEnd + 2;
    if (size === 0) break;
    if (total + size > maxBodyBytes) throw tooLarge(maxBodyBytes);
    if (total + size > body.length) {
      const grown = new Uint8Array(Math.min(maxBodyBytes, Math.max(total + size, body.length * 2)));
      grown.set(body.subarray(0, total));
      body = grown;
    }
    await readInto(reader, body, total, size);
    total += size;
    const end = await nextLine(reader);
    if (end !== reader.start) throw new BodyError(400, "malformed chunk: no CRLF after its data");
    reader.start = end + 2;
    framing += 2;
    if (framing > framingAllowed()) {
      throw new BodyError(400, `chunk framing over ${framingAllowed()} bytes for ${total} of data`);
    }
  }
  let trailer = 0;
  for (;;) {
    const end = await nextLine(reader);
    const length = end - reader.start;
    reader.start = end + 2;
    if (length === 0) break;
    trailer += length + 2;
    if (trailer > MAX_TRAILER_BYTES) {
      throw new BodyError(431, `request trailer larger than ${MAX_TRAILER_BYTES} bytes`);
    }
  }
  return body.length === total ? body : body.slice(0, total);
}

/** @returns the index of the next CRLF, reading as needed (a line is at most 1 KiB) */
async function nextLine(reader: ConnReader): Promise<number> {
  for (;;) {
    const end = reader.lineEnd();
    if (end >= 0) {
      if (end - reader.start > MAX_LINE_BYTES) {
        throw new BodyError(400, "malformed chunk: line too long");
      }
      return end;
    }
    if (reader.end - reader.start > MAX_LINE_BYTES) {
      throw new BodyError(400, "malformed chunk: line too long");
    }
    if (!await reader.fill(MAX_LINE_BYTES + 2)) throw endedInside();
  }
}

/**
 * Parses `chunk-size [ BWS ";" chunk-ext ]`: one to eight hex digits, then nothing, or
 * spaces or tabs and a `;` and extensions (which are ignored).
 */
function chunkSize(bytes: Uint8Array, start: number, end: number): number {
  let size = 0;
  let i = start;
  for (; i < end && i - start < 8; i++) {
    const digit = hexValue(bytes[i]!);
    if (digit < 0) break;
    size = size * 16 + digit;
  }
  if (i === start) throw new BodyError(400, "malformed chunk size");
  while (i < end && (bytes[i] === SPACE || bytes[i] === TAB)) i++;
  if (i < end && bytes[i] !== SEMICOLON) throw new BodyError(400, "malformed chunk size");
  for (let j = i; j < end; j++) {
    const byte = bytes[j]!;
    if (byte === CR || byte === LF || (byte < SPACE && byte !== TAB) || byte === 127) {
      throw new BodyError(400, "malformed chunk extension");
    }
  }
  return size;
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 65 && byte <= 70) return byte - 55;
  if (byte >= 97 && byte <= 102) return byte - 87;
  return -1;
}
