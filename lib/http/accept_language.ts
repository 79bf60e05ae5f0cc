/**
 * `Accept-Language` (RFC 9110 section 12.5.4): the languages a client prefers, as the
 * list of tags the names of a record are looked up in.
 *
 * @module
 */

import { MAX_LANGUAGES, type Parsed, parseLanguageList } from "../protocol/mod.ts";

const RANGE = /^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$/;
const WEIGHT = /^[qQ]\s*=\s*(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The languages of an `Accept-Language` value, most preferred first (by q-value, then in
 * the order written), each followed by its shorter forms as RFC 4647 lookup does
 * (`de-CH` then `de`), written as MaxMind writes its tags (`zh-CN`); `*` and ranges with
 * `q=0` are left out, and at most {@linkcode MAX_LANGUAGES} tags are kept.
 *
 * @example
 * ```ts
 * import { acceptedLanguages } from "./accept_language.ts";
 * console.log(acceptedLanguages("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"));
 * // { ok: true, value: ["fr-CH", "fr", "en", "de"] }
 * console.log(acceptedLanguages("zh-cn;q=0.5, ja"));
 * // { ok: true, value: ["ja", "zh-CN", "zh"] }
 * ```
 *
 * @param value the header's value
 * @returns the tags (possibly none), or why the value does not parse
 */
export function acceptedLanguages(value: string): Parsed<string[]> {
  const ranges: { tag: string; q: number; at: number }[] = [];
  const items = value.split(",");
  for (let at = 0; at < items.length; at++) {
    const item = items[at]!.trim();
    if (item === "") continue;
    const [range, ...parameters] = item.split(";").map((part) => part.trim());
    if (!RANGE.test(range!)) return refuse(`invalid language range "${range}"`);
    let q = 1;
    for (const parameter of parameters) {
      const weight = WEIGHT.exec(parameter);
      if (weight === null) return refuse(`invalid weight "${parameter}" (expected q=0 to q=1)`);
      q = Number(weight[1]);
    }
    if (range !== "*" && q > 0) ranges.push({ tag: range!, q, at });
  }
  ranges.sort((a, b) => b.q - a.q || a.at - b.at);
  const tags: string[] = [];
  for (const { tag } of ranges) {
    const parts = tag.split("-");
    for (let n = parts.length; n > 0; n--) {
      const parsed = parseLanguageList(parts.slice(0, n).join("-"));
      if (!parsed.ok) continue;
      const canonical = parsed.value[0]!;
      if (!tags.includes(canonical)) tags.push(canonical);
    }
    if (tags.length >= MAX_LANGUAGES) break;
  }
  return { ok: true, value: tags.slice(0, MAX_LANGUAGES) };
}

function refuse(reason: string): Parsed<string[]> {
  return { ok: false, reason: `Accept-Language: ${reason}` };
}
