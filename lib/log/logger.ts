/**
 * One line per event on stderr: `geoipmq: <message>` for people and journald, or one
 * JSON object per line for machines. Nothing is logged per request. Every message is
 * made one line of at most {@linkcode MAX_LINE_CHARS} characters by {@linkcode oneLine},
 * whatever file or metadata it quotes.
 *
 * @module
 */

import { MAX_LINE_CHARS, oneLine } from "./one_line.ts";

/** How log lines are written. */
export type LogFormat = "text" | "json";

/** Severity of an event. */
export type LogLevel = "info" | "warn" | "error";

/**
 * Writes events as single lines.
 *
 * @example
 * ```ts
 * import { Logger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = new Logger({ format: "text", write: (line) => lines.push(line) });
 * log.info("ready", "ready on tcp://127.0.0.1:5555");
 * console.log(lines[0]); // "geoipmq: ready on tcp://127.0.0.1:5555"
 * ```
 */
export class Logger {
  readonly #format: LogFormat;
  readonly #write: (line: string) => void;

  /**
   * @param options the format, and where lines go (default: stderr)
   */
  constructor(options: { format?: LogFormat; write?: (line: string) => void } = {}) {
    this.#format = options.format ?? "text";
    this.#write = options.write ?? writeStderr;
  }

  /**
   * Logs an event.
   *
   * @param level its severity
   * @param event a short machine name, e.g. `ready`
   * @param message one line for people; control characters are escaped, line breaks
   *   folded, and a long message is cut (the text line, prefix included, or the JSON
   *   `message`, is at most {@linkcode MAX_LINE_CHARS} characters)
   * @param fields extra facts for the JSON form; string values are made one line too
   */
  log(level: LogLevel, event: string, message: string, fields: Record<string, unknown> = {}) {
    if (this.#format === "json") {
      const time = new Date().toISOString();
      const safe = Object.fromEntries(
        Object.entries(fields).map(([key, value]) => [
          key,
          typeof value === "string" ? oneLine(value) : value,
        ]),
      );
      this.#write(JSON.stringify({ time, level, event, message: oneLine(message), ...safe }));
    } else {
      const prefix = `geoipmq: ${level === "info" ? "" : `${level}: `}`;
      this.#write(prefix + oneLine(message, MAX_LINE_CHARS - prefix.length));
    }
  }

  /** Logs an `info` event; see {@linkcode Logger.log}. */
  info(event: string, message: string, fields?: Record<string, unknown>): void {
    this.log("info", event, message, fields);
  }

  /** Logs a `warn` event; see {@linkcode Logger.log}. */
  warn(event: string, message: string, fields?: Record<string, unknown>): void {
    this.log("warn", event, message, fields);
  }

  /** Logs an `error` event; see {@linkcode Logger.log}. */
  error(event: string, message: string, fields?: Record<string, unknown>): void {
    this.log("error", event, message, fields);
  }
}

const stderrEncoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(stderrEncoder.encode(line + "\n"));
}
