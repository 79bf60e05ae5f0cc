#!/usr/bin/python3
"""What geoipmq should answer from several databases at once, worked out independently.

Reads every database with libmaxminddb (Debian's python3-maxminddb, MODE_MMAP_EXT) and
merges the answers by the rules of the service, written here again from their
description rather than from the service's code:

- The first City, Country or Enterprise database given is the location database: its
  record and network are the answer's.
- The other databases add fields to the record's `traits`, named as in GeoIP2 Insights:
  ASN: autonomous_system_number, autonomous_system_organization; ISP: those two and isp,
  organization, mobile_country_code, mobile_network_code; Anonymous-IP: is_anonymous,
  is_anonymous_vpn, is_hosting_provider, is_public_proxy, is_residential_proxy,
  is_tor_exit_node; Connection-Type: connection_type; Domain: domain. Other location
  databases, and databases of other types, add nothing.
- The first value of a field wins: the location record's own traits, then the other
  databases in the order given. A missing or empty record adds nothing.
- Without a location record, the record is only `traits` when the others add something,
  and null (not found) when they add nothing.

Prints one JSON line per address:

    {"ip": ..., "json": <the `json` answer's text>, "geoip": <the `geoip` line>,
     "get": <the `get` line, with --fields>}

The `json` text is written as JavaScript's JSON.stringify writes it (numbers in their
shortest form, no spaces, non-ASCII as it is), so it can be compared byte for byte. The
`geoip` line has the original's eight fields, the city name in the first --lang language
that has one, else English; `NOT_FOUND` without a location record. The `get` line has one
value per field: numbers as in JSON, booleans true/false, strings raw with tabs and line
breaks made spaces, maps and lists as JSON, `(null)` where missing; a field ending in
`.name` is the name in the preferred language.

Exits 0, or 2 on a usage error (a bad --lang or --fields, a file that is not there).

    /usr/bin/python3 tests/support/merged_reference.py \\
        --db GeoIP2-City-Test.mmdb --db GeoLite2-ASN-Test.mmdb --lang de,en \\
        --fields country.iso_code,city.name,traits.autonomous_system_number 81.2.69.160
    /usr/bin/python3 tests/support/merged_reference.py --db ... --every-network
"""

import argparse
import ipaddress
import json
import math
import os
import re
import sys

# scripts/libmaxminddb_check.py, from tests/support/.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))

# The single-database rules of today's `geoip` line, and the walk of a database's networks.
from libmaxminddb_check import (  # noqa: E402 (after the path is set)
    MISSING,
    child,
    expected_tsv,
    walk_networks,
)

import maxminddb  # noqa: E402 (libmaxminddb_check explains when it is missing)

LOCATION_TYPES = {
    "GeoLite2-City",
    "GeoIP2-City",
    "GeoIP2-City-Africa",
    "GeoIP2-City-Asia-Pacific",
    "GeoIP2-City-Europe",
    "GeoIP2-City-North-America",
    "GeoIP2-City-South-America",
    "GeoIP2-Enterprise",
    "GeoIP2-Precision-Enterprise",
    "GeoLite2-Country",
    "GeoIP2-Country",
}
# Written from the rules above, apart from lib/lookup/record_merge.ts on purpose: a second reading.
ASN_FIELDS = ["autonomous_system_number", "autonomous_system_organization"]
FIELDS_BY_TYPE = {
    "GeoLite2-ASN": ASN_FIELDS,
    "GeoIP2-ISP": ASN_FIELDS
    + ["isp", "organization", "mobile_country_code", "mobile_network_code"],
    "GeoIP2-Anonymous-IP": [
        "is_anonymous",
        "is_anonymous_vpn",
        "is_hosting_provider",
        "is_public_proxy",
        "is_residential_proxy",
        "is_tor_exit_node",
    ],
    "GeoIP2-Connection-Type": ["connection_type"],
    "GeoIP2-Domain": ["domain"],
}
# Apart from RECORD_NAMES in lib/protocol/field_paths.ts on purpose: a second reading.
TOP_LEVEL = {
    "city",
    "continent",
    "country",
    "location",
    "postal",
    "registered_country",
    "represented_country",
    "subdivisions",
    "traits",
    "maxmind",
}
FALLBACK_LANGUAGE = "en"


def plain_type(database_type):
    """A database type without the `-Shield` suffix of MaxMind's Shield editions."""
    return database_type[: -len("-Shield")] if database_type.endswith("-Shield") else database_type


# ---------------------------------------------------------------------------------------
# Values written as JavaScript writes them


def js_number(value):
    """A number as JavaScript's Number.prototype.toString writes it (None: not finite)."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return None
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    text = repr(abs(value))  # the shortest digits that read back as the same double
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= point <= 21:
        body = digits + "0" * (point - k)
    elif 0 < point <= 21:
        body = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        body = "0." + "0" * -point + digits
    else:
        e = point - 1
        e_text = ("+" if e >= 0 else "-") + str(abs(e))
        body = digits + "e" + e_text if k == 1 else digits[0] + "." + digits[1:] + "e" + e_text
    return sign + body


def js_json(value):
    """A value as JSON.stringify writes it, bytes as lists of byte values."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        number = js_number(value)
        return "null" if number is None else number
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (bytes, bytearray)):
        return "[" + ",".join(str(b) for b in value) + "]"
    if isinstance(value, list):
        return "[" + ",".join(js_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(js_json(k) + ":" + js_json(v) for k, v in value.items()) + "}"
    raise TypeError(f"no JSON for {type(value).__name__}")


def network_text(address, prefix):
    """The network of an address, as the service writes it (IPv4-mapped as ::ffff:a.b.c.d)."""
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    base = network.network_address
    if base.version == 6 and base.ipv4_mapped is not None:
        return f"::ffff:{base.ipv4_mapped}/{network.prefixlen}"
    return f"{base.compressed}/{network.prefixlen}"


# ---------------------------------------------------------------------------------------
# Languages and field paths


def parse_languages(text):
    tags = text.split(",")
    if text == "" or any(not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", t) for t in tags):
        raise ValueError(f"invalid language list {text!r}")

    def canonical(tag):
        parts = tag.split("-")
        out = [parts[0].lower()]
        for part in parts[1:]:
            if len(part) == 2:
                out.append(part.upper())
            elif len(part) == 4:
                out.append(part[0].upper() + part[1:].lower())
            else:
                out.append(part.lower())
        return "-".join(out)

    return [canonical(t) for t in tags]


def parse_fields(text):
    fields = [f.split(".") for f in text.split(",")]
    for parts in fields:
        if "" in parts or parts[0] not in TOP_LEVEL:
            raise ValueError(f"invalid field list {text!r}")
    return fields


def localized(names, languages):
    if not isinstance(names, dict):
        return None
    for language in list(languages) + [FALLBACK_LANGUAGE]:
        name = names.get(language)
        if isinstance(name, str):
            return name
    return None


def step(value, part):
    if isinstance(value, list):
        if re.fullmatch(r"0|[1-9][0-9]*", part) and int(part) < len(value):
            return value[int(part)]
        return None
    if isinstance(value, dict):
        return value.get(part)
    return None


def resolve(record, parts, languages):
    localize = len(parts) >= 2 and parts[-1] == "name"
    value = record
    for part in parts[:-1] if localize else parts:
        value = step(value, part)
    return localized(step(value, "names"), languages) if localize else value


def field_text(value):
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        number = js_number(value)
        return MISSING if number is None else number
    if isinstance(value, str):
        return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return js_json(value)


# ---------------------------------------------------------------------------------------
# The answers


def merged_record(location, others):
    """The location record with the others' fields under traits (see the module's text)."""
    added = {}
    own = location.get("traits") if isinstance(location, dict) else None
    own = own if isinstance(own, dict) else {}
    for fields, record in others:
        if not isinstance(record, dict):
            continue
        for field in fields:
            value = record.get(field)
            if value is None or own.get(field) is not None or field in added:
                continue
            added[field] = value
    if location is None:
        return {"traits": added} if added else None
    if not added or not isinstance(location, dict):
        return location
    if location.get("traits") is not None and not isinstance(location.get("traits"), dict):
        return location
    traits = dict(location.get("traits") or {})
    traits.update(added)
    result = dict(location)
    result["traits"] = traits
    return result


def geoip_line(record, languages):
    return expected_tsv(record, lambda names: localized(names, languages))


class Databases:
    """The databases in --db order: the location one, and what each other one adds."""

    def __init__(self, paths):
        self.readers = [maxminddb.open_database(p, maxminddb.MODE_MMAP_EXT) for p in paths]
        self.location = None
        self.others = []  # (fields, reader)
        for reader in self.readers:
            database_type = plain_type(reader.metadata().database_type)
            if database_type in LOCATION_TYPES and self.location is None:
                self.location = reader
            elif database_type in FIELDS_BY_TYPE:
                self.others.append((FIELDS_BY_TYPE[database_type], reader))

    def close(self):
        for reader in self.readers:
            reader.close()

    def answer(self, ip, languages, fields):
        location, prefix = None, None
        if self.location is not None:
            location, prefix = lookup(self.location, ip)
        others = [(f, lookup(reader, ip)[0]) for f, reader in self.others]
        record = merged_record(location, others)
        network = None if location is None else network_text(ip, prefix)
        line = {
            "ip": ip,
            "json": '{"ip":%s,"network":%s,"record":%s}'
            % (js_json(ip), js_json(network), js_json(record)),
            "geoip": geoip_line(location, languages),
        }
        if fields is not None:
            line["get"] = "\t".join(field_text(resolve(record, f, languages)) for f in fields)
        return line


def lookup(reader, ip):
    """(record, prefix length), or (None, None): no record, or an IPv6 address in an
    IPv4-only database."""
    try:
        record, prefix = reader.get_with_prefix_len(ip)
    except ValueError:
        return None, None
    return (record, prefix) if record is not None else (None, None)


def every_network(paths):
    """The first address of every network of every database, each once, in order."""
    seen = set()
    for path in paths:
        for network in walk_networks(path):
            address = str(network.network_address)
            if address not in seen:
                seen.add(address)
                yield address


def main(argv):
    parser = argparse.ArgumentParser(
        description="Print what geoipmq should answer from several databases at once."
    )
    parser.add_argument("--db", action="append", required=True, help="a .mmdb, in order")
    parser.add_argument("--lang", default="en", help="languages for names, e.g. de,en")
    parser.add_argument("--fields", help="the field list of a `get` request")
    parser.add_argument(
        "--every-network",
        action="store_true",
        help="the first address of every network of every database",
    )
    parser.add_argument("addresses", nargs="*", help="IP addresses")
    args = parser.parse_args(argv)
    for path in args.db:
        if not os.path.isfile(path):
            parser.error(f"--db {path!r} is not a file")
    try:
        languages = parse_languages(args.lang)
        fields = None if args.fields is None else parse_fields(args.fields)
    except ValueError as error:
        parser.error(str(error))
    addresses = list(args.addresses)
    if args.every_network:
        addresses += every_network(args.db)
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            parser.error(f"not an IP address: {address!r}")
    databases = Databases(args.db)
    try:
        out = sys.stdout
        for address in addresses:
            out.write(json.dumps(databases.answer(address, languages, fields)) + "\n")
    finally:
        databases.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
