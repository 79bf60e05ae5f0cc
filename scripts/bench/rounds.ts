/**
 * The measured runs: for every round, every shape and every load, each server that speaks
 * it, in an order that rotates per round, loaded by the native generator (ZeroMQ) or wrk
 * (HTTP); each run becomes a {@linkcode Sample}.
 *
 * @module
 */

import { runLoad } from "../../tooling/mod.ts";
import { runHttp } from "./http_load.ts";
import { type Load, LOADS, runOffset, serversFor, type Shape, SHAPES } from "./plan.ts";
import { fmtInt, fmtPercent, type Sample } from "./report.ts";
import { shapeSource } from "./checks.ts";
import type { Prepared } from "./prepare.ts";
import type { RunningServers } from "./start.ts";
import type { Server } from "./servers.ts";

/** Warm-up of every run after the first round: the server is already warm. */
const RAMP_SECONDS = 1;

/** One (shape, load) and the servers it runs on. */
interface PlannedLoad {
  shape: Shape;
  load: Load;
  loadIndex: number;
  servers: Server[];
}

function plan(prepared: Prepared, running: RunningServers): PlannedLoad[] {
  const { options } = prepared;
  const canRun = (load: Load) =>
    load.socket === "http" ? prepared.hasWrk : "binary" in prepared.builds.loadGenerator;
  return SHAPES.filter((shape) => options.shapes.includes(shape.name)).flatMap((shape) =>
    LOADS.flatMap((load, loadIndex) => {
      if (!shape.loads.includes(load.name) || !options.loads.includes(load.name)) return [];
      if (!canRun(load)) return [];
      const servers = serversFor(shape, load, running.keys).map((key) => running.get(key)!)
        .filter((server) =>
          load.socket === "http" ? server.http !== undefined : server.endpoint !== undefined
        );
      return servers.length > 0 ? [{ shape, load, loadIndex, servers }] : [];
    })
  );
}

async function runZmq(
  prepared: Prepared,
  run: { planned: PlannedLoad; server: Server; round: number; warmup: number },
): Promise<Sample> {
  const { load, shape } = run.planned;
  const generator = prepared.builds.loadGenerator as { binary: string };
  const result = await runLoad(generator.binary, {
    ...shapeSource(prepared, shape.name, runOffset(run.round, run.planned.loadIndex)),
    endpoint: run.server.endpoint!,
    socket: load.socket as "req" | "dealer",
    clients: load.clients,
    inFlight: load.inFlight,
    batch: load.batch,
    warmupSeconds: run.warmup,
    seconds: prepared.options.seconds,
    serverPid: run.server.pid,
  });
  const cpu = result.serverCpuSeconds ?? NaN;
  return {
    shape: shape.name,
    load: load.name,
    server: run.server.key,
    round: run.round,
    requestsPerSecond: result.requestsPerSecond,
    lookupsPerSecond: result.lookupsPerSecond,
    p50Ms: result.p50Us < 0 ? NaN : result.p50Us / 1000,
    p99Ms: result.p99Us < 0 ? NaN : result.p99Us / 1000,
    microsPerReply: (cpu * 1e6) / result.replies,
    microsPerLookup: (cpu * 1e6) / result.lookups,
    notFoundPercent: (100 * result.notFound) / result.lookups,
    errors: result.errors,
    timeouts: result.timeouts,
    generatorCpuPercent: (100 * result.generatorCpuSeconds) / result.seconds,
  };
}

async function runWrk(
  prepared: Prepared,
  run: { planned: PlannedLoad; server: Server; round: number; warmup: number },
): Promise<Sample> {
  const { load, shape } = run.planned;
  const result = await runHttp({ http: run.server.http!, pid: run.server.pid }, {
    source: shapeSource(prepared, shape.name, runOffset(run.round, run.planned.loadIndex)),
    warmupSeconds: run.warmup,
    seconds: prepared.options.seconds,
  });
  const cpu = result.serverCpuSeconds ?? NaN;
  return {
    shape: shape.name,
    load: load.name,
    server: run.server.key,
    round: run.round,
    requestsPerSecond: result.requestsPerSecond,
    lookupsPerSecond: result.requestsPerSecond,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    microsPerReply: (cpu * 1e6) / result.requests,
    microsPerLookup: (cpu * 1e6) / result.requests,
    notFoundPercent: (100 * result.non2xx) / result.requests,
    errors: result.socketErrors,
    timeouts: 0,
    generatorCpuPercent: NaN,
  };
}

function describe(sample: Sample): string {
  return `${fmtInt(sample.requestsPerSecond).padStart(9)} req/s ` +
    `p50 ${sample.p50Ms.toFixed(3)} p99 ${sample.p99Ms.toFixed(3)} ms ` +
    `server ${sample.microsPerReply.toFixed(2)} us/reply ` +
    `generator ${fmtPercent(sample.generatorCpuPercent)}` +
    (sample.errors + sample.timeouts > 0
      ? ` !!! errors ${sample.errors} timeouts ${sample.timeouts}`
      : "");
}

/**
 * Runs every round.
 *
 * @param prepared the options, the builds
 * @param running the servers
 * @returns every measured run
 */
export async function runRounds(prepared: Prepared, running: RunningServers): Promise<Sample[]> {
  const { options } = prepared;
  const planned = plan(prepared, running);
  const total = options.runs * planned.reduce((sum, p) => sum + p.servers.length, 0);
  const samples: Sample[] = [];
  let done = 0;
  for (let round = 0; round < options.runs; round++) {
    const warmup = round === 0 ? options.warmup : Math.min(options.warmup, RAMP_SECONDS);
    for (const entry of planned) {
      // Rotate the order so no server always runs right after the same neighbour.
      const order = entry.servers.map((_, i) => entry.servers[(i + round) % entry.servers.length]!);
      for (const server of order) {
        done++;
        const counter = `[${String(done).padStart(3)}/${total}] ${entry.shape.name.padEnd(7)} ` +
          `${entry.load.name.padEnd(9)} ${server.key.padEnd(7)}`;
        if (server.exited) {
          prepared.progress(`!!! ${counter}: the server has exited; run skipped`);
          continue;
        }
        const run = { planned: entry, server, round, warmup };
        const sample = entry.load.socket === "http"
          ? await runWrk(prepared, run)
          : await runZmq(prepared, run);
        samples.push(sample);
        prepared.progress(`${counter} ${describe(sample)}`);
      }
    }
  }
  return samples;
}
