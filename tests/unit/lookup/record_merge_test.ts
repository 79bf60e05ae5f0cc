import assert from "node:assert/strict";
import { mergeTraits, TRAIT_FIELDS } from "../../../lib/lookup/record_merge.ts";

const ISP = {
  autonomous_system_number: 1221,
  autonomous_system_organization: "Telstra Pty Ltd",
  isp: "Telstra Internet",
  organization: "Telstra Internet",
  mobile_country_code: "505",
  mobile_network_code: "01",
};
const ANONYMOUS = {
  is_anonymous: true,
  is_anonymous_vpn: true,
  is_hosting_provider: true,
  is_public_proxy: true,
  is_residential_proxy: true,
  is_tor_exit_node: true,
};

/** A deep copy, to check that inputs come out unchanged. */
function snapshot<T>(value: T): T {
  return structuredClone(value);
}

Deno.test("mergeTraits() adds each kind's fields under traits, by their Insights names", async (t) => {
  const city = {
    country: { iso_code: "AU" },
    location: { latitude: -33.494, longitude: 143.2104 },
  };
  await t.step("ASN", () => {
    assert.deepEqual(
      mergeTraits(city, [{ kind: "asn", record: { ...ISP, extra: 1 } }]),
      {
        ...city,
        traits: {
          autonomous_system_number: 1221,
          autonomous_system_organization: "Telstra Pty Ltd",
        },
      },
    );
  });
  await t.step("ISP", () => {
    assert.deepEqual(mergeTraits(city, [{ kind: "isp", record: { ...ISP, extra: 1 } }]), {
      ...city,
      traits: ISP,
    });
  });
  await t.step("Anonymous-IP", () => {
    assert.deepEqual(
      mergeTraits(city, [{ kind: "anonymous-ip", record: { ...ANONYMOUS, isp: "x" } }]),
      { ...city, traits: ANONYMOUS },
    );
  });
  await t.step("Connection-Type and Domain", () => {
    assert.deepEqual(
      mergeTraits(city, [
        { kind: "connection-type", record: { connection_type: "Cable/DSL", domain: "no" } },
        { kind: "domain", record: { domain: "maxmind.com", connection_type: "no" } },
      ]),
      { ...city, traits: { connection_type: "Cable/DSL", domain: "maxmind.com" } },
    );
  });
  await t.step("location and other databases add nothing", () => {
    const full = { ...ISP, ...ANONYMOUS, connection_type: "x", domain: "y" };
    for (const kind of ["city", "country", "other"] as const) {
      assert.equal(TRAIT_FIELDS[kind].length, 0);
      assert.equal(mergeTraits(city, [{ kind, record: full }]), city);
      assert.equal(mergeTraits(city, [{ kind, record: { traits: full } }]), city);
    }
  });
});

Deno.test("mergeTraits() keeps the first value of a field", async (t) => {
  await t.step("the location record's own traits win", () => {
    const city = {
      traits: { autonomous_system_number: 7, is_anonymous: false, user_type: "business" },
    };
    assert.deepEqual(
      mergeTraits(city, [
        { kind: "isp", record: { autonomous_system_number: 1221, isp: "Telstra" } },
        { kind: "anonymous-ip", record: { is_anonymous: true, is_tor_exit_node: true } },
      ]),
      {
        traits: {
          autonomous_system_number: 7,
          is_anonymous: false,
          user_type: "business",
          isp: "Telstra",
          is_tor_exit_node: true,
        },
      },
    );
  });
  await t.step("then the other databases in the order given", () => {
    const asn = { kind: "asn", record: { autonomous_system_number: 1 } } as const;
    const isp = { kind: "isp", record: { autonomous_system_number: 2, isp: "I" } } as const;
    assert.deepEqual(mergeTraits({}, [asn, isp]), {
      traits: { autonomous_system_number: 1, isp: "I" },
    });
    assert.deepEqual(mergeTraits({}, [isp, asn]), {
      traits: { autonomous_system_number: 2, isp: "I" },
    });
  });
  await t.step("a field held as null is no value", () => {
    assert.deepEqual(
      mergeTraits({ traits: { isp: null } }, [
        { kind: "isp", record: { isp: "I", organization: null } },
        { kind: "isp", record: { organization: "O" } },
      ]),
      { traits: { isp: "I", organization: "O" } },
    );
  });
  await t.step("false and 0 are values", () => {
    assert.deepEqual(
      mergeTraits({ traits: { is_anonymous: false } }, [
        { kind: "asn", record: { autonomous_system_number: 0 } },
        { kind: "asn", record: { autonomous_system_number: 5 } },
        { kind: "anonymous-ip", record: { is_anonymous: true } },
      ]),
      { traits: { is_anonymous: false, autonomous_system_number: 0 } },
    );
  });
});

Deno.test("mergeTraits() lists traits in merge order: own, then each database's", () => {
  const merged = mergeTraits({ traits: { user_type: "x", isp: "own" } }, [
    { kind: "domain", record: { domain: "d" } },
    { kind: "isp", record: { organization: "o", isp: "i", autonomous_system_number: 3 } },
  ]) as { traits: Record<string, unknown> };
  assert.deepEqual(Object.keys(merged.traits), [
    "user_type",
    "isp",
    "domain",
    "autonomous_system_number",
    "organization",
  ]);
});

Deno.test("mergeTraits() adds nothing for a missing or empty record", () => {
  const city = { city: { names: { en: "Boxford" } }, traits: { is_anonymous_proxy: true } };
  const others = [
    { kind: "asn", record: null },
    { kind: "isp", record: {} },
    { kind: "anonymous-ip", record: undefined },
    { kind: "domain", record: "maxmind.com" },
    { kind: "connection-type", record: ["Cable/DSL"] },
  ] as const;
  assert.equal(mergeTraits(city, others), city);
  assert.equal(mergeTraits(city, []), city);
});

Deno.test("mergeTraits() without a location record", async (t) => {
  await t.step("is a record of only traits when the others have fields", () => {
    assert.deepEqual(
      mergeTraits(null, [
        { kind: "asn", record: null },
        { kind: "asn", record: { autonomous_system_number: 15169 } },
        { kind: "domain", record: { domain: "google.com" } },
      ]),
      { traits: { autonomous_system_number: 15169, domain: "google.com" } },
    );
  });
  await t.step("is null when they have none", () => {
    assert.equal(mergeTraits(null, []), null);
    assert.equal(mergeTraits(undefined, [{ kind: "asn", record: {} }]), null);
    assert.equal(mergeTraits(null, [{ kind: "city", record: { traits: { isp: "x" } } }]), null);
  });
});

Deno.test("mergeTraits() returns what cannot take traits as it is", () => {
  const asn = [{ kind: "asn", record: { autonomous_system_number: 1 } }] as const;
  assert.equal(mergeTraits("a string record", asn), "a string record");
  const list = [1, 2];
  assert.equal(mergeTraits(list, asn), list);
  const oddTraits = { traits: [1] };
  assert.equal(mergeTraits(oddTraits, asn), oddTraits);
  assert.deepEqual(mergeTraits({ traits: null }, asn), {
    traits: { autonomous_system_number: 1 },
  });
});

Deno.test("mergeTraits() mutates none of its inputs", () => {
  const city = {
    country: { iso_code: "GB", names: { en: "United Kingdom" } },
    traits: { isp: "Own" },
  };
  const asn = { autonomous_system_number: 1221, autonomous_system_organization: "T" };
  const anonymous = { is_anonymous: true };
  const others = [
    { kind: "asn" as const, record: asn },
    { kind: "anonymous-ip" as const, record: anonymous },
  ];
  const before = snapshot({ city, others });
  const frozen = Object.freeze({ ...city, traits: Object.freeze({ ...city.traits }) });
  const merged = mergeTraits(frozen, others) as typeof city;
  mergeTraits(city, others);
  mergeTraits(null, others);
  assert.deepEqual({ city, others }, before);
  assert.notEqual(merged, frozen);
  assert.notEqual(merged.traits, frozen.traits);
  assert.equal(merged.country, frozen.country, "untouched members are shared, not copied");
  assert.deepEqual(merged.traits, {
    isp: "Own",
    autonomous_system_number: 1221,
    autonomous_system_organization: "T",
    is_anonymous: true,
  });
});
