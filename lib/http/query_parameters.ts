/**
 * The query of a lookup route, read one way on every route: empty pieces (`?&`, `a=1&&b=2`)
 * are nothing; a parameter the route does not take is refused; a parameter that may be
 * given once and is given twice is refused, instead of one of the two winning in silence.
 *
 * @module
 */

/** A query the route refuses, with the reason (answered 400). */
export class QueryError extends Error {
  /**
   * @param message why, for the client
   */
  constructor(message: string) {
    super(message);
    this.name = "QueryError";
  }
}

/** How often a route takes each parameter: once, or any number of times. */
export type QuerySchema = Readonly<Record<string, "once" | "many">>;

/**
 * Reads a query against the parameters a route takes.
 *
 * @example
 * ```ts
 * import { readQuery } from "./query_parameters.ts";
 * const query = readQuery("fields=city.name&&lang=de", { fields: "once", lang: "once" });
 * console.log(query.get("fields"), query.get("lang")); // [ "city.name" ] [ "de" ]
 * console.log(readQuery("&", { fields: "once" }).size); // 0
 * try {
 *   readQuery("lang=de&lang=en", { lang: "once" });
 * } catch (error) {
 *   console.log((error as Error).message); // query parameter "lang" given more than once
 * }
 * ```
 *
 * @param query the query, after `?` and without it
 * @param schema the parameters the route takes
 * @returns each parameter given, with its values (percent-decoded, `+` as a space)
 * @throws {QueryError} for a parameter the route does not take, or one given twice that
 *   it takes once
 */
export function readQuery(query: string, schema: QuerySchema): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(query)) {
    if (name === "" && value === "") continue;
    const takes = Object.hasOwn(schema, name) ? schema[name] : undefined;
    if (takes === undefined) {
      const expected = Object.keys(schema);
      throw new QueryError(
        `unknown query parameter "${printable(name)}"; ` +
          (expected.length === 0 ? "this route takes none" : `expected ${expected.join(" or ")}`),
      );
    }
    const given = values.get(name);
    if (given === undefined) values.set(name, [value]);
    else if (takes === "once") {
      throw new QueryError(`query parameter "${name}" given more than once`);
    } else given.push(value);
  }
  return values;
}

/** A parameter's name as it may be quoted back: control characters escaped, at most 64. */
function printable(name: string): string {
  const shown = JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}...` : name);
  return shown.slice(1, -1);
}
