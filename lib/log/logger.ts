/**
 * One line per event on stderr: `geoipmq: <message>` for people and journald, or one
 * JSON object per line for machines. Nothing is logged per request.
 *
 * @module
 */

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
   * @param message one line for people
   * @param fields extra facts for the JSON form
   */
  log(level: LogLevel, event: string, message: string, fields: Record<string, unknown> = {}) {
    const line = message.replace(/[\r\n]+/g, " ");
    if (this.#format === "json") {
      const time = new Date().toISOString();
      this.#write(JSON.stringify({ time, level, event, message: line, ...fields }));
    } else {
      const prefix = level === "info" ? "" : `${level}: `;
      this.#write(`geoipmq: ${prefix}${line}`);
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
