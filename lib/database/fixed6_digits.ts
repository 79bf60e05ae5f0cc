/**
 * A number with six decimals, as C's `%f` writes it (`formatFixed6` in lib/protocol),
 * made as ASCII digits without a string: the coordinates of a `geoip` line.
 *
 * @module
 */

/**
 * Writes the digits of a rounded value times 10^6, with a sign and a decimal point. A
 * value whose scaled fraction lies near a half (where the double's product could round
 * the other way, and where C's ties to even apply), or that is too large for the product
 * to be exact enough, is left to `formatFixed6`.
 *
 * @example
 * ```ts
 * import { fixed6Digits } from "./fixed6_digits.ts";
 * const digits = new Uint8Array(32);
 * const length = fixed6Digits(-0.1593, digits);
 * console.log(new TextDecoder().decode(digits.subarray(0, length))); // "-0.159300"
 * console.log(fixed6Digits(0.0000005, digits)); // -1: a tie, for formatFixed6
 * ```
 *
 * @param value a finite number
 * @param into where the digits go (at least 24 bytes)
 * @returns how many bytes were written, or -1 when `formatFixed6` must write it
 */
export function fixed6Digits(value: number, into: Uint8Array): number {
  const magnitude = value < 0 ? -value : value;
  const scaled = magnitude * 1e6;
  const whole = Math.floor(scaled);
  const fraction = scaled - whole;
  if (!(magnitude < 1e6) || (fraction > 0.499 && fraction < 0.501)) return -1;
  const rounded = fraction > 0.5 ? whole + 1 : whole;
  let n = 0;
  if (value < 0 || Object.is(value, -0)) into[n++] = 0x2d;
  const units = Math.floor(rounded / 1e6);
  let micros = rounded - units * 1e6;
  let digits = 1;
  for (let v = units; v >= 10; v = Math.floor(v / 10)) digits++;
  n += digits;
  let at = n;
  let v = units;
  do {
    into[--at] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  into[n] = 0x2e;
  for (let i = 6; i > 0; i--) {
    into[n + i] = 0x30 + (micros % 10);
    micros = Math.floor(micros / 10);
  }
  return n + 7;
}
