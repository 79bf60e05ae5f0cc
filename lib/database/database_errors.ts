/**
 * The errors of opening and asking a database: a file that is not a usable database, and
 * an address of a family the database lacks.
 *
 * @module
 */

import { oneLine } from "../log/mod.ts";

/**
 * A database could not be opened, or failed its checks. Its message is one printable
 * line of at most 300 characters ({@linkcode oneLine}), whatever the file's name or
 * metadata hold.
 */
export class DatabaseError extends Error {
  /**
   * @param message what went wrong, naming the file
   * @param options the underlying error, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(oneLine(message), options);
    this.name = "DatabaseError";
  }
}

/** An IPv6 address was asked of an IPv4-only database: the client's mistake, not the file's. */
export class AddressFamilyError extends Error {
  /** @param message one line */
  constructor(message: string) {
    super(message);
    this.name = "AddressFamilyError";
  }
}
