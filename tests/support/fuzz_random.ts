/**
 * The seeded randomness of the fuzz tests: a small PRNG (mulberry32), helpers to draw
 * from it, and the two environment variables that turn a normal test run into a long
 * fuzz run.
 *
 * - `GEOIPMQ_FUZZ_LONG=1` (set by `deno task fuzz`): a long run, by default with a fresh
 *   random seed and ten times the cases.
 * - `GEOIPMQ_FUZZ_SEED`: a number to replay a run, or `random` for a fresh seed (printed).
 *   Unset: the fixed seed of the normal test run, or a random one in a long run.
 * - `GEOIPMQ_FUZZ_SCALE`: a factor applied to every case count (default 1, or 10 in a long
 *   run).
 *
 * Replay a long run: `GEOIPMQ_FUZZ_SEED=<printed seed> deno task fuzz`.
 *
 * @module
 */

/** The seed of the normal test run. */
export const DEFAULT_FUZZ_SEED = 20260918;

/** A seeded source of random numbers: the same seed always gives the same sequence. */
export class Random {
  #state: number;

  /** @param seed any 32-bit integer */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** @returns the next 32-bit unsigned integer */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /**
   * @param bound the exclusive upper bound, at least 1
   * @returns an integer in `[0, bound)`
   */
  int(bound: number): number {
    return Math.floor((this.next() / 0x1_0000_0000) * bound);
  }

  /**
   * @param min the smallest value
   * @param max the largest value (inclusive)
   * @returns an integer in `[min, max]`
   */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /**
   * @param probability between 0 and 1
   * @returns true with that probability
   */
  chance(probability: number): boolean {
    return this.next() / 0x1_0000_0000 < probability;
  }

  /**
   * @param items a non-empty list
   * @returns one of them
   */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /**
   * @param length how many bytes
   * @returns random bytes
   */
  bytes(length: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

/**
 * Derives the seed of one case from a run's seed, so a single failing case can be
 * replayed without replaying the ones before it.
 *
 * @param seed the run's seed
 * @param index the case's number
 * @returns the case's seed
 */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The seed and scale of a fuzz run, from the environment. */
export interface FuzzSettings {
  /** The run's seed. */
  seed: number;
  /** Whether the seed was drawn at random for this run. */
  randomSeed: boolean;
  /** The factor applied to case counts. */
  scale: number;
}

/**
 * Reads `GEOIPMQ_FUZZ_SEED` and `GEOIPMQ_FUZZ_SCALE`, and prints the seed when it was
 * drawn at random, with how to replay the run.
 *
 * @param name the test file's short name, for the printed line
 * @returns the settings
 * @throws {Error} for a value that is not a number
 */
export function fuzzSettings(name: string): FuzzSettings {
  const long = Deno.env.get("GEOIPMQ_FUZZ_LONG") === "1";
  const seedText = Deno.env.get("GEOIPMQ_FUZZ_SEED")?.trim() || (long ? "random" : "");
  const scaleText = Deno.env.get("GEOIPMQ_FUZZ_SCALE")?.trim() || (long ? "10" : "");
  const scale = scaleText === "" ? 1 : Number(scaleText);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1000) {
    throw new Error(`GEOIPMQ_FUZZ_SCALE must be a number in (0, 1000], got "${scaleText}"`);
  }
  let seed = DEFAULT_FUZZ_SEED;
  const randomSeed = seedText === "random";
  if (randomSeed) {
    seed = crypto.getRandomValues(new Uint32Array(1))[0]!;
  } else if (seedText !== "") {
    seed = Number(seedText);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
      throw new Error(`GEOIPMQ_FUZZ_SEED must be an integer from 0 to 2^32-1 or "random"`);
    }
  }
  if (randomSeed || scale !== 1 || seed !== DEFAULT_FUZZ_SEED) {
    console.log(
      `${name}: seed ${seed}, scale ${scale} (replay: GEOIPMQ_FUZZ_SEED=${seed} ` +
        `GEOIPMQ_FUZZ_SCALE=${scale} deno test -A tests/${name}.ts)`,
    );
  }
  return { seed, randomSeed, scale };
}

/**
 * @param base the count of the normal run
 * @param settings the run's settings
 * @returns the count scaled, at least 1
 */
export function scaled(base: number, settings: FuzzSettings): number {
  return Math.max(1, Math.round(base * settings.scale));
}
