/**
 * Runs geoipmq (`main.ts`) as a child process, with the flags of `deno task start`, and
 * knows it is ready by asking it: a `ping` over ZeroMQ answered `pong` (a REQ socket with a
 * short time-out, opened afresh each attempt: Lazy Pirate), or `GET /healthz` answered 200
 * when it serves HTTP on a known port. The tests and the soak start the service through
 * this one place.
 *
 * Endpoints the caller leaves open are chosen here: without `--bind` (or `GEOIPMQ_BIND`)
 * the service gets `--bind tcp://127.0.0.1:<free port>`, and the `*` of a `tcp://host:*`
 * bind becomes a free port, so {@linkcode ServiceProcess.endpoints} is known before the
 * service starts. Should another process take such a port in the meantime, the service is
 * started again on other ports, a bounded number of times.
 *
 * The command and its child are in `service_command.ts`, the endpoints decided before start
 * in `endpoint_plan.ts`, the readiness questions in `readiness_probe.ts`.
 *
 * @example
 * ```ts ignore
 * await using service = await spawnService(["--db", "city.mmdb", "--workers", "2"]);
 * console.log(service.endpoints); // ["tcp://127.0.0.1:41234"]
 * const status = await service.stop("SIGTERM");
 * ```
 *
 * @module
 */

import { childEnvironment } from "./child_environment.ts";
import type { CommandOutput } from "./command_output.ts";
import { planEndpoints } from "./endpoint_plan.ts";
import { type ServiceProbe, waitUntilReady } from "./readiness_probe.ts";
import {
  type CommandChoice,
  serviceCommand,
  startChild,
  type StartedChild,
} from "./service_command.ts";

/** How many times a service is started when a port chosen here was taken meanwhile. */
const PORT_ATTEMPTS = 4;
const DEFAULT_TIMEOUT_MS = 60_000;

/** Options for {@linkcode spawnService} and {@linkcode runToExit}. */
export interface SpawnOptions extends CommandChoice {
  /** How long to wait for readiness, in milliseconds (default 60 s: the bundled database takes seconds). */
  timeoutMs?: number;
  /** Where to ask; a string is a ZeroMQ endpoint. */
  probe?: string | ServiceProbe;
  /** Kills the service (SIGKILL) when aborted, while it starts or after. */
  signal?: AbortSignal;
}

/** What a finished run wrote: its exit code, stdout and stderr. */
export type ServiceOutput = CommandOutput;

/** A running service process. */
export class ServiceProcess implements AsyncDisposable {
  /** The endpoints it binds, as the service reports them (`*` ports already chosen). */
  readonly endpoints: readonly string[];
  /** Every line it wrote to stderr so far. */
  readonly log: string[];
  readonly #child: Deno.ChildProcess;
  readonly #exit: Promise<Deno.CommandStatus>;
  readonly #lineWaiters: Set<() => void>;

  /** @internal */
  constructor(started: StartedChild, endpoints: readonly string[]) {
    this.#child = started.child;
    this.#exit = started.exit;
    this.log = started.log;
    this.#lineWaiters = started.lineWaiters;
    this.endpoints = endpoints;
  }

  /** The first endpoint. */
  get endpoint(): string {
    const first = this.endpoints[0];
    if (first === undefined) throw new TypeError("The service binds no endpoint (--connect only)");
    return first;
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** The exit status, once the process has exited and its stderr is read to the end. */
  get exited(): Promise<Deno.CommandStatus> {
    return this.#exit;
  }

  /**
   * Sends a signal and waits for the process to exit.
   *
   * @param signal default `SIGTERM`
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

  /**
   * Waits until a stderr line matches.
   *
   * @param pattern what the line must match
   * @param timeoutMs how long to wait (default 10 s)
   * @returns the first matching line
   * @throws {Error} with the log when no line matched in time or the process exited first
   */
  async waitForLog(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const found = () => this.log.find((line) => pattern.test(line));
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    this.#exit.then(() => exited = true, () => exited = true);
    for (let line = found(); line === undefined; line = found()) {
      const left = deadline - Date.now();
      if (exited || left <= 0) {
        throw new Error(
          `No line matching ${pattern} from the service${exited ? " before it exited" : ""}:\n` +
            this.log.join("\n"),
        );
      }
      const next = Promise.withResolvers<void>();
      this.#lineWaiters.add(next.resolve);
      const timer = setTimeout(next.resolve, Math.min(left, 250));
      await next.promise;
      clearTimeout(timer);
      this.#lineWaiters.delete(next.resolve);
    }
    return found()!;
  }

  /** Kills the process (SIGKILL) and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }
}

/**
 * Starts geoipmq and waits until it answers.
 *
 * @param args the service's arguments (`--db`, `--bind`, `--workers`, …)
 * @param options environment, time limit, where to ask, more `deno run` flags
 * @returns the running, ready service
 * @throws {Error} with the service's stderr when it exits before it is ready, or when it
 *   does not answer in time (it is killed then)
 * @throws {TypeError} when it binds nothing and no probe is given
 */
export async function spawnService(
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<ServiceProcess> {
  for (let attempt = 1;; attempt++) {
    const plan = planEndpoints(args, childEnvironment(options.env));
    if (plan.connectOnly && options.probe === undefined && plan.healthz === undefined) {
      throw new TypeError(
        "Cannot ask a service started with --connect alone: give the broker's front end as probe",
      );
    }
    const probe = typeof options.probe === "string" ? {} : options.probe ?? {};
    if (plan.curve && probe.curve === undefined && plan.healthz === undefined) {
      throw new TypeError("Cannot ask a service that requires CURVE: give probe.curve keys");
    }
    const started = startChild(plan.args, { ...options, env: plan.env });
    const failure = await waitUntilReady(started.exit, {
      plan,
      probe: options.probe,
      deadline: Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    if (failure === undefined) return new ServiceProcess(started, plan.endpoints);
    try {
      started.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    const status = await started.exit;
    const clash = started.log.some((line) => /Address already in use/.test(line));
    if (plan.chosePorts && clash && attempt < PORT_ATTEMPTS) continue;
    // The wording is the one the tests have always parsed: "service exited with N before
    // ready:" and the log.
    const log = started.log.join("\n");
    throw new Error(
      failure === "exited"
        ? `service exited with ${status.code} before ready:\n${log}`
        : `service not ready after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms:\n${log}`,
    );
  }
}

/**
 * Runs geoipmq to its end: for `--help`, bad flags, start-up failures, subcommands.
 *
 * @example
 * ```ts
 * import { runToExit } from "./service_process.ts";
 * const { code, stdout } = await runToExit(["--help"]);
 * console.log(code, stdout.startsWith("Usage: geoipmq")); // 0 true
 * ```
 *
 * @param args the arguments, passed as they are
 * @param options environment, more `deno run` flags, working directory, another program,
 *   and a time limit after which the process gets `killWith` (default SIGKILL)
 * @returns exit code, stdout and stderr
 */
export async function runToExit(
  args: readonly string[],
  options: CommandChoice & {
    timeoutMs?: number;
    killWith?: Deno.Signal;
  } = {},
): Promise<ServiceOutput> {
  const { timeoutMs, killWith, ...rest } = options;
  const child = serviceCommand(args, { ...rest, stdout: "piped", stderr: "piped" }).spawn();
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    try {
      child.kill(killWith ?? "SIGKILL");
    } catch {
      // Already exited.
    }
  }, timeoutMs);
  try {
    const { code, stdout, stderr } = await child.output();
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code, stdout: text(stdout), stderr: text(stderr) };
  } finally {
    clearTimeout(timer);
  }
}
