/**
 * Rate-limits the log lines about refused clients: at most one line per key per window
 * (10 s), and at most a fixed number of lines per window in all, so a peer that retries,
 * or one that makes up keys, cannot flood the log. Every refusal is still counted (see
 * `zap_state.ts`); this only decides which ones get a line.
 *
 * @module
 */

/** Bounds of a {@linkcode RefusalLimiter}. */
export interface RefusalLimits {
  /** One line per key per this many milliseconds (default 10 000). */
  windowMs?: number;
  /** Keys remembered at once; the least recently logged is forgotten first (default 1024). */
  maxKeys?: number;
  /** Lines per window for all keys together (default 60). */
  maxLinesPerWindow?: number;
}

/**
 * Decides which refusals are logged.
 *
 * @example
 * ```ts
 * import { RefusalLimiter } from "./refusal_limiter.ts";
 * const limiter = new RefusalLimiter({ windowMs: 10_000 });
 * console.log(limiter.note("KEY", 0)); // 0: log it, nothing was held back
 * console.log(limiter.note("KEY", 5_000)); // null: quiet, within 10 s of the last line
 * console.log(limiter.note("KEY", 10_000)); // 1: log it, one refusal was held back
 * ```
 */
export class RefusalLimiter {
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #maxLines: number;
  /** Per key: when its last line was, and refusals since; oldest line first. */
  readonly #keys = new Map<string, { loggedAt: number; held: number }>();
  #windowStart = Number.NEGATIVE_INFINITY;
  #linesInWindow = 0;

  /** @param limits the window and the bounds */
  constructor(limits: RefusalLimits = {}) {
    this.#windowMs = limits.windowMs ?? 10_000;
    this.#maxKeys = limits.maxKeys ?? 1024;
    this.#maxLines = limits.maxLinesPerWindow ?? 60;
  }

  /**
   * Notes a refusal of a key.
   *
   * @param key the refused client's key
   * @param nowMs the time, in milliseconds
   * @returns null to stay quiet; else log a line, saying how many refusals of this key
   *   were held back since its last line
   */
  note(key: string, nowMs: number): number | null {
    const entry = this.#keys.get(key);
    if (entry !== undefined && nowMs - entry.loggedAt < this.#windowMs) {
      entry.held++;
      return null;
    }
    if (nowMs - this.#windowStart >= this.#windowMs) {
      this.#windowStart = nowMs;
      this.#linesInWindow = 0;
    }
    if (this.#linesInWindow >= this.#maxLines) {
      if (entry !== undefined) entry.held++;
      return null;
    }
    this.#linesInWindow++;
    const held = entry?.held ?? 0;
    this.#keys.delete(key);
    this.#forgetOld(nowMs);
    this.#keys.set(key, { loggedAt: nowMs, held: 0 });
    return held;
  }

  /** Forgets keys whose window has passed, and the oldest ones past the bound. */
  #forgetOld(nowMs: number): void {
    for (const [key, { loggedAt }] of this.#keys) {
      if (this.#keys.size < this.#maxKeys && nowMs - loggedAt < this.#windowMs) return;
      this.#keys.delete(key);
    }
  }
}
