import assert from "node:assert/strict";
import { acceptedLanguages } from "../../../lib/http/accept_language.ts";

Deno.test("acceptedLanguages() orders by q-value, adds shorter forms, drops * and q=0", () => {
  assert.deepEqual(acceptedLanguages("de"), { ok: true, value: ["de"] });
  assert.deepEqual(acceptedLanguages("en-US,en;q=0.9,fr;q=0.8"), {
    ok: true,
    value: ["en-US", "en", "fr"],
  });
  assert.deepEqual(acceptedLanguages("fr;q=0.2, ja, pt-br;q=0.5"), {
    ok: true,
    value: ["ja", "pt-BR", "pt", "fr"],
  });
  assert.deepEqual(acceptedLanguages("zh-hant-tw, de;q=0"), {
    ok: true,
    value: ["zh-Hant-TW", "zh-Hant", "zh"],
  });
  assert.deepEqual(acceptedLanguages("*"), { ok: true, value: [] });
  assert.deepEqual(acceptedLanguages(""), { ok: true, value: [] });
  assert.deepEqual(acceptedLanguages("es ; Q = 0.5 , ru"), { ok: true, value: ["ru", "es"] });
  const many = Array.from(
    { length: 40 },
    (_, i) => `x${String.fromCharCode(97 + (i % 26), 97 + i / 26)}`,
  );
  const long = acceptedLanguages(many.join(","));
  assert.ok(long.ok && long.value.length === 16, "at most 16 tags");
});

Deno.test("acceptedLanguages() refuses a value that does not parse, saying why", () => {
  assert.deepEqual(acceptedLanguages("de;q=2"), {
    ok: false,
    reason: 'Accept-Language: invalid weight "q=2" (expected q=0 to q=1)',
  });
  assert.deepEqual(acceptedLanguages("de_DE"), {
    ok: false,
    reason: 'Accept-Language: invalid language range "de_DE"',
  });
  assert.equal(acceptedLanguages("en;level=1").ok, false);
  assert.equal(acceptedLanguages("toolonglanguage").ok, false);
});
