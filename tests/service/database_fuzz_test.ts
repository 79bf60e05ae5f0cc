/**
 * Fuzzing of databases: seeded mutants of small fixture databases (bytes set to random
 * values in the search tree, the data section and the metadata; truncations; zeroed,
 * filled and copied ranges) are opened and asked about a set of addresses in a Worker
 * that is ended if a mutant hangs; then some of them are served by the real service.
 *
 * The normal run uses a fixed seed; `deno task fuzz` sets `GEOIPMQ_FUZZ_SEED=random` and
 * `GEOIPMQ_FUZZ_SCALE=10` (see tests/support/fuzz_random.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseError, GeoDatabase } from "../../lib/database/mod.ts";
import { GeoipResponder } from "../../lib/lookup/mod.ts";
import {
  cityFixture,
  LONDON,
  openFixture,
  withTempFile,
  writeTempFile,
} from "../support/fixtures.ts";
import { parseIpAddress } from "../../lib/protocol/mod.ts";
import { buildMmdb, bytes } from "../../tooling/mod.ts";
import { FUZZ_LIMITS, randomValidAddress } from "../support/fuzz_inputs.ts";
import { caseSeed, fuzzSettings, Random, scaled } from "../support/fuzz_random.ts";
import { makeMutant, type MutantBase, mutantBases } from "../support/mmdb_mutants.ts";
import type { MutantJob, MutantReport } from "../support/mutant_worker.ts";
import { replyProblem } from "../support/reply_shape.ts";
import { runToExit, startOnDatabase, startService } from "../support/service_process.ts";
import { receiveWithin, SocketType, TestClient } from "../support/test_client.ts";

const settings = fuzzSettings("database_fuzz_test");
/** The longest one request may take on a small database. */
const SLOW_MS = 1000;
/** How long the worker may take for one mutant before it is taken to hang. */
const HANG_MS = 15_000;
const FIXED_ADDRESSES = [
  "81.2.69.160",
  "81.2.69.191",
  "2001:db8::1",
  "8.8.8.8",
  "::",
  "255.255.255.255",
  "0.0.0.0",
  "::ffff:81.2.69.161",
  "1.2.3.4",
  "203.0.113.9",
  "192.0.2.1",
  "100.64.0.1",
  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
];

/** One mutant's identity: enough to make it again. */
interface MutantId {
  index: number;
  seed: number;
  base: MutantBase;
  description: string;
  bytes: Uint8Array<ArrayBuffer>;
}

function mutantAt(bases: MutantBase[], index: number): MutantId {
  const seed = caseSeed(settings.seed, index);
  const base = bases[index % bases.length]!;
  const { bytes, description } = makeMutant(base, seed);
  return { index, seed, base, description, bytes };
}

function describe(mutant: MutantId): string {
  return `mutant #${mutant.index} (seed ${mutant.seed}, run seed ${settings.seed}) of ` +
    `${mutant.base.name}, ${mutant.description}`;
}

function addressesFor(mutant: MutantId): string[] {
  const random = new Random(mutant.seed ^ 0x5a5a5a5a);
  const extra = Array.from({ length: 6 }, () => randomValidAddress(random));
  return [...FIXED_ADDRESSES, ...extra];
}

/** A worker that runs {@linkcode MutantJob}s one at a time, replaced when it hangs. */
class MutantRunner {
  #worker: Worker | undefined;

  async run(job: MutantJob, timeoutMs: number): Promise<MutantReport | "hang" | Error> {
    this.#worker ??= new Worker(new URL("../support/mutant_worker.ts", import.meta.url), {
      type: "module",
    });
    const worker = this.#worker;
    const done = Promise.withResolvers<MutantReport | "hang" | Error>();
    worker.onmessage = (event: MessageEvent<MutantReport>) => done.resolve(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      done.resolve(new Error(`the worker failed: ${event.message}`));
    };
    const timer = setTimeout(() => done.resolve("hang"), timeoutMs);
    worker.postMessage(job, [job.bytes.buffer]);
    try {
      const result = await done.promise;
      if (result === "hang" || result instanceof Error) this.close();
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}

/** What the in-process run found, for the service run. */
const outcomes: { mutant: MutantId; report: MutantReport }[] = [];

/** What {@linkcode fuzzMutants} found. */
interface FuzzSummary {
  problems: string[];
  refusals: Map<string, number>;
  errorKinds: Map<string, number>;
  slowestMs: number;
  requests: number;
  bug3Met: number;
  elapsedMs: number;
}

/**
 * Opens `count` mutants in a Worker and asks each one that opens about the addresses;
 * fills {@linkcode outcomes}.
 */
async function fuzzMutants(count: number): Promise<FuzzSummary> {
  const bases = mutantBases();
  const runner = new MutantRunner();
  const summary: FuzzSummary = {
    problems: [],
    refusals: new Map(),
    errorKinds: new Map(),
    slowestMs: 0,
    requests: 0,
    bug3Met: 0,
    elapsedMs: 0,
  };
  const { problems } = summary;
  const started = performance.now();
  outcomes.length = 0;
  try {
    // The intact bases first: they must open and answer.
    for (const base of bases) {
      const report = await runner.run({
        index: -1,
        bytes: new Uint8Array(base.bytes),
        addresses: FIXED_ADDRESSES,
        limits: FUZZ_LIMITS,
        slowMs: SLOW_MS,
      }, HANG_MS);
      assert.ok(typeof report === "object" && !(report instanceof Error), String(report));
      assert.ok(report.opened, `${base.name} opens: ${report.refusal}`);
      assert.deepEqual(report.problems, [], base.name);
    }
    for (let index = 0; index < count && problems.length < 10; index++) {
      const mutant = mutantAt(bases, index);
      const job: MutantJob = {
        index,
        bytes: new Uint8Array(mutant.bytes),
        addresses: addressesFor(mutant),
        limits: FUZZ_LIMITS,
        slowMs: SLOW_MS,
      };
      const report = await runner.run(job, HANG_MS);
      if (report === "hang") {
        problems.push(`${describe(mutant)}: no answer in ${HANG_MS} ms (a decode loop?)`);
        continue;
      }
      if (report instanceof Error) {
        problems.push(`${describe(mutant)}: ${report.message}`);
        continue;
      }
      for (const problem of report.problems) problems.push(`${describe(mutant)}: ${problem}`);
      if (report.refusal !== undefined) {
        const reason = report.refusal.replace(/\d+/g, "N");
        summary.refusals.set(reason, (summary.refusals.get(reason) ?? 0) + 1);
      }
      for (const kind of report.errorKinds) {
        summary.errorKinds.set(kind, (summary.errorKinds.get(kind) ?? 0) + 1);
      }
      summary.bug3Met += report.bug3;
      summary.slowestMs = Math.max(summary.slowestMs, report.slowestMs);
      summary.requests += report.requests;
      outcomes.push({ mutant, report });
    }
  } finally {
    runner.close();
  }
  summary.elapsedMs = performance.now() - started;
  return summary;
}

Deno.test("mutated databases are refused with one line, or answer every request", async () => {
  const summary = await fuzzMutants(scaled(1000, settings));
  const opened = outcomes.filter((o) => o.report.opened).length;
  console.log(
    `database fuzz: ${outcomes.length} mutants in ${summary.elapsedMs.toFixed(0)} ms: ` +
      `${opened} opened (${summary.requests} requests, slowest ` +
      `${summary.slowestMs.toFixed(1)} ms), ${outcomes.length - opened} refused`,
  );
  if (settings.scale !== 1) {
    console.log("refusals:", Object.fromEntries(summary.refusals));
    console.log("errors in replies:", Object.fromEntries(summary.errorKinds));
  }
  assert.equal(summary.bug3Met, 0, "a corrupt record was reported as a bad address");
  assert.deepEqual(summary.problems, []);
  assert.ok(opened > 0 && opened < outcomes.length, "some mutants open, some are refused");
});

let bug2Met = 0;
/** How the service runs ended. */
const serviceRuns = { served: 0, refused: 0 };

/** Whether `info` failed on the mutant's build time (refused at open since the fix). */
function hasBadBuildEpoch(report: MutantReport): boolean {
  return report.infoError?.endsWith("Invalid time value") === true;
}

/** Picks mutants for the service: opened ones first (those with odd info first), then refused. */
function pickForService(total: number): { mutant: MutantId; report: MutantReport }[] {
  const opened = outcomes.filter((o) => o.report.opened);
  const oddInfo = opened.filter((o) => !o.report.infoOk);
  const rest = opened.filter((o) => o.report.infoOk);
  const refused = outcomes.filter((o) => !o.report.opened);
  const chosen = [...oddInfo, ...rest].slice(0, Math.ceil(total / 2));
  return [...chosen, ...refused.slice(0, total - chosen.length)].slice(0, total);
}

Deno.test("the service refuses a mutated database with exit 1 and one line, or serves it", async () => {
  if (outcomes.length === 0) {
    // Run on its own (--filter): find which mutants open first.
    assert.deepEqual((await fuzzMutants(scaled(1000, settings))).problems, []);
  }
  const chosen = pickForService(scaled(20, settings));
  const problems: string[] = [];
  await using client = new TestClient();
  for (const { mutant, report } of chosen) {
    await withTempFile(mutant.bytes, async (path) => {
      const problem = await serveMutant(client, path, report.opened, hasBadBuildEpoch(report));
      if (problem !== undefined) problems.push(`${describe(mutant)}: ${problem}`);
    });
  }
  console.log(
    `database fuzz: ${chosen.length} mutants through the service: ${serviceRuns.served} ` +
      `served, ${serviceRuns.refused} refused, ${bug2Met} refused by BUG 2 (build_epoch)`,
  );
  assert.deepEqual(problems, []);
});

/** Starts the service on a mutant; checks it refuses or serves it. */
async function serveMutant(
  client: TestClient,
  path: string,
  opensInProcess: boolean,
  badBuildEpoch: boolean,
): Promise<string | undefined> {
  let service;
  try {
    service = await startService(
      ["--db", path, "--bind", "tcp://127.0.0.1:*", "--workers", "2"],
      { timeoutMs: 20_000 },
    );
  } catch (error) {
    const message = (error as Error).message;
    const exited = message.match(/^service exited with (\d+) before ready:\n([\s\S]*)$/);
    if (exited === null) return `did not start or stop: ${message}`;
    const [, code, log] = exited;
    const lines = log!.split("\n").filter((line) => line.startsWith("geoipmq:"));
    const errors = lines.filter((line) => line.startsWith("geoipmq: error:"));
    if (code !== "1") return `exit code ${code}:\n${log}`;
    if (badBuildEpoch && errors.length === 1 && errors[0]!.endsWith("Invalid time value")) {
      bug2Met++;
      return `an out-of-range build_epoch was not refused by name:\n${log}`;
    }
    if (errors.length !== 1 || /^\s+at /m.test(log!)) return `not one error line:\n${log}`;
    // deno-lint-ignore no-control-regex
    if (errors[0]!.length > 300 || lines.some((line) => /[\x00-\x1f\x7f-\x9f]/.test(line))) {
      return `not one clean line of at most 300 characters:\n${JSON.stringify(log)}`;
    }
    if (!errors[0]!.includes(`Cannot open database "${path}"`)) {
      return `the error does not name the database: ${errors[0]}`;
    }
    if (opensInProcess) return `opens in process, but the service refused it: ${errors[0]}`;
    serviceRuns.refused++;
    return undefined;
  }
  let problem: string | undefined = opensInProcess
    ? undefined
    : "refused in process, but the service started";
  if (problem === undefined) problem = askMutantService(client, service.endpoint);
  if (problem === undefined) serviceRuns.served++;
  const timer = setTimeout(() => Deno.kill(service.pid, "SIGKILL"), 10_000);
  const status = await service.stop("SIGTERM");
  clearTimeout(timer);
  if (status.code !== 0) {
    problem ??= `exit code ${status.code} after SIGTERM:\n${service.log.join("\n")}`;
  }
  return problem;
}

/** Asks a service serving a mutant a few questions; every reply must be well-formed. */
function askMutantService(client: TestClient, endpoint: string): string | undefined {
  const socket = client.socket(SocketType.REQ, endpoint, 3000);
  try {
    for (const request of ["ping", "geoip 81.2.69.160", "json 81.2.69.160", "info"]) {
      socket.send(request);
      const reply = receiveWithin(socket, 3000);
      if (reply === null) return `no reply to ${request}`;
      if (reply.length !== 1) return `${reply.length} frames in reply to ${request}`;
      const text = new TextDecoder().decode(reply[0]);
      const problem = replyProblem(text);
      if (problem !== undefined) return `${request}: ${problem}`;
      if (request === "ping" && text !== "pong") return `ping got ${text}`;
    }
    return undefined;
  } finally {
    socket.close();
  }
}

// Found by fuzzing (2), now fixed: a database whose build_epoch is beyond what a JavaScript Date holds (over
// 8.64e12 seconds; a uint64 may hold up to 1.8e19) or is not a number passes every check
// of GeoDatabase.fromBytes(), and then `new Date(buildEpoch * 1000).toISOString()` throws
// RangeError "Invalid time value" wherever the build time is shown:
// - `info` answers `ERROR\tinternal error: Invalid time value`;
// - at start the service exits 1 with "unexpected error: Invalid time value", a line that
//   does not name the database;
// - on a reload (SIGHUP or --watch) main.ts has already switched the workers to the new
//   database when describeDatabase() throws inside FileReloader: the promise
//   rejection is not handled and the whole service dies with exit 1 and a stack trace,
//   instead of refusing the file and serving on.
// Mutants that change the size of build_epoch's uint64 in the metadata reach it.

const FAR_FUTURE_EPOCH = 2 ** 53 - 1;

function farFutureDatabase(): Uint8Array {
  return buildMmdb(
    { ipVersion: 6, databaseType: "GeoIP2-City", buildEpoch: FAR_FUTURE_EPOCH },
    [{ network: "81.2.69.160/27", record: LONDON }],
  );
}

Deno.test({
  name: "a build_epoch out of Date range is refused at open",
  fn() {
    const data = farFutureDatabase();
    const shared = new Uint8Array(new SharedArrayBuffer(data.length));
    shared.set(data);
    let database: GeoDatabase;
    try {
      database = GeoDatabase.fromBytes(shared, "far-future.mmdb");
    } catch (error) {
      assert.ok(error instanceof DatabaseError);
      return;
    }
    const responder = new GeoipResponder(database, {
      limits: FUZZ_LIMITS,
      server: { version: "0", libzmqVersion: "0", startedAt: Date.now() },
    });
    const info = responder.respond(new TextEncoder().encode("info"));
    assert.ok(info.startsWith("{"), info);
  },
});

Deno.test({
  name: "a build_epoch out of Date range at start exits 1 with a line naming the database",
  async fn() {
    await withTempFile(farFutureDatabase(), async (path) => {
      const result = await runToExit(["--db", path, "--bind", "tcp://127.0.0.1:*"], {
        timeoutMs: 20_000,
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`geoipmq: error: .*${path}`));
      assert.doesNotMatch(result.stderr, /unexpected error/);
    });
  },
});

Deno.test({
  name: "a build_epoch out of Date range on reload keeps the old database serving",
  async fn() {
    const path = await writeTempFile(cityFixture());
    const service = await startOnDatabase(path);
    try {
      await Deno.writeFile(path, farFutureDatabase());
      Deno.kill(service.pid, "SIGHUP");
      // The reload is done (or refused) well within 2 s on a fixture.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await using client = new TestClient();
      const socket = client.socket(SocketType.REQ, service.endpoint, 3000);
      socket.send("ping");
      assert.deepEqual(receiveWithin(socket, 3000)?.map((f) => new TextDecoder().decode(f)), [
        "pong",
      ], `the service stopped answering:\n${service.log.join("\n")}`);
    } finally {
      const timer = setTimeout(() => Deno.kill(service.pid, "SIGKILL"), 10_000);
      const status = await service.stop("SIGTERM");
      clearTimeout(timer);
      await Deno.remove(path);
      assert.equal(status.code, 0, service.log.join("\n"));
    }
  },
});

// Found by fuzzing (3), now fixed: GeoipResponder takes every RangeError met during a lookup for the client's fault
// (it means to catch findOffset()'s "IPv6 address in an IPv4-only database"), but the
// record decoder throws RangeErrors too: "Maximum call stack size exceeded" for a pointer
// that leads back to itself, ERR_OUT_OF_RANGE for a read past the end of the buffer. Such
// a corrupt record is then answered `ERROR\tMaximum call stack size exceeded:
// "203.0.113.9"` instead of the documented `ERROR\tdatabase error for "203.0.113.9": ...`,
// and counted as an invalid address rather than a database error in the metrics.
Deno.test({
  name: "a pointer cycle in a record is a database error, not an invalid address",
  fn() {
    const data = cityFixture();
    const intact = openFixture(data);
    const { recordOffset } = intact.findRecord(parseIpAddress("203.0.113.9")!);
    const { nodeCount, recordSize } = intact.metadata;
    const at = nodeCount * recordSize / 4 + 16 + recordOffset;
    const broken = data.slice();
    broken[at] = 0x20 | ((recordOffset >> 8) & 7); // a pointer (size 0) to the record itself
    broken[at + 1] = recordOffset & 0xff;
    const responder = new GeoipResponder(openFixture(broken), {
      limits: FUZZ_LIMITS,
      server: { version: "0", libzmqVersion: "0", startedAt: Date.now() },
    });
    const reply = responder.respond(new TextEncoder().encode("geoip 203.0.113.9"));
    assert.match(reply, /^ERROR\tdatabase error for "203\.0\.113\.9": /);
    assert.equal(responder.tally.error, 1);
    assert.equal(responder.tally.invalid, 0);
  },
});

// Found by fuzzing (4), now fixed: decoding a record has no bound on its work. npm:maxmind's decoder follows every
// pointer afresh (no cache), so a record of maps whose values point, a hundred times each,
// to the next map decodes 100^levels values: with 4 levels (a 1.6 KB record, well formed)
// one lookup takes about 15 s on the development machine, and 5 levels would take hours.
// The front end answers every small request itself, so one such lookup stalls every
// client: served by main.ts --workers 2, a `ping` sent by another client during that
// lookup was answered after 14.8 s. Random damage does it too: setting 4 bytes at the
// start of the record for 84.23.135.49 in the bundled GeoLite2-City to 0xff (a map
// claiming 16.8 million entries) passes the open-time checks, and that one lookup then
// takes 8.3 s (geoip) and 4.9 s (json) before it fails with a database error.
Deno.test({
  name: "a record of pointers fanning out is refused quickly, not decoded for seconds",
  async fn() {
    const runner = new MutantRunner();
    try {
      const report = await runner.run({
        index: -1,
        bytes: fanOutDatabase(4, 100),
        addresses: ["203.0.113.9"],
        limits: FUZZ_LIMITS,
        slowMs: SLOW_MS,
      }, 5000);
      assert.notEqual(report, "hang", "one lookup took over 5 s");
      assert.ok(typeof report === "object" && !(report instanceof Error), String(report));
      assert.deepEqual(report.problems, []);
    } finally {
      runner.close();
    }
  },
});

/**
 * A database whose record for 203.0.113.0/24 is `levels` maps of `fan` entries, each
 * entry's value a pointer to the next map (the last map is empty): well formed, small, and
 * `fan^levels` values to decode. 81.2.69.160/27 is London, so the open-time checks pass.
 */
function fanOutDatabase(levels: number, fan: number): Uint8Array<ArrayBuffer> {
  const data = buildMmdb({ ipVersion: 6, databaseType: "GeoIP2-City" }, [
    { network: "81.2.69.160/27", record: LONDON },
    { network: "203.0.113.0/24", record: bytes(new Uint8Array(2000)) },
  ]);
  const intact = openFixture(data);
  const { recordOffset } = intact.findRecord(parseIpAddress("203.0.113.9")!);
  const dataStart = intact.metadata.nodeCount * intact.metadata.recordSize / 4 + 16;
  const out = new Uint8Array(data);
  let at = recordOffset; // pointers count from the data section's start
  for (let level = 0; level < levels; level++) {
    const next = at + 2 + fan * 4;
    if (next >= 2048 || fan < 29 || fan > 284) throw new RangeError("too big for this layout");
    out.set([0xfd, fan - 29], dataStart + at); // a map of `fan` entries
    for (let i = 0; i < fan; i++) {
      // key "k", value: a pointer (11 bits) to the next map
      out.set([0x41, 0x6b, 0x20 | ((next >> 8) & 7), next & 0xff], dataStart + at + 2 + i * 4);
    }
    at = next;
  }
  out[dataStart + at] = 0xe0; // an empty map
  return out;
}
