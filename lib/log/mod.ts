/**
 * One line per event on stderr, for people or for machines; nothing per request. Every
 * message, and every error that quotes a file or a database's metadata, is made one
 * printable line of bounded length by {@linkcode oneLine}.
 *
 * @example
 * ```ts
 * import { oneLine } from "./mod.ts";
 * console.log(oneLine('database_type "\x1b]0;owned\x07"')); // 'database_type "\\u001b]0;owned\\u0007"'
 * ```
 *
 * @module
 */

export { type LogFormat, Logger, type LogLevel } from "./logger.ts";
export { MAX_LINE_CHARS, oneLine } from "./one_line.ts";
