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
 * @example
 * ```ts ignore
 * await using service = await spawnService(["--db", "city.mmdb", "--workers", "2"]);
 * console.log(service.endpoints); // ["tcp://127.0.0.1:41234"]
 * const status = await service.stop("SIGTERM");
 * ```
 *
 * @module
 */

import { Libzmq, SocketBytesOption, SocketOption, SocketType, ZmqContext } from "../zmq/mod.ts";
import { bundledLibzmqPath } from "../zmq/mod.ts";
import { startTaskPermissions } from "./start_task.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** How long one readiness question may wait for its answer. */
const PROBE_TIMEOUT_MS = 250;
/** How many times a service is started when a port chosen here was taken meanwhile. */
const PORT_ATTEMPTS = 4;
const DEFAULT_TIMEOUT_MS = 60_000;

/** A client's CURVE keys, in Z85, for a service that requires CURVE. */
export interface ProbeCurveKeys {
  /** The service's public key. */
  serverKey: string;
  /** This client's public key (on the service's allow-list). */
  publicKey: string;
  /** This client's secret key. */
  secretKey: string;
}

/** Where and how to ask a service whether it is ready. */
export interface ServiceProbe {
  /**
   * The ZeroMQ endpoint to `ping` (default: the first endpoint bound); for an instance
   * started with `--connect` alone, the front end of the broker it connects to.
   */
  endpoint?: string;
  /** Client keys for a service that requires CURVE. */
  curve?: ProbeCurveKeys;
  /** The request to send (default `ping`). */
  request?: string;
  /**
   * Whether a reply means ready (default: it is `pong`). Behind a broker another instance
   * may answer: check something only this one says.
   */
  accept?: (reply: string) => boolean;
}

/** Options for {@linkcode spawnService} and {@linkcode runToExit}. */
export interface SpawnOptions {
  /**
   * Environment variables, on top of this process's own without its `GEOIPMQ_*` ones
   * (which would change the service's setup behind the caller's back).
   */
  env?: Record<string, string>;
  /** How long to wait for readiness, in milliseconds (default 60 s: the bundled database takes seconds). */
  timeoutMs?: number;
  /** Where to ask; a string is a ZeroMQ endpoint. */
  probe?: string | ServiceProbe;
  /** More `deno run` flags, after those of `deno task start`. */
  denoFlags?: string[];
  /** The working directory (default: this process's). */
  cwd?: string;
  /** Kills the service (SIGKILL) when aborted, while it starts or after. */
  signal?: AbortSignal;
  /**
   * A program to run instead of `deno run … main.ts`, such as the binary `deno task
   * compile` makes; `denoFlags` do not apply to it.
   */
  executable?: string;
}

/** What a finished run wrote. */
export interface ServiceOutput {
  /** The exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

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

/** A child as started, before it is known to be ready. */
interface StartedChild {
  child: Deno.ChildProcess;
  exit: Promise<Deno.CommandStatus>;
  log: string[];
  lineWaiters: Set<() => void>;
}

/** The service's arguments with every endpoint it will bind decided. */
interface Plan {
  args: string[];
  env: Record<string, string>;
  /** What the service will report as its endpoints. */
  endpoints: string[];
  /** Whether a port was chosen here (so a clash is worth a retry). */
  chosePorts: boolean;
  /** A `GET /healthz` URL when the service serves HTTP on a known port. */
  healthz: string | undefined;
  /** Only `--connect`: nothing bound to ask. */
  connectOnly: boolean;
  /** CURVE is on: a client needs keys on the allow-list. */
  curve: boolean;
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
    const failure = await waitUntilReady(started, plan, options);
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
  options: Pick<SpawnOptions, "env" | "denoFlags" | "cwd" | "executable"> & {
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

/** `deno run` of main.ts with the flags of `deno task start`, in a clean environment. */
function serviceCommand(
  args: readonly string[],
  options: Pick<SpawnOptions, "env" | "denoFlags" | "cwd" | "executable"> & Deno.CommandOptions,
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

/** @returns the `deno run` flags of `deno task start`, read from `deno.json` */
export function serviceFlags(): readonly string[] {
  return startTaskPermissions();
}

/** @returns this process's environment without `GEOIPMQ_*`, and `extra` on top */
function childEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const own = Object.entries(Deno.env.toObject()).filter(([name]) => !name.startsWith("GEOIPMQ_"));
  return { ...Object.fromEntries(own), ...extra };
}

/** The values of a repeatable flag, in `--flag value` and `--flag=value` forms. */
function flagValues(args: readonly string[], flag: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === flag && i + 1 < args.length) values.push(args[++i]!);
    else if (arg.startsWith(`${flag}=`)) values.push(arg.slice(flag.length + 1));
  }
  return values;
}

/** @returns a TCP port nobody listens on at this moment, on `hostname` */
function freePort(hostname: string): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** `tcp://host:*` with a free port; anything else as it is. */
function choosePort(endpoint: string): { endpoint: string; chosen: boolean } {
  const match = endpoint.match(/^tcp:\/\/(.+):\*$/);
  if (match === null) return { endpoint, chosen: false };
  const host = match[1]!;
  const listenOn = host === "*" ? "0.0.0.0" : host.replace(/^\[(.*)\]$/, "$1");
  const reported = host === "*" ? "0.0.0.0" : host;
  return { endpoint: `tcp://${reported}:${freePort(listenOn)}`, chosen: true };
}

/** Where a client on this machine reaches a bound endpoint. */
function reachable(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/(0\.0\.0\.0|\*):/, "tcp://127.0.0.1:")
    .replace(/^tcp:\/\/\[::\]:/, "tcp://[::1]:");
}

/** Decides the endpoints the caller left open, in the arguments or in `GEOIPMQ_BIND`. */
function planEndpoints(given: readonly string[], env: Record<string, string>): Plan {
  const args = [...given];
  let chosePorts = false;
  const resolve = (endpoint: string) => {
    const { endpoint: resolved, chosen } = choosePort(endpoint);
    chosePorts ||= chosen;
    return resolved;
  };
  const connects = flagValues(args, "--connect").length > 0 ||
    (env.GEOIPMQ_CONNECT ?? "").trim() !== "";
  let endpoints: string[];
  if (flagValues(args, "--bind").length > 0) {
    endpoints = [];
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      if (arg === "--bind" && i + 1 < args.length) {
        args[i + 1] = resolve(args[i + 1]!);
        endpoints.push(args[++i]!);
      } else if (arg.startsWith("--bind=")) {
        args[i] = `--bind=${resolve(arg.slice("--bind=".length))}`;
        endpoints.push(args[i]!.slice("--bind=".length));
      }
    }
  } else if ((env.GEOIPMQ_BIND ?? "").trim() !== "") {
    endpoints = env.GEOIPMQ_BIND!.split(",").map((e) => e.trim()).filter((e) => e !== "")
      .map(resolve);
    env = { ...env, GEOIPMQ_BIND: endpoints.join(",") };
  } else if (connects) {
    endpoints = [];
  } else {
    endpoints = [resolve("tcp://127.0.0.1:*")];
    args.unshift("--bind", endpoints[0]!);
  }
  const http = flagValues(args, "--http").at(-1) ?? env.GEOIPMQ_HTTP;
  const httpMatch = http?.match(/^(.*):(\d+)$/);
  let healthz: string | undefined;
  // Over HTTPS the probe would need the service's certificate: ask over ZeroMQ instead.
  const tls = flagValues(args, "--http-tls-cert").length > 0 ||
    (env.GEOIPMQ_HTTP_TLS_CERT ?? "") !== "";
  if (httpMatch && httpMatch[2] !== "0" && !tls) {
    const host = ["", "0.0.0.0", "*"].includes(httpMatch[1]!) ? "127.0.0.1" : httpMatch[1]!;
    healthz = `http://${host}:${httpMatch[2]}/healthz`;
  }
  const curve = flagValues(args, "--curve-secret-key-file").length > 0 ||
    (env.GEOIPMQ_CURVE_SECRET_KEY_FILE ?? "") !== "";
  return {
    args,
    env,
    endpoints,
    chosePorts,
    healthz,
    connectOnly: endpoints.length === 0,
    curve,
  };
}

function startChild(args: string[], options: SpawnOptions): StartedChild {
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
  const reading = readLines(child.stderr, (line) => {
    log.push(line);
    for (const wake of lineWaiters) wake();
  });
  const exit = child.status.then(async (status) => {
    options.signal?.removeEventListener("abort", kill);
    await reading.catch(() => {});
    for (const wake of lineWaiters) wake();
    return status;
  });
  return { child, exit, log, lineWaiters };
}

/** Calls `onLine` with each line of a stream. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) onLine(line);
  }
  if (pending !== "") onLine(pending);
}

/** Asks until the service answers; `undefined` when ready, else why not. */
async function waitUntilReady(
  started: StartedChild,
  plan: Plan,
  options: SpawnOptions,
): Promise<"exited" | "timeout" | undefined> {
  let exited = false;
  started.exit.then(() => exited = true);
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const probe: ServiceProbe = typeof options.probe === "string"
    ? { endpoint: options.probe }
    : options.probe ?? {};
  const ask = probe.endpoint === undefined && plan.healthz !== undefined
    ? httpAsker(plan.healthz)
    : zmqAsker(probe, plan);
  try {
    while (!exited) {
      if (Date.now() >= deadline) return "timeout";
      const attemptStarted = Date.now();
      if (await ask.ready()) return exited ? "exited" : undefined;
      // A refused connection fails at once: pace the questions.
      const spent = Date.now() - attemptStarted;
      if (spent < 50) await new Promise((resolve) => setTimeout(resolve, 50 - spent));
    }
    return "exited";
  } finally {
    await ask.close();
  }
}

interface Asker {
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Lazy Pirate over a REQ socket: send, wait up to {@linkcode PROBE_TIMEOUT_MS} for the
 * reply without blocking this thread, and on silence close the socket and open a new one.
 */
function zmqAsker(probe: ServiceProbe, plan: Plan): Asker {
  const endpoint = probe.endpoint ?? reachable(plan.endpoints[0]!);
  const lib = Libzmq.open(bundledLibzmqPath());
  const context = ZmqContext.create(lib);
  const accept = probe.accept ?? ((reply: string) => reply === "pong");
  const decoder = new TextDecoder();
  const curve = probe.curve === undefined ? [] : [
    [SocketBytesOption.CURVE_SERVERKEY, probe.curve.serverKey],
    [SocketBytesOption.CURVE_PUBLICKEY, probe.curve.publicKey],
    [SocketBytesOption.CURVE_SECRETKEY, probe.curve.secretKey],
  ] as const;
  const open = () => {
    const socket = context.socket(SocketType.REQ);
    socket.setOption(SocketOption.LINGER, 0);
    socket.setOption(SocketOption.IPV6, 1);
    for (const [option, key] of curve) socket.setBytesOption(option, key);
    socket.connect(endpoint);
    return socket;
  };
  return {
    async ready() {
      const socket = open();
      try {
        if (!socket.send(probe.request ?? "ping", { dontWait: true })) return false;
        const deadline = Date.now() + PROBE_TIMEOUT_MS;
        while (Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          const frames = socket.receive({ dontWait: true });
          if (frames !== null) return accept(decoder.decode(frames[0]));
        }
        return false;
      } finally {
        socket.close();
      }
    },
    async close() {
      await context.terminate();
      lib.close();
    },
  };
}

function httpAsker(url: string): Asker {
  return {
    async ready() {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        await response.body?.cancel();
        return response.status === 200;
      } catch {
        return false;
      }
    },
    close: () => Promise.resolve(),
  };
}
