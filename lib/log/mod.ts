/**
 * One line per event on stderr, for people or for machines; nothing per request.
 *
 * @module
 */

export { type LogFormat, Logger, type LogLevel } from "./logger.ts";
