/**
 * The one error a start-up fails with.
 *
 * @module
 */

import { oneLine } from "../log/mod.ts";

/**
 * A failure that stops the start-up, with a one-line message.
 *
 * @example
 * ```ts
 * import { StartupError } from "./startup_error.ts";
 * const error = new StartupError("Cannot open database \"x.mmdb\":\nnot a MaxMind DB file");
 * console.log(error.name, error.message.includes("\n")); // StartupError false
 * ```
 */
export class StartupError extends Error {
  /**
   * @param message one line saying what failed
   * @param options the underlying error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(oneLine(message), options);
    this.name = "StartupError";
  }
}
