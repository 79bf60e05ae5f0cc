/**
 * Byte helpers shared by the hand-made wire formats of the tests and the attack bench:
 * joining byte arrays, and writing all of them to a connection.
 *
 * @module
 */

/**
 * Joins byte arrays into one.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 * console.log(concatBytes([Uint8Array.of(1), Uint8Array.of(2, 3)])); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 *
 * @param parts the arrays, in order
 * @returns a new array holding them one after another
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Writes all of `bytes` to a connection (`conn.write` may write only part of them).
 *
 * @param conn the connection
 * @param bytes what to write
 */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}
