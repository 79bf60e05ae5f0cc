/**
 * The check of a refused command line: a {@linkcode UsageError} whose message matches.
 *
 * @module
 */

import assert from "node:assert/strict";
import { UsageError } from "../../lib/cli/mod.ts";

/**
 * Asserts that `run` throws a `UsageError` whose message matches `pattern`.
 *
 * @param run what should throw
 * @param pattern what the message must match
 */
export function assertUsageError(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.match(error.message, pattern);
    return true;
  });
}
