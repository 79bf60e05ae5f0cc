/**
 * Runs the reloads of one kind of file (the databases, the CURVE allow-list, the TLS
 * pair) one at a time: a reload asked for while one runs is done once more after it,
 * however many times it was asked (a burst of SIGHUPs or file events is one more reload,
 * not many).
 *
 * @module
 */

/**
 * Serialises reloads.
 *
 * @example
 * ```ts
 * import { FileReloader } from "./file_reloader.ts";
 * let runs = 0;
 * const reloader = new FileReloader(async () => { runs++; });
 * reloader.request();
 * reloader.request();
 * await reloader.idle();
 * console.log(runs); // 2: the second request waited for the first run
 * ```
 */
export class FileReloader {
  readonly #reload: () => Promise<void>;
  #running: Promise<void> | undefined;
  #again = false;

  /** @param reload one reload; it reports its own failures */
  constructor(reload: () => Promise<void>) {
    this.#reload = reload;
  }

  /** Asks for a reload: now, or after the one running. */
  request(): void {
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop();
  }

  /** @returns a promise that settles when no reload is running or due */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        await this.#reload();
      } while (this.#again);
    } finally {
      this.#running = undefined;
    }
  }
}
