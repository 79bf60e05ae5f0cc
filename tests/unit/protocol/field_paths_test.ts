import assert from "node:assert/strict";
import {
  type FieldPath,
  formatFields,
  MAX_FIELDS,
  MAX_LANGUAGES,
  parseFieldList,
  parseLanguageList,
  RECORD_NAMES,
  renderField,
  resolveField,
} from "../../../lib/protocol/field_paths.ts";
import { localizedName } from "../../../lib/protocol/names.ts";

function paths(text: string): FieldPath[] {
  const parsed = parseFieldList(text);
  if (!parsed.ok) assert.fail(`${JSON.stringify(text)} refused: ${parsed.reason}`);
  return parsed.value;
}

function refusal(parsed: { ok: true } | { ok: false; reason: string }): string {
  if (parsed.ok) assert.fail("expected a refusal");
  assert.doesNotMatch(parsed.reason, /[\t\r\n]/);
  return parsed.reason;
}

const MUNICH = {
  city: { geoname_id: 2867714, names: { de: "München", en: "Munich", "pt-BR": "Munique" } },
  country: { iso_code: "DE", names: { de: "Deutschland", en: "Germany" } },
  location: { latitude: 48.1371, longitude: 11.5754, accuracy_radius: 20 },
  subdivisions: [
    { iso_code: "BY", names: { de: "Bayern", en: "Bavaria" } },
    { iso_code: "09", names: { fr: "Haute-Bavière" } },
  ],
  traits: { autonomous_system_number: 3320, is_anonymous_vpn: true, domain: "a\tb\r\nc" },
};

Deno.test("parseFieldList() splits paths into their parts", () => {
  assert.deepEqual(
    paths("country.iso_code,city.names.en,location.latitude,subdivisions.0.name,traits").map(
      (p) => [p.text, p.segments],
    ),
    [
      ["country.iso_code", ["country", "iso_code"]],
      ["city.names.en", ["city", "names", "en"]],
      ["location.latitude", ["location", "latitude"]],
      ["subdivisions.0.name", ["subdivisions", "0", "name"]],
      ["traits", ["traits"]],
    ],
  );
  assert.equal(paths("city.names.zh-CN,city.name,city.name").length, 3);
  assert.equal(paths(RECORD_NAMES.join(",")).length, RECORD_NAMES.length);
  assert.equal(paths(Array(MAX_FIELDS).fill("city").join(",")).length, MAX_FIELDS);
});

Deno.test("parseFieldList() refuses paths that cannot exist, saying why", async (t) => {
  await t.step("an empty list or field", () => {
    assert.equal(refusal(parseFieldList("")), "empty field list");
    assert.equal(refusal(parseFieldList(",")), 'empty field in ","');
    assert.equal(
      refusal(parseFieldList("city.name,,country.name")),
      'empty field in "city.name,,country.name"',
    );
    assert.equal(refusal(parseFieldList("city.name,")), 'empty field in "city.name,"');
  });
  await t.step("an empty part", () => {
    assert.equal(refusal(parseFieldList("city..name")), 'empty part in field "city..name"');
    assert.equal(refusal(parseFieldList(".city")), 'empty part in field ".city"');
    assert.equal(refusal(parseFieldList("city,city.")), 'empty part in field "city."');
  });
  await t.step("an unknown top-level name", () => {
    for (const name of ["area_code", "City", "names", "name", "0", "ip", "network", "record"]) {
      const reason = refusal(parseFieldList(`country.iso_code,${name}.x`));
      assert.ok(reason.startsWith(`unknown field "${name}.x": fields start with city, `), reason);
    }
  });
  await t.step("characters no name has", () => {
    assert.equal(
      refusal(parseFieldList("subdivisions[0].iso_code")),
      'field "subdivisions[0].iso_code" has characters other than A-Z a-z 0-9 _ - .',
    );
    assert.match(refusal(parseFieldList("city.names.en us")), /^field "city.names.en us" has/);
  });
  await t.step("too many fields", () => {
    const many = Array(MAX_FIELDS + 1).fill("city").join(",");
    assert.equal(refusal(parseFieldList(many)), `more than ${MAX_FIELDS} fields`);
  });
  await t.step("quoting the bad value safely", () => {
    assert.equal(
      refusal(parseFieldList('x"\u0001\u00e9.y')),
      'field "x\\"\\u0001\\u00e9.y" has characters other than A-Z a-z 0-9 _ - .',
    );
    const long = "country." + "a".repeat(100) + "..";
    assert.match(refusal(parseFieldList(long)), /^empty part in field "country\.a{32}\.\.\."$/);
  });
});

Deno.test("parseLanguageList() reads tags in order, in MaxMind's case", () => {
  assert.deepEqual(parseLanguageList("en"), { ok: true, value: ["en"] });
  assert.deepEqual(parseLanguageList("de,en"), { ok: true, value: ["de", "en"] });
  assert.deepEqual(parseLanguageList("PT-br,zh-cn,ZH-hans-cn,de-1996"), {
    ok: true,
    value: ["pt-BR", "zh-CN", "zh-Hans-CN", "de-1996"],
  });
  assert.equal(
    (parseLanguageList(Array(MAX_LANGUAGES).fill("en").join(",")) as { value: string[] }).value
      .length,
    MAX_LANGUAGES,
  );
});

Deno.test("parseLanguageList() refuses an empty list and what is not a tag", () => {
  assert.equal(refusal(parseLanguageList("")), "empty language list");
  assert.equal(refusal(parseLanguageList("de,,en")), 'empty language in "de,,en"');
  assert.equal(refusal(parseLanguageList("de,")), 'empty language in "de,"');
  assert.equal(refusal(parseLanguageList("d e")), 'invalid language tag "d e"');
  assert.equal(refusal(parseLanguageList("pt_BR")), 'invalid language tag "pt_BR"');
  assert.equal(refusal(parseLanguageList("-en")), 'invalid language tag "-en"');
  assert.equal(refusal(parseLanguageList("en-")), 'invalid language tag "en-"');
  assert.equal(refusal(parseLanguageList("1en")), 'invalid language tag "1en"');
  assert.equal(refusal(parseLanguageList("\u00e9")), 'invalid language tag "\\u00e9"');
  assert.equal(
    refusal(parseLanguageList(Array(MAX_LANGUAGES + 1).fill("en").join(","))),
    `more than ${MAX_LANGUAGES} languages`,
  );
});

Deno.test("localizedName() takes the first preferred language present, else English", () => {
  const names = MUNICH.city.names;
  assert.equal(localizedName(names, ["de", "en"]), "München");
  assert.equal(localizedName(names, ["fr", "pt-BR", "de"]), "Munique");
  assert.equal(localizedName(names, ["fr", "ja"]), "Munich");
  assert.equal(localizedName(names, []), "Munich");
  assert.equal(localizedName({ de: "Bayern" }, ["fr"]), undefined);
  assert.equal(localizedName({ fr: 3, en: "E" }, ["fr"]), "E", "a name must be a string");
  assert.equal(localizedName(undefined, ["en"]), undefined);
  assert.equal(localizedName("en", ["en"]), undefined);
  assert.equal(localizedName({}, ["constructor", "toString"]), undefined);
});

Deno.test("resolveField() walks a path through a record", async (t) => {
  const get = (text: string, languages: string[] = ["en"]) =>
    resolveField(MUNICH, { path: paths(text)[0]!, languages });
  await t.step("members and list elements", () => {
    assert.equal(get("country.iso_code"), "DE");
    assert.equal(get("city.names.de"), "München");
    assert.equal(get("location.latitude"), 48.1371);
    assert.equal(get("subdivisions.1.iso_code"), "09");
    assert.equal(get("traits.is_anonymous_vpn"), true);
    assert.equal(get("location"), MUNICH.location);
  });
  await t.step(".name in the preferred language", () => {
    assert.equal(get("city.name", ["de", "en"]), "München");
    assert.equal(get("city.name", ["ja"]), "Munich");
    assert.equal(get("country.name", ["de"]), "Deutschland");
    assert.equal(get("subdivisions.0.name", ["de"]), "Bayern");
    assert.equal(get("subdivisions.1.name", ["de"]), undefined);
    assert.equal(get("subdivisions.1.name", ["fr"]), "Haute-Bavière");
    assert.equal(get("continent.name"), undefined);
    assert.equal(get("traits.name"), undefined);
  });
  await t.step("undefined where the record has nothing", () => {
    for (
      const text of [
        "postal.code",
        "city.names.xx",
        "subdivisions.2.iso_code",
        "subdivisions.01.iso_code",
        "subdivisions.length",
        "subdivisions.iso_code",
        "country.iso_code.x",
        "city.constructor",
        "city.names.toString",
        "city.0",
        "location.latitude.0",
      ]
    ) {
      assert.equal(get(text), undefined, text);
    }
    assert.equal(resolveField(null, { path: paths("city.name")[0]!, languages: [] }), undefined);
    const bytes = { traits: { raw: new Uint8Array([1, 2]) } };
    assert.equal(
      resolveField(bytes, { path: paths("traits.raw.0")[0]!, languages: [] }),
      undefined,
    );
  });
});

Deno.test("renderField() writes a value as a TSV field", () => {
  assert.equal(renderField("Bavaria"), "Bavaria");
  assert.equal(renderField(""), "");
  assert.equal(renderField("a\tb\r\nc"), "a b  c");
  assert.equal(renderField(48.1371), "48.1371");
  assert.equal(renderField(-0.1), "-0.1");
  assert.equal(renderField(3320), "3320");
  assert.equal(renderField(1e21), "1e+21");
  assert.equal(renderField(1e-7), "1e-7");
  assert.equal(renderField(-0), "0");
  assert.equal(renderField(NaN), "(null)");
  assert.equal(renderField(Infinity), "(null)");
  assert.equal(renderField(18446744073709551615n), "18446744073709551615");
  assert.equal(renderField(true), "true");
  assert.equal(renderField(false), "false");
  assert.equal(renderField(undefined), "(null)");
  assert.equal(renderField(null), "(null)");
  assert.equal(renderField({ en: "X\tY", n: [1, 2n] }), '{"en":"X\\tY","n":[1,2]}');
  assert.equal(renderField([{ iso_code: "BY" }]), '[{"iso_code":"BY"}]');
  assert.equal(renderField(new Uint8Array([0, 255])), "[0,255]");
});

Deno.test("formatFields() writes one value per field, (null) where missing", () => {
  const fields = paths(
    "country.iso_code,city.name,location.latitude,traits.autonomous_system_number," +
      "traits.is_anonymous_vpn,traits.domain,postal.code,subdivisions.0",
  );
  assert.equal(
    formatFields(MUNICH, { fields, languages: ["de"] }),
    'DE\tMünchen\t48.1371\t3320\ttrue\ta b  c\t(null)\t{"iso_code":"BY","names":{"de":"Bayern","en":"Bavaria"}}',
  );
  assert.equal(
    formatFields(null, { fields, languages: ["de"] }),
    Array(fields.length).fill("(null)").join("\t"),
  );
});
