/**
 * The one error of the command line.
 *
 * @module
 */

/** A bad flag, variable or value: the caller prints the message and exits with code 2. */
export class UsageError extends Error {
  /**
   * Makes the error.
   *
   * @param message one line naming the bad flag or value
   * @param options the cause, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}
