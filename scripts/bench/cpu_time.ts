/**
 * CPU time from `/proc`: of a process, of the calling thread, and of a server's threads by
 * role, and over a measured window.
 *
 * @module
 */

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * utime + stime from `/proc/<pid>/stat` in seconds (all threads of a process), null when
 * the process is gone. `thread-self` is the calling thread only (the read is a synchronous
 * op on this thread).
 *
 * @param pid a process id, `self` or `thread-self`
 * @returns CPU seconds used so far, in clock ticks of 10 ms
 */
export function cpuSeconds(pid: number | "self" | "thread-self"): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** The thread roles {@linkcode RunResult.serverThreadsCpuPercent} reports, in table order. */
export const THREAD_ROLES = [
  "main",
  "lookup workers",
  "proxy (tokio)",
  "ZMQ I/O",
  "V8 GC/JIT",
  "other",
] as const;

/**
 * What a thread of a server does, from its name: geoipmq's Web Workers are `worker-N`, its
 * `zmq_proxy` runs on a tokio blocking-pool thread, V8's GC and compiler threads are
 * `V8 DefaultWorker`, libzmq's are `ZMQbg/...`; the C loop's main thread is `geoip_rep`.
 */
function threadRole(name: string): typeof THREAD_ROLES[number] {
  if (/^worker-\d+$/.test(name)) return "lookup workers";
  if (name === "tokio-runtime-w") return "proxy (tokio)";
  if (name.startsWith("ZMQbg/IO")) return "ZMQ I/O";
  if (name.startsWith("V8 ")) return "V8 GC/JIT";
  if (name === "deno" || name === "geoip_rep") return "main";
  return "other";
}

/** CPU seconds of every thread of a process, summed by {@linkcode threadRole}. */
export function threadCpuSeconds(pid: number): Map<string, number> | null {
  const roles = new Map<string, number>();
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
      const base = `/proc/${pid}/task/${entry.name}`;
      try {
        const stat = Deno.readTextFileSync(`${base}/stat`);
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
        const role = threadRole(stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")));
        roles.set(role, (roles.get(role) ?? 0) + seconds);
      } catch {
        // The thread ended in between.
      }
    }
  } catch {
    return null;
  }
  return roles;
}

/** CPU use over a measured window, in % of one core. */
export interface CpuPercents {
  /** This (the generator's) process. */
  generatorCpuPercent: number;
  /** The calling thread. */
  generatorThreadCpuPercent: number;
  /** The server process, if its pid was given. */
  serverCpuPercent: number | null;
  /** The server's threads by role, if its pid was given. */
  serverThreadsCpuPercent: Record<string, number> | null;
}

/**
 * The CPU times at the start of a measured window, to compare with those at its end.
 *
 * @example
 * ```ts
 * import { CpuWindow } from "./cpu_time.ts";
 * const window = new CpuWindow(undefined);
 * window.start();
 * console.log(window.finish(1).serverCpuPercent); // null
 * ```
 */
export class CpuWindow {
  readonly #serverPid: number | undefined;
  #started = false;
  #self = 0;
  #thread = 0;
  #server: number | null = null;
  #serverThreads: Map<string, number> | null = null;

  /** @param serverPid the server's process id, or undefined to measure only this process */
  constructor(serverPid: number | undefined) {
    this.#serverPid = serverPid;
  }

  /** Whether the window has started. */
  get started(): boolean {
    return this.#started;
  }

  /** Starts the window: reads every CPU time now. */
  start(): void {
    this.#started = true;
    this.#self = cpuSeconds("self") ?? 0;
    this.#thread = cpuSeconds("thread-self") ?? 0;
    const pid = this.#serverPid;
    this.#server = pid === undefined ? null : cpuSeconds(pid);
    this.#serverThreads = pid === undefined ? null : threadCpuSeconds(pid);
  }

  /**
   * Reads every CPU time again.
   *
   * @param seconds the window's length, which the percentages are of
   * @returns the CPU used since {@linkcode CpuWindow.start}, 0 for this process if never started
   */
  finish(seconds: number): CpuPercents {
    const self = cpuSeconds("self") ?? 0;
    const thread = cpuSeconds("thread-self") ?? 0;
    const pid = this.#serverPid;
    const server = pid === undefined ? null : cpuSeconds(pid);
    const serverThreads = pid === undefined ? null : threadCpuSeconds(pid);
    let serverThreadsCpuPercent: Record<string, number> | null = null;
    if (this.#serverThreads !== null && serverThreads !== null) {
      serverThreadsCpuPercent = {};
      for (const [role, seconds1] of serverThreads) {
        // A thread that ended in the window takes its time with it; clamp at 0.
        const used = Math.max(0, seconds1 - (this.#serverThreads.get(role) ?? 0));
        serverThreadsCpuPercent[role] = (used / seconds) * 100;
      }
    }
    return {
      generatorCpuPercent: this.#started ? ((self - this.#self) / seconds) * 100 : 0,
      generatorThreadCpuPercent: this.#started ? ((thread - this.#thread) / seconds) * 100 : 0,
      serverCpuPercent: this.#server === null || server === null
        ? null
        : ((server - this.#server) / seconds) * 100,
      serverThreadsCpuPercent,
    };
  }
}
