/**
 * Tests that need a tool which may be absent (Debian's libmaxminddb readers, pyzmq, the
 * system libzmq) skip loudly where it is missing, and fail instead when
 * `GEOIPMQ_REQUIRE_TOOLS=1`, as CI sets it, so nothing is skipped there.
 *
 * @module
 */

/**
 * Reports a missing tool.
 *
 * @param what the tool, and how to install it
 * @returns true when the caller should skip (the tool is missing and not required)
 * @throws {Error} when `GEOIPMQ_REQUIRE_TOOLS=1`
 */
export function skipForMissingTool(what: string): boolean {
  if (Deno.env.get("GEOIPMQ_REQUIRE_TOOLS") === "1") {
    throw new Error(`Required tool missing: ${what} (GEOIPMQ_REQUIRE_TOOLS=1)`);
  }
  console.warn(`\n!!! SKIPPED: ${what} is missing !!!\n`);
  return true;
}

/**
 * Whether a command runs and exits 0.
 *
 * @param command the program
 * @param args its arguments
 * @returns true when it ran and succeeded
 */
export async function commandWorks(command: string, args: string[]): Promise<boolean> {
  try {
    const output = await new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .output();
    return output.success;
  } catch {
    return false;
  }
}
