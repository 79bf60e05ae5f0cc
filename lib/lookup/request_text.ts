/**
 * An address of a request frame as text, for the reasons of `ERROR` replies: the bytes
 * as Latin-1 (a frame is not checked to be UTF-8), at most 64 of them.
 *
 * @module
 */

/** Bytes of an address quoted in a reason at most. */
const QUOTED_BYTES = 64;

/**
 * @example
 * ```ts
 * import { latin1 } from "./request_text.ts";
 * console.log(latin1(new TextEncoder().encode("geoip 1.2.3"), { start: 6, end: 11 })); // "1.2.3"
 * ```
 *
 * @param frame the request bytes
 * @param range where the address is: `frame[start..end)`
 * @returns its first 64 bytes as Latin-1 text
 */
export function latin1(frame: Uint8Array, range: { start: number; end: number }): string {
  const end = Math.min(range.end, range.start + QUOTED_BYTES);
  return String.fromCharCode(...frame.subarray(range.start, end));
}
