#!/usr/bin/env -S deno run --allow-read
/**
 * Prints where a V8 CPU profile (`deno run --cpu-prof --cpu-prof-dir DIR`, one
 * `.cpuprofile` per thread) spent its time: self time by function, heaviest first, and
 * the share of the sampled time.
 *
 * ```sh
 * deno run --allow-read scripts/cpuprofile_summary.ts FILE.cpuprofile [TOP]
 * ```
 *
 * @module
 */

/** A node of a `.cpuprofile` (the Chrome DevTools protocol's `Profiler.ProfileNode`). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** A `.cpuprofile` file. */
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time per function of a profile.
 *
 * @param profile the parsed `.cpuprofile`
 * @returns `[function at file:line, self milliseconds]`, heaviest first, and the total
 */
export function selfTimes(profile: CpuProfile): { rows: [string, number][]; totalMs: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let totalMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    // A sample's time is the delta to the next one.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.split("/").slice(-2).join("/");
    const key = `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
    self.set(key, (self.get(key) ?? 0) + ms);
    totalMs += ms;
  }
  return { rows: [...self.entries()].sort((a, b) => b[1] - a[1]), totalMs };
}

if (import.meta.main) {
  const [file, top = "30"] = Deno.args;
  if (file === undefined) {
    console.error("Usage: cpuprofile_summary.ts FILE.cpuprofile [TOP]");
    Deno.exit(2);
  }
  let profile: unknown;
  try {
    profile = JSON.parse(await Deno.readTextFile(file));
  } catch (error) {
    console.error(`cpuprofile_summary: cannot read "${file}": ${(error as Error).message}`);
    Deno.exit(1);
  }
  const { rows, totalMs } = selfTimes(profile as Parameters<typeof selfTimes>[0]);
  console.log(`${file}: ${totalMs.toFixed(0)} ms sampled`);
  for (const [name, ms] of rows.slice(0, Number(top))) {
    console.log(
      `${(100 * ms / totalMs).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(6)} ms  ${name}`,
    );
  }
}
