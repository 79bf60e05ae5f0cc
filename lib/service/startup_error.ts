/**
 * The one error a start-up fails with.
 *
 * @module
 */

import { oneLine } from "../log/mod.ts";

/** A failure that stops the start-up, with a one-line message. */
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
