/**
 * A list of strings held as one string and the offsets of its items: what a long answer
 * keeps of its request while it is written (1000 addresses are one string of a few KiB
 * instead of 1000 string objects, which a client that never reads would hold as long).
 *
 * @module
 */

/** An immutable list of strings packed into one. */
export class PackedStrings {
  readonly #text: string;
  readonly #ends: Uint32Array;

  private constructor(text: string, ends: Uint32Array) {
    this.#text = text;
    this.#ends = ends;
  }

  /**
   * Packs a list.
   *
   * @example
   * ```ts
   * import { PackedStrings } from "./packed_strings.ts";
   * const packed = PackedStrings.of(["81.2.69.160", "", "2001:db8::1"]);
   * console.log(packed.length, packed.at(0), packed.at(1), packed.at(2)); // 3 81.2.69.160  2001:db8::1
   * ```
   *
   * @param items the strings
   * @returns the packed list
   */
  static of(items: readonly string[]): PackedStrings {
    const ends = new Uint32Array(items.length);
    let end = 0;
    for (let i = 0; i < items.length; i++) {
      end += items[i]!.length;
      ends[i] = end;
    }
    return new PackedStrings(items.join(""), ends);
  }

  /** How many items. */
  get length(): number {
    return this.#ends.length;
  }

  /**
   * @param index the item's index
   * @returns the item, or undefined past the end
   */
  at(index: number): string | undefined {
    if (index < 0 || index >= this.#ends.length) return undefined;
    return this.#text.slice(index === 0 ? 0 : this.#ends[index - 1]!, this.#ends[index]!);
  }
}
