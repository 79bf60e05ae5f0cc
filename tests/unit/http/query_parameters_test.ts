import assert from "node:assert/strict";
import { QueryError, readQuery } from "../../../lib/http/query_parameters.ts";

const JSON_ROUTE = { fields: "once", lang: "once" } as const;

function refusal(query: string, schema: Record<string, "once" | "many">): string {
  try {
    readQuery(query, schema);
  } catch (error) {
    assert.ok(error instanceof QueryError, String(error));
    return error.message;
  }
  assert.fail(`read: ${JSON.stringify(query)}`);
}

Deno.test("readQuery() reads each parameter a route takes", () => {
  const query = readQuery("fields=city.name,country.iso_code&lang=de%2Cen", JSON_ROUTE);
  assert.deepEqual([...query], [["fields", ["city.name,country.iso_code"]], ["lang", ["de,en"]]]);
  assert.deepEqual(readQuery("ip=1.2.3.4&ip=::1", { ip: "many" }).get("ip"), ["1.2.3.4", "::1"]);
});

Deno.test("readQuery() ignores empty pieces", () => {
  assert.equal(readQuery("", JSON_ROUTE).size, 0);
  assert.equal(readQuery("&", JSON_ROUTE).size, 0);
  assert.equal(readQuery("&&&", {}).size, 0);
  assert.deepEqual(readQuery("lang=de&&fields=city.name&", JSON_ROUTE).get("fields"), [
    "city.name",
  ]);
});

Deno.test("readQuery() refuses a parameter given twice that the route takes once", () => {
  assert.equal(
    refusal("fields=a&fields=b", JSON_ROUTE),
    'query parameter "fields" given more than once',
  );
  assert.equal(
    refusal("lang=de&lang=de", JSON_ROUTE),
    'query parameter "lang" given more than once',
  );
});

Deno.test("readQuery() refuses a parameter the route does not take", () => {
  assert.equal(refusal("x=1", JSON_ROUTE), 'unknown query parameter "x"; expected fields or lang');
  assert.equal(refusal("ip=1.2.3.4", {}), 'unknown query parameter "ip"; this route takes none');
  assert.equal(refusal("=1", JSON_ROUTE), 'unknown query parameter ""; expected fields or lang');
  assert.equal(
    refusal("__proto__=1", JSON_ROUTE),
    'unknown query parameter "__proto__"; expected fields or lang',
  );
  assert.equal(refusal("%0a=1", {}), 'unknown query parameter "\\n"; this route takes none');
});
