/**
 * Runs `merged_reference.py`, the independent reference of answers from several
 * databases (libmaxminddb through Debian's python3-maxminddb), on MaxMind's test
 * databases vendored in `tests/fixtures/maxmind/`.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The Python with python3-maxminddb. */
export const PYTHON = "/usr/bin/python3";
const REFERENCE = new URL("../support/merged_reference.py", import.meta.url).pathname;
/** MaxMind's test databases. */
export const FIXTURES = new URL("../fixtures/maxmind/", import.meta.url).pathname;
/** The field list of the `get` answers compared. */
export const FIELDS =
  "country.iso_code,city.name,city.names.en,subdivisions.0.name,location.latitude," +
  "location.longitude,postal.code,traits.autonomous_system_number," +
  "traits.autonomous_system_organization,traits.isp,traits.organization," +
  "traits.mobile_country_code,traits.mobile_network_code,traits.is_anonymous," +
  "traits.is_anonymous_vpn,traits.is_tor_exit_node,traits.connection_type,traits.domain," +
  "traits.user_type,traits,registered_country.name,continent.code";

/** One line of the reference's output. */
export interface Expected {
  ip: string;
  json: string;
  geoip: string;
  get: string;
}

const decoder = new TextDecoder();

/** @returns why python3-maxminddb cannot be used, or undefined when it can */
export async function pythonHasMaxminddb(): Promise<string | undefined> {
  try {
    const probe = await new Deno.Command(PYTHON, { args: ["-c", "import maxminddb, zmq"] })
      .output();
    if (probe.success) return undefined;
    return decoder.decode(probe.stderr).trim().split("\n").pop();
  } catch (error) {
    return String(error);
  }
}

/**
 * @param files test databases, in --db order
 * @param options languages, and the addresses (or every network of the databases)
 * @returns the reference's answers
 */
export async function reference(
  files: string[],
  options: { lang: string; addresses: string[] | "every-network" },
): Promise<Expected[]> {
  const args = [REFERENCE, ...files.flatMap((f) => ["--db", FIXTURES + f])];
  args.push("--lang", options.lang, "--fields", FIELDS);
  if (options.addresses === "every-network") args.push("--every-network");
  else args.push("--", ...options.addresses);
  const output = await new Deno.Command(PYTHON, { args, stdin: "null" }).output();
  assert.equal(
    output.code,
    0,
    `merged_reference.py failed (${output.code}):\n${decoder.decode(output.stderr)}`,
  );
  return decoder.decode(output.stdout).trim().split("\n").map((l) => JSON.parse(l) as Expected);
}
