/**
 * The command that runs geoipmq as a child: `deno run` of `main.ts` with the flags of
 * `deno task start` (or another program, such as the binary `deno task compile` makes), in
 * the clean environment of {@linkcode childEnvironment}; and a started child whose stderr is
 * kept line by line.
 *
 * @module
 */

import { childEnvironment } from "./child_environment.ts";
import { startTaskPermissions } from "./start_task.ts";
import { textLines } from "./text_lines.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** How to run geoipmq. */
export interface CommandChoice {
  /**
   * Environment variables, on top of this process's own without its `GEOIPMQ_*` ones
   * (which would change the service's setup behind the caller's back).
   */
  env?: Record<string, string>;
  /** More `deno run` flags, after those of `deno task start`. */
  denoFlags?: string[];
  /** The working directory (default: this process's). */
  cwd?: string;
  /**
   * A program to run instead of `deno run … main.ts`, such as the binary `deno task
   * compile` makes; `denoFlags` do not apply to it.
   */
  executable?: string;
}

/** A child as started, before it is known to be ready. */
export interface StartedChild {
  /** The process. */
  child: Deno.ChildProcess;
  /** Its exit status, once it has exited and its stderr is read to the end. */
  exit: Promise<Deno.CommandStatus>;
  /** Every line it wrote to stderr so far. */
  log: string[];
  /** Called on each new stderr line and at the exit. */
  lineWaiters: Set<() => void>;
}

/**
 * The flags geoipmq runs with.
 *
 * @example
 * ```ts
 * import { serviceFlags } from "./service_command.ts";
 * console.log(serviceFlags().includes("--allow-ffi")); // true
 * ```
 *
 * @returns the `deno run` flags of `deno task start`, read from `deno.json`
 */
export function serviceFlags(): readonly string[] {
  return startTaskPermissions();
}

/**
 * `deno run` of main.ts with the flags of `deno task start`, in a clean environment.
 *
 * @example
 * ```ts
 * import { serviceCommand } from "./service_command.ts";
 * const { code } = await serviceCommand(["--version"], { stdout: "null" }).output();
 * console.log(code); // 0
 * ```
 *
 * @param args geoipmq's arguments
 * @param options how to run it, and the `Deno.Command` options (stdin is null by default)
 * @returns the command, not yet started
 */
export function serviceCommand(
  args: readonly string[],
  options: CommandChoice & Deno.CommandOptions,
): Deno.Command {
  const { denoFlags = [], env, executable, ...rest } = options;
  return new Deno.Command(executable ?? Deno.execPath(), {
    stdin: "null",
    ...rest,
    args: executable === undefined
      ? ["run", ...serviceFlags(), ...denoFlags, MAIN, ...args]
      : [...args],
    env: childEnvironment(env),
    clearEnv: true,
  });
}

/**
 * Starts geoipmq with its stdout thrown away and its stderr kept line by line.
 *
 * @param args geoipmq's arguments
 * @param options how to run it, and a signal that kills it (SIGKILL) when aborted
 * @returns the started child
 */
export function startChild(
  args: readonly string[],
  options: CommandChoice & { signal?: AbortSignal },
): StartedChild {
  const child = serviceCommand(args, {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.denoFlags === undefined ? {} : { denoFlags: options.denoFlags }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.executable === undefined ? {} : { executable: options.executable }),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  };
  options.signal?.addEventListener("abort", kill, { once: true });
  if (options.signal?.aborted) kill();
  const log: string[] = [];
  const lineWaiters = new Set<() => void>();
  const reading = (async () => {
    for await (const line of textLines(child.stderr)) {
      log.push(line);
      for (const wake of lineWaiters) wake();
    }
  })();
  const exit = child.status.then(async (status) => {
    options.signal?.removeEventListener("abort", kill);
    await reading.catch(() => {});
    for (const wake of lineWaiters) wake();
    return status;
  });
  return { child, exit, log, lineWaiters };
}
