/**
 * The servers the bench loads: geoipmq (through the project's one spawner), the C loop and
 * the Go peer, each a {@linkcode Server} whose pid, endpoints and memory the bench reads,
 * and a {@linkcode ProcessRegistry} that ends every one of them on any exit path.
 *
 * @module
 */

import { type ServiceProcess, spawnQuiet, spawnService } from "../../tooling/mod.ts";

const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 5_000;

/** A process the bench can end: a child it spawned, or a service the spawner started. */
interface Killable {
  readonly pid: number;
  kill(signal: Deno.Signal): void;
}

/**
 * What the bench started: processes and a temporary directory, ended and removed at once
 * by {@linkcode ProcessRegistry.killEverything} (signals, fatal errors).
 *
 * @example
 * ```ts
 * const registry = new ProcessRegistry();
 * registry.killEverything();
 * ```
 */
export class ProcessRegistry {
  /** The running processes. */
  readonly children: Set<Killable> = new Set();
  /** The temporary directory, if one was made. */
  tempDirectory: string | undefined;

  /** Ends everything at once; synchronous. */
  killEverything(): void {
    for (const child of this.children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
    }
    if (this.tempDirectory !== undefined) {
      try {
        Deno.removeSync(this.tempDirectory, { recursive: true });
      } catch {
        // Already gone.
      }
      this.tempDirectory = undefined;
    }
  }
}

/** Where a server listens, read from its ready line. */
export interface Listening {
  endpoint?: string;
  http?: string;
}

/**
 * A server process under test.
 *
 * @example
 * ```ts ignore
 * const server = await startGeoipmq(registry, { key: "geoipmq", label: "geoipmq", database, extra: [] });
 * console.log(server.endpoint, server.pid);
 * await server.stop();
 * ```
 */
export class Server {
  /** Short name in the tables. */
  readonly key: string;
  /** What it is, for the report. */
  readonly label: string;
  /** Its first ZeroMQ endpoint, if it speaks ZeroMQ. */
  readonly endpoint: string | undefined;
  /** Its HTTP base URL (`http://host:port`), if it speaks HTTP. */
  readonly http: string | undefined;
  /** The line it logged when ready. */
  readonly readyLine: string;
  readonly #child: Killable;
  readonly #status: Promise<Deno.CommandStatus>;
  #exited = false;

  private constructor(
    key: string,
    label: string,
    child: Killable,
    status: Promise<Deno.CommandStatus>,
    ready: Listening & { line: string },
  ) {
    this.key = key;
    this.label = label;
    this.#child = child;
    this.#status = status.then((s) => {
      this.#exited = true;
      return s;
    });
    this.endpoint = ready.endpoint;
    this.http = ready.http;
    this.readyLine = ready.line;
  }

  /**
   * Spawns a server and waits for the stderr line that says where it listens.
   *
   * @param registry where the process is tracked
   * @param spec what to run and how to read the ready line (null: not that line)
   * @returns the running server
   */
  static async start(registry: ProcessRegistry, spec: {
    key: string;
    label: string;
    command: string;
    args: string[];
    ready: (line: string) => Listening | null;
  }): Promise<Server> {
    const child = spawnQuiet(spec.command, spec.args);
    registry.children.add(child);
    const log: string[] = [];
    const ready = Promise.withResolvers<Listening & { line: string }>();
    const reading = (async () => {
      let pending = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          if (log.push(line) > 50) log.shift();
          const listening = spec.ready(line);
          if (listening !== null) ready.resolve({ ...listening, line });
        }
      }
    })();
    const status = child.status.then(async (status) => {
      registry.children.delete(child);
      await reading.catch(() => {});
      ready.reject(
        new Error(`${spec.label} exited with ${status.code} before ready:\n${log.join("\n")}`),
      );
      return status;
    });
    const timer = setTimeout(() => {
      ready.reject(new Error(`${spec.label} not ready after ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    try {
      return new Server(spec.key, spec.label, child, status, await ready.promise);
    } catch (error) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      await status;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Adopts a geoipmq that the shared spawner started (and found ready by asking it).
   *
   * @param registry where the process is tracked
   * @param spec the report's key and label, the running service, its HTTP base URL
   * @returns the server
   */
  static adopt(
    registry: ProcessRegistry,
    spec: { key: string; label: string; service: ServiceProcess; http?: string },
  ): Server {
    const { service } = spec;
    const child: Killable = {
      pid: service.pid,
      kill: (signal) => void service.stop(signal),
    };
    registry.children.add(child);
    const status = service.exited.then((status) => {
      registry.children.delete(child);
      return status;
    });
    const line = service.log.find((one) => one.includes("ready on")) ?? "ready";
    return new Server(spec.key, spec.label, child, status, {
      endpoint: service.endpoint,
      ...(spec.http === undefined ? {} : { http: spec.http }),
      line,
    });
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process has ended. */
  get exited(): boolean {
    return this.#exited;
  }

  /** @returns the resident memory in bytes (`VmRSS`), or null once it has exited */
  residentBytes(): number | null {
    try {
      const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
      const match = status.match(/^VmRSS:\s+(\d+) kB/m);
      return match ? Number(match[1]) * 1024 : null;
    } catch {
      return null;
    }
  }

  /** Stops it with SIGTERM, then SIGKILL after {@linkcode STOP_TIMEOUT_MS}. */
  async stop(): Promise<Deno.CommandStatus> {
    const signal = (name: Deno.Signal) => {
      try {
        this.#child.kill(name);
      } catch {
        // Already exited.
      }
    };
    signal("SIGTERM");
    const timer = setTimeout(() => signal("SIGKILL"), STOP_TIMEOUT_MS);
    try {
      return await this.#status;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The one place the bench starts geoipmq: through the shared spawner, which picks the
 * ports and asks the service whether it is ready. `--http 127.0.0.1:0` is given a free
 * port here, so the bench knows where HTTP listens.
 *
 * @param registry where the process is tracked
 * @param spec the report's key and label, the database and the extra flags
 * @returns the running server
 */
export async function startGeoipmq(
  registry: ProcessRegistry,
  spec: { key: string; label: string; database: string; extra: string[] },
): Promise<Server> {
  let http: string | undefined;
  const extra = spec.extra.map((flag) => {
    if (flag !== "127.0.0.1:0") return flag;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    http = `http://127.0.0.1:${port}`;
    return `127.0.0.1:${port}`;
  });
  const service = await spawnService(
    ["--db", spec.database, "--bind", "tcp://127.0.0.1:*", ...extra],
    { timeoutMs: START_TIMEOUT_MS },
  );
  try {
    // It answers before its ready line is read; the report reads that line.
    await service.waitForLog(/ready on/);
  } catch (error) {
    await service.stop("SIGKILL");
    throw error;
  }
  return Server.adopt(registry, {
    key: spec.key,
    label: spec.label,
    service,
    ...(http === undefined ? {} : { http }),
  });
}

/**
 * Starts the C loop on a database, on a free loopback port.
 *
 * @param registry where the process is tracked
 * @param spec the built binary and the database
 * @returns the running server
 */
export function startCLoop(
  registry: ProcessRegistry,
  spec: { binary: string; database: string },
): Promise<Server> {
  return Server.start(registry, {
    key: "C",
    label: "C loop: scripts/baselines/c_baseline/geoip_rep.c (cc -O2), one thread",
    command: spec.binary,
    args: ["tcp://127.0.0.1:*", spec.database],
    ready: (line) => {
      const match = line.match(/ready on (\S+)/);
      return match ? { endpoint: match[1]! } : null;
    },
  });
}

/**
 * Starts the Go peer on a database, on a free loopback port.
 *
 * @param registry where the process is tracked
 * @param spec the built binary and the database
 * @returns the running server
 */
export function startGoPeer(
  registry: ProcessRegistry,
  spec: { binary: string; database: string },
): Promise<Server> {
  return Server.start(registry, {
    key: "Go",
    label:
      "Go: scripts/baselines/go_baseline/geoip_http.go (net/http + maxminddb-golang, no cache)",
    command: spec.binary,
    args: ["127.0.0.1:0", spec.database],
    ready: (line) => {
      const match = line.match(/ready on (http:\/\/\S+)/);
      return match ? { http: match[1]! } : null;
    },
  });
}
