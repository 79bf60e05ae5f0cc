/**
 * The bench's numbers and tables: one measured run is a {@linkcode Sample}; medians and
 * spreads over the rounds, the ratios of geoipmq (with and without its cache) to the C loop
 * or the Go peer, and the text tables that show them.
 *
 * @module
 */

import { type LoadName, LOADS, type Shape } from "./plan.ts";
import { type ShapeName } from "../../tooling/mod.ts";

/** One measured run of one load of one shape on one server. */
export interface Sample {
  shape: ShapeName;
  load: LoadName;
  server: string;
  round: number;
  requestsPerSecond: number;
  lookupsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU (utime + stime, all threads) over the window per reply, microseconds. */
  microsPerReply: number;
  /** The same per address looked up. */
  microsPerLookup: number;
  /** NOT_FOUND (ZeroMQ) or non-2xx (HTTP) answers, % of addresses. */
  notFoundPercent: number;
  errors: number;
  timeouts: number;
  /** The load generator's (or wrk's: not measured, NaN) CPU, % of one core. */
  generatorCpuPercent: number;
}

/** A median over rounds and how far the rounds spread around it. */
export interface Spread {
  median: number;
  /** Half the range, in % of the median. */
  spreadPercent: number;
  runs: number;
}

/** A line of a shape's table: one measure of one load, geoipmq against its peer. */
export interface Comparison {
  shape: ShapeName;
  load: LoadName;
  measure: string;
  peer: string;
  geoipmq: Spread;
  nocache: Spread;
  peerValue: Spread;
  /** geoipmq / peer of the medians. */
  ratio: number;
  /** geoipmq without cache / peer of the medians. */
  nocacheRatio: number;
}

type Metric = keyof Pick<
  Sample,
  | "requestsPerSecond"
  | "lookupsPerSecond"
  | "p50Ms"
  | "p99Ms"
  | "microsPerReply"
  | "microsPerLookup"
>;

/** The measures each load shows. */
const MEASURES: Record<LoadName, readonly { measure: string; metric: Metric }[]> = {
  lockstep: [
    { measure: "req/s", metric: "requestsPerSecond" },
    { measure: "p50 ms", metric: "p50Ms" },
    { measure: "p99 ms", metric: "p99Ms" },
    { measure: "server CPU us/reply", metric: "microsPerReply" },
  ],
  pipelined: [
    { measure: "req/s", metric: "requestsPerSecond" },
    { measure: "p50 ms", metric: "p50Ms" },
    { measure: "p99 ms", metric: "p99Ms" },
    { measure: "server CPU us/reply", metric: "microsPerReply" },
  ],
  batch: [
    { measure: "addresses/s", metric: "lookupsPerSecond" },
    { measure: "p50 ms", metric: "p50Ms" },
    { measure: "p99 ms", metric: "p99Ms" },
    { measure: "server CPU us/address", metric: "microsPerLookup" },
  ],
  http: [
    { measure: "req/s", metric: "requestsPerSecond" },
    { measure: "p50 ms", metric: "p50Ms" },
    { measure: "p99 ms", metric: "p99Ms" },
    { measure: "server CPU us/reply", metric: "microsPerReply" },
  ],
};

/**
 * The median of the numbers that are not NaN.
 *
 * @example
 * ```ts
 * console.log(median([3, 1, NaN, 2])); // 2
 * ```
 *
 * @param values the numbers
 * @returns their median, NaN when there is none
 */
export function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function spread(values: number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  const middle = median(finite);
  return {
    median: middle,
    spreadPercent: finite.length > 0
      ? ((Math.max(...finite) - Math.min(...finite)) / 2 / middle) * 100
      : NaN,
    runs: finite.length,
  };
}

/**
 * The comparisons of one shape: every measure of every load, geoipmq and geoipmq without
 * cache against the C loop (ZeroMQ) or the Go peer (HTTP).
 *
 * @example
 * ```ts
 * import { SHAPES } from "./plan.ts";
 * console.log(compareShape([], SHAPES[0]!).length); // 16
 * ```
 *
 * @param samples every run
 * @param shape the shape
 * @returns one comparison per measure
 */
export function compareShape(samples: Sample[], shape: Shape): Comparison[] {
  const values = (server: string, load: LoadName, metric: Metric) =>
    samples.filter((s) => s.shape === shape.name && s.load === load && s.server === server)
      .map((s) => s[metric]);
  return LOADS.filter((load) => shape.loads.includes(load.name)).flatMap((load) => {
    const peer = load.name === "http" ? "Go" : "C";
    return MEASURES[load.name].map(({ measure, metric }) => {
      const geoipmq = spread(values("geoipmq", load.name, metric));
      const nocache = spread(values("nocache", load.name, metric));
      const peerValue = spread(values(peer, load.name, metric));
      return {
        shape: shape.name,
        load: load.name,
        measure,
        peer,
        geoipmq,
        nocache,
        peerValue,
        ratio: geoipmq.median / peerValue.median,
        nocacheRatio: nocache.median / peerValue.median,
      };
    });
  });
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
/** @returns the number with thousands separators, or "-" */
export const fmtInt = (value: number): string =>
  Number.isFinite(value) ? integer.format(value) : "-";
/** @returns a ratio as `1.23x`, or "-" */
export const fmtRatio = (value: number): string =>
  Number.isFinite(value) ? `${value.toFixed(2)}x` : "-";
/** @returns a share as `12%`, or "-" */
export const fmtPercent = (value: number | null): string =>
  value === null || !Number.isFinite(value) ? "-" : `${value.toFixed(0)}%`;
/** @returns bytes as `12.3 MB`, or "-" */
export const fmtMb = (bytes: number | null): string =>
  bytes === null ? "-" : `${(bytes / 1e6).toFixed(1)} MB`;
const fmtSpread = (s: Spread) =>
  Number.isFinite(s.spreadPercent) ? `±${s.spreadPercent.toFixed(0)}%` : "";

/**
 * A text table, columns padded: the first `rightFrom` left-aligned, the others right.
 *
 * @example
 * ```ts
 * console.log(table(["a", "b"], [["x", "1"]], 1));
 * ```
 *
 * @param header the column names
 * @param rows the cells
 * @param rightFrom the first right-aligned column
 * @returns the lines
 */
export function table(header: string[], rows: string[][], rightFrom = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i < rightFrom ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))
      .join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function fmtMeasure(value: number, measure: string): string {
  if (!Number.isFinite(value)) return "-";
  if (measure.endsWith(" ms")) return value.toFixed(3);
  if (measure.includes("us/")) return value.toFixed(2);
  return fmtInt(value);
}

/**
 * A shape's table: per load and measure, geoipmq, geoipmq without cache and the peer
 * (medians and spreads), and the ratios to the peer.
 *
 * @example
 * ```ts
 * import { SHAPES } from "./plan.ts";
 * console.log(renderShape(SHAPES[0]!, compareShape([], SHAPES[0]!)).split("\n")[0]);
 * ```
 *
 * @param shape the shape
 * @param comparisons its comparisons ({@linkcode compareShape})
 * @returns the title line and the table
 */
export function renderShape(shape: Shape, comparisons: Comparison[]): string {
  const rows = comparisons.map((c, i) => {
    const first = i === 0 || comparisons[i - 1]!.load !== c.load;
    const load = LOADS.find((l) => l.name === c.load)!;
    return [
      first ? load.label : "",
      c.measure,
      c.peer,
      fmtMeasure(c.geoipmq.median, c.measure),
      fmtSpread(c.geoipmq),
      shape.cacheOff ? fmtMeasure(c.nocache.median, c.measure) : "",
      shape.cacheOff ? fmtSpread(c.nocache) : "",
      fmtMeasure(c.peerValue.median, c.measure),
      fmtSpread(c.peerValue),
      fmtRatio(c.ratio),
      shape.cacheOff ? fmtRatio(c.nocacheRatio) : "",
    ];
  });
  return `shape ${shape.name}: ${shape.description}\n` + table(
    [
      "load",
      "measure",
      "peer",
      "geoipmq",
      "spread",
      "no cache",
      "spread",
      "peer",
      "spread",
      "geoipmq/peer",
      "no cache/peer",
    ],
    rows,
    3,
  );
}

/**
 * Every (shape, load, server): throughput and its range, NOT_FOUND share, errors, timeouts
 * and the load generator's CPU.
 *
 * @example
 * ```ts
 * console.log(renderDetails([]).split("\n").length); // 2
 * ```
 *
 * @param samples every run
 * @returns the table
 */
export function renderDetails(samples: Sample[]): string {
  const keys = [...new Set(samples.map((s) => `${s.shape}/${s.load}/${s.server}`))];
  const rows = keys.map((key) => {
    const [shape, load, server] = key.split("/") as [string, string, string];
    const runs = samples.filter((s) => s.shape === shape && s.load === load && s.server === server);
    const rps = runs.map((r) => r.requestsPerSecond);
    return [
      shape,
      load,
      server,
      fmtInt(median(rps)),
      `[${fmtInt(Math.min(...rps))}-${fmtInt(Math.max(...rps))}]`,
      fmtInt(median(runs.map((r) => r.lookupsPerSecond))),
      fmtPercent(median(runs.map((r) => r.notFoundPercent))),
      String(runs.reduce((sum, r) => sum + r.errors, 0)),
      String(runs.reduce((sum, r) => sum + r.timeouts, 0)),
      fmtPercent(median(runs.map((r) => r.generatorCpuPercent))),
    ];
  });
  return table(
    [
      "shape",
      "load",
      "server",
      "req/s",
      "[min-max]",
      "addresses/s",
      "not found",
      "errors",
      "timeouts",
      "generator CPU",
    ],
    rows,
    3,
  );
}

/**
 * What a random address costs over a repeated one: server CPU per reply of the pipelined
 * load on the uniform shape minus that on the same address, per server.
 *
 * @example
 * ```ts
 * console.log(renderColdCost([])); // ""
 * ```
 *
 * @param samples every run
 * @returns the table, or "" when the bench did not run both shapes
 */
export function renderColdCost(samples: Sample[]): string {
  const cpu = (shape: ShapeName, server: string) =>
    median(
      samples.filter((s) => s.shape === shape && s.load === "pipelined" && s.server === server)
        .map((s) => s.microsPerReply),
    );
  const rows = ["geoipmq", "nocache", "C"].flatMap((server) => {
    const same = cpu("same", server);
    const uniform = cpu("uniform", server);
    if (!Number.isFinite(same) || !Number.isFinite(uniform)) return [];
    const extra = uniform - same;
    return [[
      server,
      same.toFixed(2),
      uniform.toFixed(2),
      `${extra >= 0 ? "+" : ""}${extra.toFixed(2)}`,
    ]];
  });
  if (rows.length === 0) return "";
  return table(
    ["pipelined, server CPU us/reply", "same address", "uniform", "a random address costs"],
    rows,
    1,
  );
}
