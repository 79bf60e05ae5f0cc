/**
 * Runs `main.ts` as a real child process for tests: waits for its "ready" line, reads
 * the endpoints it bound, and stops it with a signal.
 *
 * @module
 */

import { startTaskPermissions } from "../../scripts/compile.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** The flags the service runs with: those of `deno task start`, read from `deno.json`. */
export const SERVICE_PERMISSIONS: readonly string[] = startTaskPermissions();

/** Options for {@linkcode startService}. */
export interface StartServiceOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** How long to wait for the ready line (default 60 s: the bundled database is 66 MB). */
  timeoutMs?: number;
}

/** A running service process. */
export class ServiceProcess implements AsyncDisposable {
  /** The endpoints from the ready line. */
  readonly endpoints: string[];
  /** Every line the service wrote to stderr so far. */
  readonly log: string[];
  readonly #child: Deno.ChildProcess;
  readonly #exit: Promise<Deno.CommandStatus>;

  /** @internal */
  constructor(
    child: Deno.ChildProcess,
    exit: Promise<Deno.CommandStatus>,
    endpoints: string[],
    log: string[],
  ) {
    this.#child = child;
    this.#exit = exit;
    this.endpoints = endpoints;
    this.log = log;
  }

  /** The first endpoint. */
  get endpoint(): string {
    return this.endpoints[0]!;
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Sends a signal and waits for the process to exit.
   *
   * @param signal default SIGTERM
   * @returns the exit status
   */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
    return await this.#exit;
  }

  /** The exit status, once the process has exited. */
  get exited(): Promise<Deno.CommandStatus> {
    return this.#exit;
  }

  /** Stops the process. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }
}

/**
 * Collects a child's stderr lines into `log`, resolving `ready` with the endpoints of the
 * ready line.
 */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  log: string[],
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      log.push(line);
      onLine(line);
    }
  }
  if (pending !== "") {
    log.push(pending);
    onLine(pending);
  }
}

/**
 * Starts `main.ts` with arguments and waits until it logs that it is ready.
 *
 * @param args the service's command-line arguments
 * @param options environment and time limit
 * @returns the running process
 * @throws {Error} with the service's output when it exits or times out before ready
 */
export async function startService(
  args: string[],
  options: StartServiceOptions = {},
): Promise<ServiceProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVICE_PERMISSIONS, MAIN, ...args],
    env: options.env ?? {},
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const ready = Promise.withResolvers<string[]>();
  const reading = readLines(child.stderr, log, (line) => {
    const match = line.match(/ready on (.+?) with \d+ workers?/);
    if (match) ready.resolve(match[1]!.split(", "));
  });
  const exit = child.status.then(async (status) => {
    await reading;
    ready.reject(new Error(`service exited with ${status.code} before ready:\n${log.join("\n")}`));
    return status;
  });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const timer = setTimeout(() => {
    ready.reject(new Error(`service not ready after ${timeoutMs} ms:\n${log.join("\n")}`));
  }, timeoutMs);
  try {
    const endpoints = await ready.promise;
    return new ServiceProcess(child, exit, endpoints, log);
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await exit;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `main.ts` to completion (for flag errors, `--help`, start-up failures).
 *
 * @param args the service's command-line arguments
 * @param env extra environment variables
 * @returns exit code, stdout and stderr
 */
export async function runService(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVICE_PERMISSIONS, MAIN, ...args],
    env,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
