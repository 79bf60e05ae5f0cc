/**
 * What the soak's main thread does while the load runs: it reads the service's resident
 * memory, reloads the database (alternately by renaming a fresh copy over the file and by
 * SIGHUP) and waits for each reload to be logged as done, and prints a line a minute.
 *
 * @module
 */

import { residentBytes, type ServiceProcess } from "../../tooling/mod.ts";
import type { Options } from "./options.ts";
import { STAT } from "./load_worker.ts";

const RELOAD_TIMEOUT_MS = 30_000;
/** No reload is started this close to the end, so the last memory reading is settled. */
const QUIET_END_MS = 10_000;

/**
 * @param bytes a size, or null when unknown
 * @returns it in MB with one decimal, or "n/a"
 */
export function mb(bytes: number | null): string {
  return bytes === null ? "n/a" : `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/** One reading of the service's resident memory. */
export interface MemoryReading {
  /** When, in words. */
  label: string;
  /** When, in milliseconds since the load started. */
  atMs: number;
  /** VmRSS in bytes, or null when the service was gone. */
  bytes: number | null;
}

/** How the reloads went. */
export interface ReloadCounts {
  /** Reloads started. */
  asked: number;
  /** Reloads logged as done. */
  done: number;
  /** Reloads not logged as done in time. */
  late: number;
  /** The longest a reload took to be logged as done. */
  slowestMs: number;
}

/** A reload asked for and not yet seen done in the log. */
interface PendingReload {
  how: "rename" | "SIGHUP";
  askedAt: number;
  /** The number of "reloaded" lines that means it is done. */
  doneAt: number;
}

/** What {@linkcode SoakWatch} watches. */
export interface WatchSubject {
  /** The soak's settings. */
  options: Options;
  /** The running service. */
  service: ServiceProcess;
  /** The database served, and the pristine copy a rename reload copies from. */
  files: { served: string; pristine: string };
  /** Reads a counter of the load. */
  stat: (name: keyof typeof STAT) => number;
  /** Prints a line. */
  say: (line: string) => void;
}

/** The memory readings and the reloads of one soak, a tick at a time. */
export class SoakWatch {
  /** The memory readings: after the warm-up, every minute, and at the end. */
  readonly memory: MemoryReading[] = [];
  /** How the reloads went. */
  readonly reloads: ReloadCounts = { asked: 0, done: 0, late: 0, slowestMs: 0 };
  /** The largest VmRSS seen at any tick. */
  peak = 0;
  readonly #subject: WatchSubject;
  #pending: PendingReload | undefined;
  #nextReload: number;
  #nextMinute = 60_000;
  #lastSent = 0;
  #lastMinuteAt = 0;

  /** @param subject the service, its files, the load's counters and where to print */
  constructor(subject: WatchSubject) {
    this.#subject = subject;
    this.#nextReload = subject.options.reloadEveryMs;
  }

  /** @returns how many "reloaded" lines the service has logged */
  reloadedCount(): number {
    return this.#subject.service.log.filter((line) => /^geoipmq: reloaded:/.test(line)).length;
  }

  /** @returns how many "reload failed" lines the service has logged */
  failedCount(): number {
    return this.#subject.service.log.filter((line) => /reload failed/.test(line)).length;
  }

  /**
   * One tick: reads the memory, follows the reload in progress or starts the next one,
   * and prints the minute's line when a minute has passed.
   *
   * @param now milliseconds since the load started
   */
  async tick(now: number): Promise<void> {
    const { options, service, say } = this.#subject;
    this.peak = Math.max(this.peak, residentBytes(service.pid) ?? 0);
    if (this.memory.length === 0 && now >= options.warmupMs) {
      this.memory.push({
        label: "start (after warm-up)",
        atMs: now,
        bytes: residentBytes(service.pid),
      });
      say(`soak: ${(now / 1000).toFixed(0)} s: VmRSS ${mb(this.memory[0]!.bytes)} after warm-up`);
    }
    this.#followReload(now);
    if (
      this.#pending === undefined && now >= this.#nextReload &&
      now < options.durationMs - QUIET_END_MS
    ) {
      await this.#reload(now);
    }
    if (now >= this.#nextMinute) this.#minute(now);
  }

  /**
   * Takes the last memory reading.
   *
   * @param now milliseconds since the load started
   * @returns VmRSS in bytes, or null when the service is gone
   */
  end(now: number): number | null {
    const bytes = residentBytes(this.#subject.service.pid);
    this.memory.push({ label: "end", atMs: now, bytes });
    return bytes;
  }

  #followReload(now: number): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    if (this.reloadedCount() >= pending.doneAt) {
      this.reloads.done++;
      this.reloads.slowestMs = Math.max(this.reloads.slowestMs, now - pending.askedAt);
      this.#pending = undefined;
    } else if (now - pending.askedAt > RELOAD_TIMEOUT_MS) {
      this.reloads.late++;
      this.#subject.say(
        `soak: a reload by ${pending.how} was not logged as done in ${RELOAD_TIMEOUT_MS} ms`,
      );
      this.#pending = undefined;
    }
  }

  async #reload(now: number): Promise<void> {
    const { files, service } = this.#subject;
    const how = this.reloads.asked % 2 === 0 ? "rename" : "SIGHUP";
    this.#pending = { how, askedAt: now, doneAt: this.reloadedCount() + 1 };
    this.reloads.asked++;
    if (how === "rename") {
      await Deno.copyFile(files.pristine, `${files.served}.next`);
      await Deno.rename(`${files.served}.next`, files.served);
    } else {
      Deno.kill(service.pid, "SIGHUP");
    }
    this.#nextReload += this.#subject.options.reloadEveryMs;
  }

  #minute(now: number): void {
    const { stat, service, say } = this.#subject;
    const minute = this.#nextMinute / 60_000;
    const sent = stat("sent");
    const rate = (sent - this.#lastSent) / ((now - this.#lastMinuteAt) / 1000);
    const bytes = residentBytes(service.pid);
    this.memory.push({ label: `minute ${minute}`, atMs: now, bytes });
    say(
      `soak: minute ${minute}: ${sent} requests (${rate.toFixed(0)}/s), ` +
        `${stat("errors")} errors, ${stat("timeouts")} timeouts, ${stat("malformed")} ` +
        `malformed, ${this.reloads.done}/${this.reloads.asked} reloads, ${
          stat("restarts")
        } client ` +
        `restarts, VmRSS ${mb(bytes)}`,
    );
    this.#lastSent = sent;
    this.#lastMinuteAt = now;
    this.#nextMinute += 60_000;
  }
}
