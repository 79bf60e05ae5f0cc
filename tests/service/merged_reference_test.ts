/**
 * Two independent implementations of answering from several databases agree: the
 * reference in `support/merged_reference.py` (libmaxminddb through Debian's
 * python3-maxminddb, the merge rules written again in Python) and the project's pieces
 * (records decoded by `GeoDatabase`, merged by `mergeTraits`, fields read by
 * `formatFields`), on MaxMind's test databases. When python3-maxminddb is not installed
 * the tests say so loudly and pass.
 *
 * @module
 */

import assert from "node:assert/strict";
import { databaseKind, isLocationKind } from "../../lib/database/mod.ts";
import { GeoDatabase } from "../../lib/database/mod.ts";
import { type KindRecord, mergeTraits } from "../../lib/lookup/mod.ts";
import {
  formatFields,
  localizedName,
  parseFieldList,
  parseLanguageList,
  renderField,
} from "../../lib/protocol/mod.ts";
import { formatNetwork, parseIpAddress } from "../../lib/protocol/mod.ts";
import { formatTsv, NOT_FOUND, stringifyJson } from "../../lib/protocol/mod.ts";
import { skipForMissingTool } from "../support/required_tool.ts";
import {
  FIELDS,
  FIXTURES,
  PYTHON,
  pythonHasMaxminddb,
  reference,
} from "../support/merged_reference.ts";

/** How many answers of each shape a run compared, so a run that compares nothing fails. */
interface Tally {
  compared: number;
  /** A location record that others added fields to. */
  merged: number;
  /** No location record, but fields from others. */
  traitsOnly: number;
  /** Nobody had anything. */
  notFound: number;
  /** A field of the location record's own traits that another database also had. */
  ownTraitKept: number;
}

/** The project's answer pieces for one address, from already opened databases. */
class ProjectAnswers {
  readonly #location: GeoDatabase | undefined;
  readonly #others: { kind: KindRecord["kind"]; database: GeoDatabase }[] = [];

  constructor(databases: GeoDatabase[]) {
    for (const database of databases) {
      const kind = databaseKind(database.metadata.databaseType);
      if (this.#location === undefined && isLocationKind(kind)) this.#location = database;
      else this.#others.push({ kind, database });
    }
  }

  answer(ip: string, options: { languages: string[] }) {
    const address = parseIpAddress(ip);
    assert.ok(address, `the reference gave an address the project cannot read: ${ip}`);
    const found = this.#location?.lookup(address) ?? null;
    const location = found?.record ?? null;
    const others = this.#others.map(({ kind, database }) => ({
      kind,
      record: database.lookup(address)?.record ?? null,
    }));
    const record = mergeTraits(location, others);
    const network = found === null ? null : formatNetwork(address, found.prefixLength);
    const fields = parseFieldList(FIELDS);
    assert.ok(fields.ok);
    let geoip = NOT_FOUND;
    if (location !== null) {
      const tsv = formatTsv(location).split("\t");
      const names = (location as { city?: { names?: unknown } }).city?.names;
      tsv[2] = renderField(localizedName(names, options.languages));
      geoip = tsv.join("\t");
    }
    return {
      location,
      others,
      record,
      json: stringifyJson({ ip, network, record }),
      geoip,
      get: formatFields(record, { fields: fields.value, languages: options.languages }),
    };
  }
}

async function compareRun(
  files: string[],
  options: { lang: string; addresses: string[] | "every-network" },
): Promise<Tally> {
  const languages = parseLanguageList(options.lang);
  assert.ok(languages.ok);
  const databases = await Promise.all(files.map((f) => GeoDatabase.open(FIXTURES + f)));
  const project = new ProjectAnswers(databases);
  const expected = await reference(files, options);
  if (options.addresses !== "every-network") {
    assert.deepEqual(expected.map((e) => e.ip), options.addresses);
  }
  const tally: Tally = { compared: 0, merged: 0, traitsOnly: 0, notFound: 0, ownTraitKept: 0 };
  for (const want of expected) {
    const got = project.answer(want.ip, { languages: languages.value });
    const where = `${want.ip} from ${files.join(", ")}`;
    assert.deepEqual(JSON.parse(got.json), JSON.parse(want.json), `json record of ${where}`);
    assert.equal(got.json, want.json, `json text of ${where}`);
    assert.equal(got.geoip, want.geoip, `geoip line of ${where}`);
    assert.equal(got.get, want.get, `get line of ${where}`);
    tally.compared++;
    if (got.record === null) tally.notFound++;
    else if (got.location === null) tally.traitsOnly++;
    else if (got.record !== got.location) tally.merged++;
    const own = (got.location as { traits?: Record<string, unknown> } | null)?.traits ?? {};
    for (const { record } of got.others) {
      if (record === null || typeof record !== "object") continue;
      if (Object.keys(record).some((k) => Object.hasOwn(own, k))) {
        tally.ownTraitKept++;
        break;
      }
    }
  }
  return tally;
}

const NETWORK_DATABASES = [
  "GeoIP2-Anonymous-IP-Test.mmdb",
  "GeoLite2-ASN-Test.mmdb",
  "GeoIP2-ISP-Test.mmdb",
  "GeoIP2-Connection-Type-Test.mmdb",
  "GeoIP2-Domain-Test.mmdb",
];

Deno.test("the reference and mergeTraits() agree on MaxMind's test databases", async (t) => {
  const missing = await pythonHasMaxminddb();
  if (missing !== undefined) {
    const what = `${PYTHON} with maxminddb and zmq (${missing}; apt-get install ` +
      `python3-maxminddb python3-zmq)`;
    if (skipForMissingTool(what)) return;
  }

  await t.step("City then five network databases, every network, names in German", async () => {
    const tally = await compareRun(["GeoIP2-City-Test.mmdb", ...NETWORK_DATABASES], {
      lang: "de,en",
      addresses: "every-network",
    });
    assert.ok(tally.compared > 5000, `compared only ${tally.compared} addresses`);
    assert.ok(tally.merged > 10, `only ${tally.merged} location records took fields`);
    assert.ok(tally.traitsOnly > 1000, `only ${tally.traitsOnly} traits-only records`);
    assert.ok(tally.notFound > 0, "no address was found nowhere");
  });

  await t.step("Enterprise after an ASN database: its own traits come first", async () => {
    const tally = await compareRun(
      [
        "GeoLite2-ASN-Test.mmdb",
        "GeoIP2-Enterprise-Test.mmdb",
        "GeoLite2-City-Test.mmdb",
        "GeoIP2-ISP-Test.mmdb",
        "GeoIP2-Domain-Test.mmdb",
      ],
      { lang: "en", addresses: "every-network" },
    );
    assert.ok(tally.compared > 5000, `compared only ${tally.compared} addresses`);
    assert.ok(tally.ownTraitKept > 10, `only ${tally.ownTraitKept} records kept their own`);
  });

  await t.step("a Country database and a handful of addresses, names in Chinese", async () => {
    const tally = await compareRun(
      ["GeoIP2-Country-Test.mmdb", "GeoIP2-Anonymous-IP-Test.mmdb", "GeoLite2-ASN-Test.mmdb"],
      {
        lang: "zh-cn,fr",
        addresses: [
          "81.2.69.160",
          "::ffff:81.2.69.160",
          "1.2.0.1",
          "1.128.0.1",
          "2001:218::1",
          "2a02:cf40::1",
          "127.0.0.1",
          "::1",
          "::",
        ],
      },
    );
    assert.equal(tally.compared, 9);
    assert.ok(
      tally.notFound > 0 && tally.traitsOnly > 0 && tally.merged > 0,
      JSON.stringify(tally),
    );
  });

  await t.step("no location database: records of only traits", async () => {
    const tally = await compareRun(["GeoLite2-ASN-Test.mmdb", "GeoIP2-Domain-Test.mmdb"], {
      lang: "en",
      addresses: ["1.0.0.1", "1.2.0.1", "12.81.92.1", "65.23.96.1", "81.2.69.160", "::1"],
    });
    assert.equal(tally.compared, 6);
    assert.equal(tally.merged, 0);
    assert.ok(tally.traitsOnly >= 4 && tally.notFound >= 1, JSON.stringify(tally));
  });
});
