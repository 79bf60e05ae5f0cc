/**
 * Runs a program to its end and hands back what it wrote, as text.
 *
 * @module
 */

/** What a finished program wrote. */
export interface CommandOutput {
  /** The exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/**
 * Runs a program to its end, with no stdin unless the options give one.
 *
 * @example
 * ```ts
 * import { commandOutput } from "./command_output.ts";
 * const { code, stdout } = await commandOutput(Deno.execPath(), { args: ["--version"] });
 * console.log(code, stdout.startsWith("deno ")); // 0 true
 * ```
 *
 * @param program the program
 * @param options `Deno.Command` options: arguments, environment, working directory
 * @returns the exit code, and stdout and stderr decoded
 * @throws {Deno.errors.NotFound} when there is no such program
 */
export async function commandOutput(
  program: string,
  options: Deno.CommandOptions = {},
): Promise<CommandOutput> {
  const output = await new Deno.Command(program, { stdin: "null", ...options }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
