/**
 * What the ZAP worker and the main thread share while the worker blocks in libzmq: the
 * generation of the allow-list the main thread wants in force (the list itself is posted
 * as a message, see `zap_worker.ts`), how many keys the list in force holds, and how many
 * CURVE handshakes were let in and refused. It lives in a `SharedArrayBuffer` read with
 * `Atomics`, so the main thread reads the counters without asking the worker.
 *
 * @module
 */

const GENERATION = 0; // Int32 slot
const KEYS = 1; // Int32 slot
const ALLOWED = 1; // BigInt64 slot (bytes 8 to 15)
const REFUSED = 2; // BigInt64 slot (bytes 16 to 23)
const BYTES = 24;

/**
 * The shared state of a ZAP handler.
 *
 * @example
 * ```ts
 * import { ZapState } from "./zap_state.ts";
 * const state = ZapState.create();
 * // in the worker: const state = ZapState.fromBuffer(setup.state);
 * state.recordRefused();
 * console.log(state.refused); // 1
 * console.log(state.renderPrometheus().includes('outcome="refused"} 1')); // true
 * ```
 */
export class ZapState {
  /** The shared memory, to hand to the worker. */
  readonly buffer: SharedArrayBuffer;
  readonly #words: Int32Array<SharedArrayBuffer>;
  readonly #counters: BigInt64Array<SharedArrayBuffer>;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#words = new Int32Array(buffer);
    this.#counters = new BigInt64Array(buffer);
  }

  /** @returns a new state: generation 0, no keys, nothing counted */
  static create(): ZapState {
    return new ZapState(new SharedArrayBuffer(BYTES));
  }

  /**
   * @param buffer a {@linkcode ZapState.buffer} from another thread
   * @returns a view of the same state
   * @throws {TypeError} when the buffer is not one
   */
  static fromBuffer(buffer: SharedArrayBuffer): ZapState {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== BYTES) {
      throw new TypeError("not a ZapState buffer (made by ZapState.create())");
    }
    return new ZapState(buffer);
  }

  /** The allow-list generation the main thread wants in force. */
  get generation(): number {
    return Atomics.load(this.#words, GENERATION);
  }

  /**
   * Main thread: says a new allow-list is due; post it to the worker first.
   *
   * @param generation the generation of the list posted
   */
  announce(generation: number): void {
    Atomics.store(this.#words, GENERATION, generation);
  }

  /** How many client keys the allow-list in force holds. */
  get keyCount(): number {
    return Atomics.load(this.#words, KEYS);
  }

  /**
   * Worker: records the size of the allow-list now in force.
   *
   * @param count its number of keys
   */
  setKeyCount(count: number): void {
    Atomics.store(this.#words, KEYS, count);
  }

  /** Worker: counts a handshake let in. */
  recordAllowed(): void {
    Atomics.add(this.#counters, ALLOWED, 1n);
  }

  /** Worker: counts a handshake refused. */
  recordRefused(): void {
    Atomics.add(this.#counters, REFUSED, 1n);
  }

  /** CURVE handshakes let in so far. */
  get allowed(): number {
    return Number(Atomics.load(this.#counters, ALLOWED));
  }

  /** CURVE handshakes refused so far. */
  get refused(): number {
    return Number(Atomics.load(this.#counters, REFUSED));
  }

  /**
   * Renders the counters in Prometheus's text format 0.0.4, to append to the service's.
   *
   * @returns the lines, ending with a line break
   */
  renderPrometheus(): string {
    return [
      "# HELP geoipmq_curve_handshakes_total CURVE handshakes decided by the allow-list, by outcome.",
      "# TYPE geoipmq_curve_handshakes_total counter",
      `geoipmq_curve_handshakes_total{outcome="allowed"} ${this.allowed}`,
      `geoipmq_curve_handshakes_total{outcome="refused"} ${this.refused}`,
      "# HELP geoipmq_curve_allowed_keys Client keys on the CURVE allow-list in force.",
      "# TYPE geoipmq_curve_allowed_keys gauge",
      `geoipmq_curve_allowed_keys ${this.keyCount}`,
    ].join("\n") + "\n";
  }
}
