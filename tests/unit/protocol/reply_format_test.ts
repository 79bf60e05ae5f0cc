import assert from "node:assert/strict";
import { formatFixed6, formatTsv, stringifyJson } from "../../../lib/protocol/reply_format.ts";

Deno.test("formatFixed6() prints six decimals like C's %f", () => {
  assert.equal(formatFixed6(51.5142), "51.514200");
  assert.equal(formatFixed6(-0.0931), "-0.093100");
  assert.equal(formatFixed6(0), "0.000000");
  assert.equal(formatFixed6(-0), "-0.000000");
  assert.equal(formatFixed6(180), "180.000000");
  assert.equal(formatFixed6(1e-9), "0.000000");
  assert.equal(formatFixed6(-1e-9), "-0.000000");
});

Deno.test("formatFixed6() rounds exact ties to even, as glibc's printf does", () => {
  // 1/128 = 0.0078125 exactly: the 7th decimal is an exact tie.
  assert.equal(formatFixed6(0.0078125), "0.007812");
  assert.equal(formatFixed6(-0.0078125), "-0.007812");
  assert.equal(formatFixed6(0.0234375), "0.023438");
  assert.equal(formatFixed6(10.5078125), "10.507812");
  // Not ties: these decimals are not exact in binary; the stored double decides
  // (1.0000005 is stored as 1.00000050000000006989, 0.1234565 as 0.12345649999999999680).
  assert.equal(formatFixed6(1.0000005), "1.000001");
  assert.equal(formatFixed6(0.1234565), "0.123456");
});

Deno.test("formatTsv() writes the eight fields of the original geoipmq", () => {
  const record = {
    city: { names: { en: "London", de: "London" } },
    country: { iso_code: "GB" },
    location: { latitude: 51.5142, longitude: -0.0931, metro_code: 501 },
    postal: { code: "EC1A" },
    subdivisions: [{ iso_code: "ENG" }, { iso_code: "XX" }],
  };
  assert.equal(
    formatTsv(record),
    "GB\tENG\tLondon\tEC1A\t51.514200\t-0.093100\t501\t(null)",
  );
});

Deno.test("formatTsv() writes (null) for every missing field", () => {
  assert.equal(formatTsv({}), new Array(8).fill("(null)").join("\t"));
  assert.equal(formatTsv({ subdivisions: [] }), new Array(8).fill("(null)").join("\t"));
  assert.equal(
    formatTsv({ country: { iso_code: "US" }, location: { latitude: 37.751 } }),
    "US\t(null)\t(null)\t(null)\t37.751000\t(null)\t(null)\t(null)",
  );
});

Deno.test("formatTsv() keeps one line of eight fields whatever the strings hold", () => {
  const line = formatTsv({ city: { names: { en: "A\tB\nC\rD" } }, country: { iso_code: "" } });
  assert.equal(line.split("\t").length, 8);
  assert.equal(line.includes("\n"), false);
  assert.equal(line.split("\t")[2], "A B C D");
  assert.equal(line.split("\t")[0], "");
});

Deno.test("formatTsv() ignores fields of the wrong type", () => {
  const line = formatTsv({
    country: { iso_code: { nested: true } },
    location: { latitude: "51", longitude: Number.NaN, metro_code: 1.5 },
  });
  assert.equal(line, new Array(8).fill("(null)").join("\t"));
});

Deno.test("stringifyJson() writes 64- and 128-bit integers exactly and bytes as arrays", () => {
  const text = stringifyJson({
    big: 18446744073709551615n,
    huge: 340282366920938463463374607431768211455n,
    bytes: new Uint8Array([0, 255]),
    text: "ü",
  });
  assert.equal(
    text,
    '{"big":18446744073709551615,"huge":340282366920938463463374607431768211455,' +
      '"bytes":[0,255],"text":"ü"}',
  );
});
