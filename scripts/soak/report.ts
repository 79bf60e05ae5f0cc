/**
 * The soak's report: the machine it ran on, what was served, what failed, and how the
 * service's resident memory moved.
 *
 * @module
 */

import type { LoadDone, STAT } from "./load_worker.ts";
import type { Options } from "./options.ts";
import { mb, type SoakWatch } from "./watch.ts";

/**
 * @param when "at start" or "at end", for the load average
 * @returns one line: cores, CPU model, kernel, Deno and the load average
 */
export async function machine(when: string): Promise<string> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const cpu = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown CPU";
  return `${navigator.hardwareConcurrency} cores (nproc), ${cpu}, Linux ${Deno.osRelease()}, ` +
    `Deno ${Deno.version.deno}, load average ${when} ${
      Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
    }`;
}

/** What the report is made of. */
export interface SoakOutcome {
  /** The soak's settings. */
  options: Options;
  /** The memory readings and the reloads. */
  watch: SoakWatch;
  /** Reads a counter of the load. */
  stat: (name: keyof typeof STAT) => number;
  /** What the load reported. */
  load: LoadDone;
  /** The service's process id. */
  pid: number;
  /** How the service exited, and whether it died before the end. */
  exit: { status: Deno.CommandStatus; diedEarly: boolean };
  /** How long the soak ran. */
  totalSeconds: number;
  /** VmRSS at the end. */
  endBytes: number | null;
}

/**
 * @param outcome what happened
 * @returns the report's lines, a blank one first
 */
export async function soakReport(outcome: SoakOutcome): Promise<string[]> {
  const { options, watch, stat, load, pid, exit, totalSeconds, endBytes } = outcome;
  const start = watch.memory[0]?.bytes ?? null;
  const growth = start !== null && endBytes !== null ? endBytes - start : null;
  const reloads = watch.reloads;
  return [
    "",
    "soak report",
    `  machine:           ${await machine("at end")}`,
    `  ran:               ${totalSeconds.toFixed(0)} s, service pid ${pid}, ` +
    `--workers ${options.workers}`,
    `  requests:          ${stat("sent")} sent, ${stat("replies")} answered ` +
    `(${(stat("replies") / totalSeconds).toFixed(0)}/s)`,
    `  errors:            ${stat("errors")} ERROR replies, ${stat("timeouts")} timeouts ` +
    `(no reply in 2 s), ${stat("malformed")} malformed replies`,
    `  client restarts:   ${stat("restarts")} (${stat("abandoned")} requests in flight ` +
    `dropped with their sockets, not counted as errors)`,
    `  reloads:           ${reloads.done} of ${reloads.asked} logged as done ` +
    `(slowest ${(reloads.slowestMs / 1000).toFixed(1)} s), ${reloads.late} late, ` +
    `${watch.failedCount()} "reload failed" lines, ${watch.reloadedCount()} "reloaded" lines`,
    "  VmRSS:",
    ...watch.memory.map((m) =>
      `    ${m.label.padEnd(22)} ${(m.atMs / 1000).toFixed(0).padStart(5)} s  ${mb(m.bytes)}`
    ),
    `    peak (every 250 ms)          ${mb(watch.peak)}`,
    growth === null
      ? "  memory growth:     unknown"
      : `  memory growth:     ${growth >= 0 ? "+" : ""}${mb(growth)} ` +
        `(${((growth / start!) * 100).toFixed(1)}%) end vs start: ` +
        `${
          Math.abs(growth / start!) < 0.05 ? "no growth beyond 5%" : growth > 0 ? "GREW" : "shrank"
        }`,
    `  service exit:      ${exit.status.code}${exit.diedEarly ? " (it died during the soak)" : ""}`,
    ...(load.failure === undefined ? [] : [`  load failure:      ${load.failure}`]),
    ...load.examples.map((e) => `  example:           ${e}`),
  ];
}
