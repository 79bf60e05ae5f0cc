/**
 * The bench's printed report: a header naming the machine, the software, the servers, the
 * shapes and the answer checks; then a table per shape, the details, what a random address
 * costs over a repeated one, and the errors, memory and time taken.
 *
 * @module
 */

import { LOADS, SHAPES } from "./plan.ts";
import {
  compareShape,
  type Comparison,
  fmtMb,
  renderColdCost,
  renderDetails,
  renderShape,
  type Sample,
} from "./report.ts";
import { HTTP_CONNECTIONS, HTTP_THREADS } from "./http_load.ts";
import type { ShapeCheck } from "./checks.ts";
import type { Prepared } from "./prepare.ts";
import type { RunningServers } from "./start.ts";

function printSoftware(prepared: Prepared, running: RunningServers): void {
  const { host, say } = prepared;
  const c = running.get("C")?.readyLine.match(/\((libzmq [^,]+), (libmaxminddb [^,]+)/);
  const go = running.get("Go")?.readyLine.match(/\((go[^,]+), (GOMAXPROCS \d+)/);
  say(`software:  Deno ${host.deno} (V8 ${host.v8}); wrk ${host.wrk}`);
  if (c) say(`           C loop and load generator: cc -O2, ${c[1]}, ${c[2]} (Debian)`);
  if (go) say(`           Go peer: ${go[1]}, ${go[2]} (Debian packages)`);
}

function printChecks(prepared: Prepared, checks: ShapeCheck[]): void {
  const { say } = prepared;
  if (checks.length === 0) say("checks:    none (no load generator to give the addresses)");
  for (const check of checks) {
    const zmq = check.compared === 0
      ? "no C loop to compare with"
      : `${check.compared} addresses (${((100 * check.found) / check.compared).toFixed(0)}% ` +
        `found) asked of every server: ` +
        Object.entries(check.differ).map(([key, n]) => `${key} ${n}`).join(", ") +
        " answers differ from the C loop's (bytes)";
    const http = check.http === null
      ? ""
      : `; HTTP: ${check.http.compared} asked of geoipmq and Go, ${check.http.differ} differ ` +
        "(status and parsed JSON)";
    say(`  ${check.shape.padEnd(8)} ${zmq}${http}`);
    if (check.example !== null) say(`           first difference: ${check.example}`);
  }
}

/**
 * Prints what runs where: machine, software, database, servers, shapes, loads, checks.
 *
 * @param prepared the machine, the database, the options
 * @param running the servers
 * @param checks the answer comparisons
 */
export function printHeader(
  prepared: Prepared,
  running: RunningServers,
  checks: ShapeCheck[],
): void {
  const { host, say, options, database } = prepared;
  const geoipmq = running.get("geoipmq")!;
  const built = geoipmq.readyLine.match(/serving (\S+) built (\S+) from/);
  say("geoipmq benchmark");
  say(
    `machine:   ${host.cpu}, ${host.cpus} CPUs (lscpu: ${host.sockets} socket(s), ` +
      `${host.coresPerSocket} core(s) per socket, ${host.threadsPerCore} thread(s) per core; ` +
      `hypervisor ${host.hypervisor}), Linux ${host.kernel}, load average at start ` +
      host.loadAverageAtStart,
  );
  printSoftware(prepared, running);
  say(
    `database:  ${built ? `${built[1]} built ${built[2]}` : "?"}, ${fmtMb(database.bytes)}, ` +
      `from ${database.origin}`,
  );
  say("servers:");
  for (const server of running.all) say(`  ${server.key.padEnd(8)} ${server.label}`);
  for (const { server, problem, install } of prepared.problems) {
    say(`!!! NO ${server}: ${problem}` + (install === "" ? "" : `. apt-get install ${install}`));
  }
  say("shapes:");
  for (const shape of SHAPES.filter((s) => options.shapes.includes(s.name))) {
    const size = shape.name === "pool" ? ` (${options.addresses} addresses)` : "";
    say(`  ${shape.name.padEnd(8)} ${shape.description}${size}`);
  }
  say(
    `loads:     ${
      LOADS.filter((l) => options.loads.includes(l.name)).map((l) => l.label).join("; ")
    }` +
      ` (wrk -t ${HTTP_THREADS} -c ${HTTP_CONNECTIONS}); seed ${options.seed}`,
  );
  say(
    `rounds:    ${options.runs}, the servers' order rotating per round; warm-up ${options.warmup} s ` +
      `per run in round 1, ${Math.min(options.warmup, 1)} s later; ${options.seconds} s measured`,
  );
  say("checks:");
  printChecks(prepared, checks);
  say();
}

/** What {@linkcode printResults} printed, for the JSON report. */
export interface Results {
  comparisons: Comparison[];
  samples: Sample[];
  checks: ShapeCheck[];
  memory: { server: string; residentBytes: number | null }[];
  errors: number;
  timeouts: number;
  differ: number;
  /** Errors and differing answers: the bench exits 1 when there are any. */
  failures: number;
}

/**
 * Prints the errors, the servers' memory and the time taken, with a warning when the
 * machine was busier than its cores.
 *
 * @param prepared the machine, the start time
 * @param results what {@linkcode printResults} returned
 * @returns the seconds the bench took
 */
export function printTotals(prepared: Prepared, results: Results): number {
  const { say, host } = prepared;
  say(
    `errors:    ${results.errors} error replies or HTTP socket errors, ${results.timeouts} ` +
      `requests unanswered within 2 s, ${results.differ} answers that differ from the C loop's ` +
      "or the Go peer's",
  );
  say(
    "memory:    VmRSS after the runs: " +
      results.memory.map((m) => `${m.server} ${fmtMb(m.residentBytes)}`).join(", ") +
      ` (database file ${fmtMb(prepared.database.bytes)})`,
  );
  const seconds = (performance.now() - prepared.startedAt) / 1000;
  const load = Deno.loadavg();
  say(
    `took:      ${Math.floor(seconds / 60)} min ${
      Math.round(seconds % 60)
    } s; load average at end ` +
      load.map((l) => l.toFixed(2)).join(" "),
  );
  if (Math.max(...load) > Number(host.cpus)) {
    say(
      `!!! the load average exceeded the ${host.cpus} CPUs: other programs competed for them ` +
        "and the numbers are noisy; compare the spreads",
    );
  }
  return seconds;
}

/**
 * Prints the tables of every shape, the details and the cost of a random address.
 *
 * @param prepared the options, the machine
 * @param running the servers (their memory is read now)
 * @param measured the samples and the checks
 * @returns everything printed, as numbers
 */
export function printResults(
  prepared: Prepared,
  running: RunningServers,
  measured: { samples: Sample[]; checks: ShapeCheck[] },
): Results {
  const { say, options } = prepared;
  const { samples, checks } = measured;
  const shapes = SHAPES.filter((s) => options.shapes.includes(s.name));
  const comparisons = shapes.flatMap((shape) => {
    const rows = compareShape(samples, shape).filter((c) => options.loads.includes(c.load));
    if (rows.length > 0) say(renderShape(shape, rows) + "\n");
    return rows;
  });
  say(
    `(medians of ${options.runs} rounds; spread: ± half the range in % of the median. Server CPU: ` +
      "utime + stime of the whole server process over the measured window, from /proc/<pid>/stat. " +
      "The load generator and wrk share the cores with the server under test.)\n",
  );
  say(renderDetails(samples));
  say("(not found: NOT_FOUND answers over ZeroMQ, non-2xx over HTTP. generator CPU: the native ");
  say(" load generator's CPU over the window, % of one core; wrk's is not measured)\n");
  const cold = renderColdCost(samples);
  if (cold !== "") say(cold + "\n");
  const differ = checks.reduce(
    (sum, c) => sum + Object.values(c.differ).reduce((a, b) => a + b, 0) + (c.http?.differ ?? 0),
    0,
  );
  const partial = {
    comparisons,
    samples,
    checks,
    memory: running.all.map((s) => ({ server: s.key, residentBytes: s.residentBytes() })),
    errors: samples.reduce((sum, s) => sum + s.errors, 0),
    timeouts: samples.reduce((sum, s) => sum + s.timeouts, 0),
    differ,
    failures: 0,
  };
  partial.failures = partial.errors + differ;
  return partial;
}
