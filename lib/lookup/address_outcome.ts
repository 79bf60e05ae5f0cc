/**
 * How the addresses of a request fare, counted in one place: found, not found, invalid
 * (not an address, or of a family the database lacks) or failed (a corrupt record), and
 * the reason of the last failure, in the words every reply format uses.
 *
 * @module
 */

import { AddressFamilyError } from "../database/mod.ts";
import { quoteValue } from "../protocol/mod.ts";
import type { AddressResult, ResponseTally } from "./responder_options.ts";

/**
 * The tally of a request's addresses and how the last one fared.
 *
 * @example
 * ```ts
 * import { AddressOutcome } from "./address_outcome.ts";
 * const tally = { verb: "geoip", outcome: "ok", found: 0, notFound: 0, invalid: 0, error: 0 } as const;
 * const outcome = new AddressOutcome({ ...tally });
 * console.log(outcome.invalid("1.2.3")); // 'invalid IP address "1.2.3"'
 * console.log(outcome.result, outcome.tally.invalid); // "invalid" 1
 * ```
 */
export class AddressOutcome {
  /** The counts of the request in hand. */
  readonly tally: ResponseTally;
  /** How the last address fared. */
  result: AddressResult = "found";
  /** Why the last address failed. */
  reason = "";

  /** @param tally the counts to add to (reset by the responder per request) */
  constructor(tally: ResponseTally) {
    this.tally = tally;
  }

  /** Counts an address with a record. */
  found(): void {
    this.tally.found++;
    this.result = "found";
  }

  /** Counts an address without one. */
  notFound(): void {
    this.tally.notFound++;
    this.result = "not_found";
  }

  /**
   * Counts an address that is not one.
   *
   * @param text the address as sent (quoted in the reason)
   * @returns the reason
   */
  invalid(text: string): string {
    return this.failed("invalid", `invalid IP address ${quoteValue(text)}`);
  }

  /**
   * Counts an address whose lookup threw: of a family the database lacks (invalid), or a
   * database error.
   *
   * @param error what the lookup threw
   * @param text the address as sent
   * @returns the reason
   */
  lookupFailed(error: unknown, text: string): string {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof AddressFamilyError) {
      return this.failed("invalid", `${reason}: ${quoteValue(text)}`);
    }
    return this.failed("error", `database error for ${quoteValue(text)}: ${reason}`);
  }

  /**
   * Counts a failed address.
   *
   * @param result invalid or error
   * @param reason why, one line
   * @returns the reason
   */
  failed(result: "invalid" | "error", reason: string): string {
    if (result === "invalid") this.tally.invalid++;
    else this.tally.error++;
    this.result = result;
    this.reason = reason;
    return reason;
  }
}
