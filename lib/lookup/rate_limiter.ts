/**
 * A per-client rate limit: a token bucket per peer address, in bounded shared memory, so
 * that every thread that answers (the ZeroMQ front end, each HTTP thread) draws on one
 * bucket per address.
 *
 * @module
 */

/** Options for {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Requests allowed per second per address; also the burst a quiet address may send. */
  perSecond: number;
  /** Addresses tracked at most (default 65,536); see {@linkcode RateLimiter}. */
  maxAddresses?: number;
  /**
   * The buckets of another limiter ({@linkcode RateLimiter.table}), to share them across
   * threads; `maxAddresses` is then the other limiter's.
   */
  table?: SharedArrayBuffer;
}

/** The default bound on the addresses a limiter tracks. */
export const DEFAULT_MAX_TRACKED_ADDRESSES = 65_536;

/** Slots looked at for one address, from where its hash points. */
const PROBES = 32;
/** Bytes of one slot: lock, used, two words of key (Int32), then tokens and time (Float64). */
const SLOT_BYTES = 32;
/** Bytes before the first slot: the count of addresses tracked, and the table's bound. */
const HEADER_BYTES = 64;
const LOCK = 0;
const USED = 1;
const KEY_LOW = 2;
const KEY_HIGH = 3;
const TOKENS = 2;
const AT = 3;
const TRACKED = 0;
const MAX_TRACKED = 1;

/**
 * Allows each peer address `perSecond` requests per second (a token bucket holding at
 * most `perSecond` tokens (at least one), refilled continuously). A request counts once,
 * whatever it asks (a batch of 100 addresses is one request).
 *
 * The buckets live in a `SharedArrayBuffer` ({@linkcode RateLimiter.table}): limiters
 * made on other threads with `{ table }` share them, so an address has one budget however
 * many threads and transports it uses. Every sharer must give times from one clock
 * (`Date.now()`). Each bucket has a lock of its own (an `Atomics` spin lock, held for a
 * few instructions).
 *
 * Memory is bounded: at most `maxAddresses` buckets are kept, in a table of twice as many
 * slots (32 bytes each); an address may sit in any of 32 slots from where its hash points.
 * A full bucket is the same as no bucket, so when the table is full a new address takes
 * the slot of a full one; if every bucket it may take is still limited, the new address
 * is refused until one refills, so a flood from many addresses cannot push out the
 * limited ones.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./rate_limiter.ts";
 * const limiter = new RateLimiter({ perSecond: 2 });
 * console.log(limiter.allow("192.0.2.1", 0)); // true
 * console.log(limiter.allow("192.0.2.1", 0)); // true
 * console.log(limiter.allow("192.0.2.1", 0)); // false
 * console.log(limiter.retryAfterSeconds("192.0.2.1", 0)); // 1
 * console.log(limiter.allow("192.0.2.1", 500)); // true: half a second refilled one
 * console.log(limiter.allow("198.51.100.7", 0)); // true: another address
 * // Another thread's limiter, given the table, draws on the same buckets.
 * const elsewhere = new RateLimiter({ perSecond: 2, table: limiter.table });
 * console.log(elsewhere.allow("192.0.2.1", 500)); // false
 * ```
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #perMs: number;
  readonly #burst: number;
  readonly #table: SharedArrayBuffer;
  readonly #header: Int32Array;
  readonly #words: Int32Array;
  readonly #numbers: Float64Array;
  readonly #mask: number;
  #refused = 0;

  /** @param options the rate, and the bound on tracked addresses or a table to share */
  constructor(options: RateLimiterOptions) {
    if (!(options.perSecond > 0)) {
      throw new RangeError(`Rate limit must be above 0: ${options.perSecond}`);
    }
    this.#perSecond = options.perSecond;
    this.#perMs = options.perSecond / 1000;
    this.#burst = Math.max(1, options.perSecond);
    let table = options.table;
    if (table === undefined) {
      const maxAddresses = Math.max(1, options.maxAddresses ?? DEFAULT_MAX_TRACKED_ADDRESSES);
      const slots = 2 ** Math.ceil(Math.log2(Math.max(PROBES, 2 * maxAddresses)));
      table = new SharedArrayBuffer(HEADER_BYTES + slots * SLOT_BYTES);
      new Int32Array(table, 0, 2)[MAX_TRACKED] = maxAddresses;
    }
    this.#table = table;
    const slots = (table.byteLength - HEADER_BYTES) / SLOT_BYTES;
    this.#mask = slots - 1;
    this.#header = new Int32Array(table, 0, 2);
    this.#words = new Int32Array(table, HEADER_BYTES);
    this.#numbers = new Float64Array(table, HEADER_BYTES);
  }

  /** The buckets, to give to limiters on other threads (`{ table }`). */
  get table(): SharedArrayBuffer {
    return this.#table;
  }

  /** Requests per second allowed per address. */
  get perSecond(): number {
    return this.#perSecond;
  }

  /** Addresses tracked now (by every limiter sharing the table). */
  get trackedAddresses(): number {
    return Atomics.load(this.#header, TRACKED);
  }

  /** Requests this limiter refused so far. */
  get refused(): number {
    return this.#refused;
  }

  /**
   * Takes a token for a request from `address`.
   *
   * @param address the peer's address, as text
   * @param nowMs the time now, in milliseconds, from the clock every sharer uses
   * @returns whether the request may be answered
   */
  allow(address: string, nowMs: number): boolean {
    const slot = this.#slotFor(address, nowMs);
    if (slot < 0) {
      this.#refused++;
      return false;
    }
    // #slotFor returns with the slot locked.
    const numbers = this.#numbers;
    const at = slot * (SLOT_BYTES / 8);
    let allowed = false;
    if (numbers[at + TOKENS]! >= 1) {
      numbers[at + TOKENS]! -= 1;
      allowed = true;
    }
    this.#unlock(slot);
    if (!allowed) this.#refused++;
    return allowed;
  }

  /**
   * How long `address` should wait before its next request is allowed.
   *
   * @param address the peer's address, as text
   * @param nowMs the time now, in the same clock as {@linkcode RateLimiter.allow}
   * @returns whole seconds, at least 1 (the value of an HTTP `Retry-After`)
   */
  retryAfterSeconds(address: string, nowMs: number): number {
    const [low, high] = fingerprint(address);
    for (let probe = 0; probe < PROBES; probe++) {
      const slot = (low + probe) & this.#mask;
      this.#lock(slot);
      if (this.#holds(slot, low, high)) {
        this.#refill(slot, nowMs);
        const missing = 1 - this.#numbers[slot * (SLOT_BYTES / 8) + TOKENS]!;
        this.#unlock(slot);
        return Math.max(1, Math.ceil(missing / this.#perSecond));
      }
      this.#unlock(slot);
    }
    return 1;
  }

  /**
   * Finds the address's bucket, or makes one (in an empty slot, or in place of a full
   * bucket when the table is full), refilled to now and locked.
   *
   * @returns the slot, or -1 when no bucket could be had
   */
  #slotFor(address: string, nowMs: number): number {
    const [low, high] = fingerprint(address);
    // A second round only when another thread took the empty slot chosen meanwhile.
    for (let round = 0; round < 2; round++) {
      let empty = -1;
      let full = -1;
      for (let probe = 0; probe < PROBES; probe++) {
        const slot = (low + probe) & this.#mask;
        this.#lock(slot);
        if (this.#holds(slot, low, high)) {
          this.#refill(slot, nowMs);
          return slot;
        }
        if (this.#words[slot * (SLOT_BYTES / 4) + USED] === 0) {
          if (empty < 0) empty = slot;
        } else if (full < 0 && this.#isFull(slot, nowMs)) {
          full = slot;
        }
        this.#unlock(slot);
      }
      if (empty >= 0 && Atomics.add(this.#header, TRACKED, 1) < this.#header[MAX_TRACKED]!) {
        this.#lock(empty);
        if (this.#words[empty * (SLOT_BYTES / 4) + USED] === 0) {
          this.#claim(empty, low, high, nowMs);
          return empty;
        }
        Atomics.sub(this.#header, TRACKED, 1);
        if (this.#holds(empty, low, high)) {
          this.#refill(empty, nowMs);
          return empty;
        }
        this.#unlock(empty);
        continue;
      }
      if (empty >= 0) Atomics.sub(this.#header, TRACKED, 1);
      if (full < 0) return -1;
      this.#lock(full);
      // Another thread may have used it meanwhile: take it only if it is still full.
      if (!this.#isFull(full, nowMs)) {
        this.#unlock(full);
        return -1;
      }
      const word = full * (SLOT_BYTES / 4);
      this.#words[word + KEY_LOW] = low;
      this.#words[word + KEY_HIGH] = high;
      return full;
    }
    return -1;
  }

  /** Whether a locked slot holds the address with this fingerprint. */
  #holds(slot: number, low: number, high: number): boolean {
    const words = this.#words;
    const word = slot * (SLOT_BYTES / 4);
    return words[word + USED] === 1 && words[word + KEY_LOW] === low &&
      words[word + KEY_HIGH] === high;
  }

  /** Whether a locked, used slot's bucket is full now (the same as no bucket). */
  #isFull(slot: number, nowMs: number): boolean {
    this.#refill(slot, nowMs);
    return this.#numbers[slot * (SLOT_BYTES / 8) + TOKENS]! >= this.#burst;
  }

  #claim(slot: number, low: number, high: number, nowMs: number): void {
    const word = slot * (SLOT_BYTES / 4);
    const at = slot * (SLOT_BYTES / 8);
    this.#words[word + KEY_LOW] = low;
    this.#words[word + KEY_HIGH] = high;
    this.#numbers[at + TOKENS] = this.#burst;
    this.#numbers[at + AT] = nowMs;
    Atomics.store(this.#words, word + USED, 1);
  }

  #refill(slot: number, nowMs: number): void {
    const numbers = this.#numbers;
    const at = slot * (SLOT_BYTES / 8);
    const elapsed = nowMs - numbers[at + AT]!;
    // A clock set back gives no tokens but moves the bucket's time, so it is not frozen.
    if (elapsed > 0) {
      numbers[at + TOKENS] = Math.min(this.#burst, numbers[at + TOKENS]! + elapsed * this.#perMs);
    }
    numbers[at + AT] = nowMs;
  }

  #lock(slot: number): void {
    const word = slot * (SLOT_BYTES / 4) + LOCK;
    while (Atomics.compareExchange(this.#words, word, 0, 1) !== 0) {
      // Another thread holds it for a few instructions.
    }
  }

  #unlock(slot: number): void {
    Atomics.store(this.#words, slot * (SLOT_BYTES / 4) + LOCK, 0);
  }
}

/** Two 32-bit FNV-1a hashes of the text, with different starts: a 64-bit fingerprint. */
function fingerprint(text: string): [number, number] {
  let low = 0x811c9dc5;
  let high = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    low = Math.imul(low ^ code, 0x01000193);
    high = Math.imul(high ^ code, 0x01000193) ^ (high >>> 15);
  }
  return [low | 0, high | 0];
}
