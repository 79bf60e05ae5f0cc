/**
 * Makes any text safe to print as one line of a log or an error: a crafted database can
 * carry terminal escape sequences and kilobytes of text in its metadata, and a file name
 * can hold a line break.
 *
 * @module
 */

/** The longest line (in UTF-16 code units) {@linkcode oneLine} returns by default. */
export const MAX_LINE_CHARS = 300;

/** What ends a cut line. */
const ELLIPSIS = "…";

/** Line breaks, folded into one space: CR, LF, VT, FF, NEL, LS and PS. */
const LINE_BREAKS = /[\r\n\v\f\u0085\u2028\u2029]+/g;

/** C0 controls, DEL and C1 controls: written as `\u00XX`. */
// deno-lint-ignore no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Turns text into one printable line: line breaks become a space, every other C0 or C1
 * control character and DEL is written as `\u00XX` (so ESC is `\u001b` and cannot start
 * a terminal escape sequence), and text longer than `max` is cut and ends with `…`. An
 * escape is never cut in two, nor is a surrogate pair.
 *
 * @example
 * ```ts
 * import { oneLine } from "./one_line.ts";
 * console.log(oneLine("bad\ntype \x1b[31mred")); // "bad type \\u001b[31mred"
 * console.log(oneLine("x".repeat(500), 10)); // "xxxxxxxxx…"
 * ```
 *
 * @param text any text
 * @param max the most characters (UTF-16 code units) to return; at least 1
 * @returns the text as one line of at most `max` characters
 */
export function oneLine(text: string, max: number = MAX_LINE_CHARS): string {
  const line = text.replace(LINE_BREAKS, " ").replace(
    CONTROLS,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  if (line.length <= max) return line;
  let end = Math.max(0, max - ELLIPSIS.length);
  // Step back out of an escape written above (`\u00XX` is six characters).
  const escape = line.lastIndexOf("\\u00", end);
  if (
    escape !== -1 && escape > end - 6 && /^\\u00[0-9a-f]{2}$/.test(line.slice(escape, escape + 6))
  ) {
    end = escape;
  }
  // Do not split a surrogate pair.
  const last = line.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return line.slice(0, end) + ELLIPSIS;
}
