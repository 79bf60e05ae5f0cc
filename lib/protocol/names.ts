/**
 * Names in a record's `names` map (language tag to name), read in a preferred language.
 *
 * @module
 */

/** The language a name falls back to when none of the preferred ones is there. */
export const FALLBACK_LANGUAGE = "en";

/**
 * The name in the first of the preferred languages that has one, else in English.
 *
 * @example
 * ```ts
 * import { localizedName } from "./names.ts";
 * const names = { en: "Munich", de: "München" };
 * console.log(localizedName(names, ["fr", "de"])); // "München"
 * console.log(localizedName(names, ["fr"])); // "Munich"
 * console.log(localizedName({ de: "München" }, ["fr"])); // undefined
 * ```
 *
 * @param names a `names` map of a record (language tag to name)
 * @param languages the preferred languages, most preferred first
 * @returns the name, or undefined when there is none in those languages or English
 */
export function localizedName(names: unknown, languages: readonly string[]): string | undefined {
  for (const language of languages) {
    const name = member(names, language);
    if (typeof name === "string") return name;
  }
  const fallback = member(names, FALLBACK_LANGUAGE);
  return typeof fallback === "string" ? fallback : undefined;
}

function member(value: unknown, key: string): unknown {
  if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return undefined;
  return (value as Record<string, unknown>)[key];
}
