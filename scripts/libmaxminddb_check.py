#!/usr/bin/python3
"""Checks a running geoipmq against libmaxminddb, an independent reader of the same file.

Generates addresses from a fixed seed (mostly random IPv4, random IPv6 from 2000::/3,
IPv4-mapped IPv6 and a few fixed edge cases), asks the service about each of them over
ZeroMQ and compares every answer with what libmaxminddb (python3-maxminddb in
MODE_MMAP_EXT) finds in the database:

- `geoip <ip>` on a REQ socket for every fourth address,
- `geoip a b c ...` in batches of 100 on a DEALER socket for the others,
- `json a b c ...` in batches of 50 on a REQ socket for all of them, comparing the
  network (as `ipaddress` networks) and the record (as Python values),
- `get FIELDS a b c ...` in batches of 100 on the DEALER socket for all of them, comparing
  each field (see GET_FIELDS: names, codes, numbers, maps and lists).

So every address gets four comparisons: its TSV line, its JSON network, its JSON record and
its `get` line. Addresses are handled in chunks of 10,000, so a million of them fit in memory.

With --uniform, the random addresses are uniformly random over the whole IPv4 space (half
of them) and the whole IPv6 space (the other half).

For MaxMind's test databases (a path ending in "-Test.mmdb"), or with --networks, the first
address of each network stored in the database is checked too, since random addresses
rarely hit one of their few networks.

Prints one JSON line on stdout:
    {"checked": ..., "mismatches": [first 20], "mismatch_count": ..., "found": ..., ...}
and exits 0 whether or not there are mismatches (the caller decides), 1 when the service
does not answer in time or the run fails, 2 on a usage error.

Needs Debian's python3-maxminddb and python3-zmq: run it with /usr/bin/python3.

    /usr/bin/python3 scripts/libmaxminddb_check.py \\
        --endpoint tcp://127.0.0.1:5555 --db GeoLite2-City.mmdb --count 3000 --seed 1
"""

import argparse
import ipaddress
import json
import math
import os
import random
import sys
import time

try:
    import maxminddb
    import zmq
except ImportError as error:  # pragma: no cover - depends on the machine
    print(
        f"libmaxminddb_check: {error}; install Debian's python3-maxminddb and python3-zmq "
        "and run this script with /usr/bin/python3",
        file=sys.stderr,
    )
    sys.exit(1)

MISSING = "(null)"
NOT_FOUND = "NOT_FOUND"
EDGE_CASES_V4 = ["0.0.0.0", "255.255.255.255", "127.0.0.1", "10.1.2.3"]
EDGE_CASES_V6 = ["::", "::1"]
SINGLE_EVERY = 4
GEOIP_BATCH = 100
JSON_BATCH = 50
MAX_REPORTED = 20
TIMEOUT_MS = 10_000
IPV4_MAX = 2**32
GET_BATCH = 100
CHUNK = 10_000
# Fields of every kind for `get`: strings, a localized name, list elements, numbers, maps.
GET_FIELDS = [
    "country.iso_code",
    "city.name",
    "subdivisions.0.iso_code",
    "subdivisions.1.name",
    "postal.code",
    "location.latitude",
    "location.longitude",
    "location.accuracy_radius",
    "city.geoname_id",
    "continent.names",
    "location",
    "subdivisions",
    "registered_country.is_in_european_union",
    "traits",
]


class LookupFailure:
    """libmaxminddb could not read an address's record: the service should say ERROR."""

    def __init__(self, message):
        self.message = message


class ServiceTimeout(Exception):
    """The service did not answer (or accept a request) within TIMEOUT_MS."""


# ---------------------------------------------------------------------------------------
# Addresses


def generate_addresses(count, seed, ip_version, uniform=False):
    """`count` addresses: the fixed edge cases first, then random ones from `seed`."""
    rng = random.Random(seed)
    edge = EDGE_CASES_V4[:2] + EDGE_CASES_V6 + EDGE_CASES_V4[2:]
    if ip_version == 4:
        edge = [a for a in edge if ":" not in a]
    addresses = edge[:count]
    while len(addresses) < count:
        kind = rng.random()
        if uniform and (ip_version == 4 or kind < 0.5):
            addresses.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
        elif uniform:
            addresses.append(str(ipaddress.IPv6Address(rng.getrandbits(128))))
        elif ip_version == 4 or kind < 0.70:
            addresses.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
        elif kind < 0.85:
            # 2000::/3: global unicast, where real databases have records.
            addresses.append(str(ipaddress.IPv6Address((0b001 << 125) | rng.getrandbits(125))))
        else:
            addresses.append("::ffff:" + str(ipaddress.IPv4Address(rng.getrandbits(32))))
    return addresses


def walk_networks(path):
    """Yields every network stored in the database, aliases of the IPv4 subtree skipped.

    Uses `Reader.__iter__` where python-maxminddb has it (2.2 and later); older versions
    (Debian's 2.1) get the same walk over the pure-Python reader's search tree.
    """
    reader = maxminddb.open_database(path, maxminddb.MODE_MMAP)
    try:
        if hasattr(reader, "__iter__"):
            for network, _record in reader:
                yield network
            return
        meta = reader.metadata()
        node_count = meta.node_count
        bits = 128 if meta.ip_version == 6 else 32
        ipv4_start = reader._ipv4_start if bits == 128 else 0
        stack = [(0, 0, 0)]  # (node, depth, accumulated address bits)
        while stack:
            node, depth, acc = stack.pop()
            if acc != 0 and node == ipv4_start:
                continue  # an alias of the IPv4 subtree (::ffff:0:0/96, 2002::/16, ...)
            if node > node_count:
                address = acc << (bits - depth)
                prefix = depth
                if bits == 128 and address < IPV4_MAX and depth >= 96:
                    yield ipaddress.IPv4Network((address, prefix - 96))
                elif bits == 128:
                    yield ipaddress.IPv6Network((address, prefix))
                else:
                    yield ipaddress.IPv4Network((address, prefix))
            elif node < node_count and depth < bits:
                # Right pushed first so that networks come out in address order.
                stack.append((reader._read_node(node, 1), depth + 1, (acc << 1) | 1))
                stack.append((reader._read_node(node, 0), depth + 1, acc << 1))
    finally:
        reader.close()


# ---------------------------------------------------------------------------------------
# Expected answers, computed from libmaxminddb's record


def child(value, key):
    return value.get(key) if isinstance(value, dict) else None


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def text_field(value):
    if isinstance(value, str):
        return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return MISSING


def integer_field(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return MISSING


def coordinate_field(value):
    if is_number(value) and math.isfinite(value):
        return "%.6f" % value  # rounds like C's printf("%f")
    return MISSING


def english_name(names):
    return child(names, "en")


def expected_tsv(record, city_name=english_name):
    """The `geoip` line for a record (None: not found); `city_name` picks from the names."""
    if record is None:
        return NOT_FOUND
    location = child(record, "location")
    subdivisions = child(record, "subdivisions")
    first = subdivisions[0] if isinstance(subdivisions, list) and subdivisions else None
    # The eight fields, apart from lib/protocol/reply_format.ts on purpose: a second reading.
    return "\t".join(
        [
            text_field(child(child(record, "country"), "iso_code")),
            text_field(child(first, "iso_code")),
            text_field(city_name(child(child(record, "city"), "names"))),
            text_field(child(child(record, "postal"), "code")),
            coordinate_field(child(location, "latitude")),
            coordinate_field(child(location, "longitude")),
            integer_field(child(location, "metro_code")),
            MISSING,  # area code: GeoIP2 has none
        ]
    )


def get_path(record, field):
    """The value at a `get` path in a libmaxminddb record (None: none), as the protocol
    reads it: digits index lists, a path ending in `.name` is the English name."""
    parts = field.split(".")
    localized = len(parts) >= 2 and parts[-1] == "name"
    if localized:
        parts = parts[:-1]
    value = record
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and (part == "0" or part[0] != "0"):
            index = int(part)
            value = value[index] if index < len(value) else None
        else:
            value = None
    if localized:
        value = english_name(child(value, "names"))
        return value if isinstance(value, str) else None
    return value


def same_field(expected, got):
    """Whether one field of a `get` line is what libmaxminddb's value renders as."""
    if expected is None:
        return got == MISSING
    if isinstance(expected, bool):
        return got == ("true" if expected else "false")
    if isinstance(expected, str):
        return got == text_field(expected)
    if is_number(expected):
        if isinstance(expected, float) and not math.isfinite(expected):
            return got == MISSING
        try:
            return float(got) == expected if isinstance(expected, float) else got == str(expected)
        except ValueError:
            return False
    try:
        return same_value(expected, json.loads(got))
    except ValueError:
        return False


def same_value(expected, got):
    """Equality of a libmaxminddb value and a JSON-decoded one.

    Stricter than ==, which takes True for 1; looser only where JSON must be: a double
    with an integral value comes back as a JSON integer, bytes come back as a list of
    byte values, an infinity or NaN comes back as null.
    """
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(expected, bool) and isinstance(got, bool) and expected == got
    if isinstance(expected, float) and not math.isfinite(expected):
        return got is None  # JSON has no infinity nor NaN: JSON.stringify writes null
    if is_number(expected):
        return is_number(got) and expected == got
    if isinstance(expected, (bytes, bytearray)):
        return isinstance(got, list) and list(expected) == got
    if isinstance(expected, str):
        return isinstance(got, str) and expected == got
    if expected is None:
        return got is None
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(expected) == len(got)
            and all(same_value(e, g) for e, g in zip(expected, got))
        )
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and set(expected) == set(got)
            and all(same_value(expected[k], got[k]) for k in expected)
        )
    return False


def jsonable(value):
    """A libmaxminddb value as strict JSON can hold it, for mismatch reports: bytes as
    lists of byte values, infinities and NaN as the strings "inf", "-inf", "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def network_text(network):
    return None if network is None else str(network)


# ---------------------------------------------------------------------------------------
# Talking to the service


def connect(context, socket_type, endpoint):
    socket = context.socket(socket_type)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
    socket.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
    socket.setsockopt(zmq.IPV6, 1)
    socket.connect(endpoint)
    return socket


def ask_req(socket, request):
    """One request on a REQ socket; returns the reply frames."""
    try:
        socket.send(request.encode("ascii"))
        return socket.recv_multipart()
    except zmq.Again as error:
        raise ServiceTimeout(f"no answer within {TIMEOUT_MS} ms to {request[:60]!r}") from error


def ask_dealer(socket, request):
    """One request on a DEALER socket, REQ-style; returns the frames after the delimiter."""
    try:
        socket.send_multipart([b"", request.encode("ascii")])
        frames = socket.recv_multipart()
    except zmq.Again as error:
        raise ServiceTimeout(f"no answer within {TIMEOUT_MS} ms to {request[:60]!r}") from error
    if not frames or frames[0] != b"":
        return [b"<no empty delimiter frame>"] + frames
    return frames[1:]


def one_frame(frames):
    """The reply text when the reply is one frame, else a description of what came."""
    if len(frames) != 1:
        return f"<{len(frames)} frames: {[f[:80] for f in frames]!r}>"
    return frames[0].decode("utf-8", errors="replace")


def chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------------------------------


class Checker:
    def __init__(self):
        self.checked = 0
        self.mismatches = []
        self.mismatch_count = 0

    def compare(self, ip, kind, expected, got, equal):
        self.checked += 1
        if not equal:
            self.mismatch_count += 1
            if len(self.mismatches) < MAX_REPORTED:
                self.mismatches.append({"ip": ip, "kind": kind, "expected": expected, "got": got})


def run(args):
    reader = maxminddb.open_database(args.db, maxminddb.MODE_MMAP_EXT)
    try:
        ip_version = reader.metadata().ip_version
        addresses = generate_addresses(args.count, args.seed, ip_version, args.uniform)
        random_count = len(addresses)
        if args.networks or os.path.basename(args.db).endswith("-Test.mmdb"):
            addresses += [str(n.network_address) for n in walk_networks(args.db)]
        checker = Checker()
        context = zmq.Context()
        started = time.monotonic()
        found = 0
        lookup_errors = 0
        try:
            req = connect(context, zmq.REQ, args.endpoint)
            dealer = connect(context, zmq.DEALER, args.endpoint)
            for chunk in chunks(addresses, CHUNK):
                truth = lookup_chunk(reader, chunk)
                found += sum(1 for t in truth.values() if isinstance(t, tuple) and t[0] is not None)
                lookup_errors += sum(1 for t in truth.values() if isinstance(t, LookupFailure))
                check_chunk(checker, chunk, truth, (req, dealer))
        finally:
            context.destroy(linger=0)
    finally:
        reader.close()

    return {
        "checked": checker.checked,
        "mismatches": checker.mismatches,
        "mismatch_count": checker.mismatch_count,
        "found": found,
        "lookup_errors": lookup_errors,
        "addresses": len(addresses),
        "random_addresses": random_count,
        "database_network_addresses": len(addresses) - random_count,
        "seconds": round(time.monotonic() - started, 3),
    }


def lookup_chunk(reader, addresses):
    """What libmaxminddb finds for each address: (record, network), or LookupFailure."""
    truth = {}  # ip -> (record, network) or LookupFailure
    for ip in addresses:
        try:
            record, prefix = reader.get_with_prefix_len(ip)
        except maxminddb.InvalidDatabaseError as error:
            truth[ip] = LookupFailure(str(error))
            continue
        network = None
        if record is not None:
            network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
        truth[ip] = (record, network)
    return truth


def check_chunk(checker, addresses, truth, sockets):
    """Asks the service about a chunk of addresses in every way, and compares."""
    req, dealer = sockets
    # (a) and (b): geoip, one address per request or 100 per request.
    single = [ip for i, ip in enumerate(addresses) if i % SINGLE_EVERY == 0]
    batched = [ip for i, ip in enumerate(addresses) if i % SINGLE_EVERY != 0]
    for ip in single:
        got = one_frame(ask_req(req, f"geoip {ip}"))
        compare_tsv(checker, ip, "geoip-single", truth[ip], got)
    for batch in chunks(batched, GEOIP_BATCH):
        reply = one_frame(ask_dealer(dealer, "geoip " + " ".join(batch)))
        for ip, got in zip(batch, batch_lines(reply, batch)):
            compare_tsv(checker, ip, "geoip-batch", truth[ip], got)

    # (c): json, 50 addresses per request.
    for batch in chunks(addresses, JSON_BATCH):
        reply = one_frame(ask_req(req, "json " + " ".join(batch)))
        try:
            answers = json.loads(reply)
        except ValueError:
            answers = None
        if len(batch) == 1 and reply.startswith("ERROR\t"):
            answers = [{"ip": batch[0], "error": reply}]
        if len(batch) == 1 and isinstance(answers, dict):
            answers = [answers]
        if not isinstance(answers, list) or len(answers) != len(batch):
            answers = [{"unusable reply": reply[:200]}] * len(batch)
        for ip, answer in zip(batch, answers):
            compare_json(checker, ip, truth[ip], answer)

    # (d): get, 100 addresses per request.
    fields = ",".join(GET_FIELDS)
    for batch in chunks(addresses, GET_BATCH):
        reply = one_frame(ask_dealer(dealer, f"get {fields} " + " ".join(batch)))
        for ip, got in zip(batch, batch_lines(reply, batch)):
            compare_get(checker, ip, truth[ip], got)


def batch_lines(reply, batch):
    """The lines of a batch's reply, one per address (or as many descriptions of why not)."""
    lines = reply.split("\n")
    if len(lines) != len(batch):
        return [f"<batch reply had {len(lines)} lines for {len(batch)} addresses>"] * len(batch)
    return lines


def compare_get(checker, ip, truth, got):
    """One comparison of a `get` line: every field as libmaxminddb's value renders."""
    if isinstance(truth, LookupFailure):
        expected = f"ERROR\t... (libmaxminddb: {truth.message})"
        checker.compare(ip, "get", expected, got, got.startswith("ERROR\t"))
        return
    record = truth[0]
    values = [None if record is None else get_path(record, field) for field in GET_FIELDS]
    parts = got.split("\t")
    equal = len(parts) == len(values) and all(same_field(v, p) for v, p in zip(values, parts))
    checker.compare(ip, "get", [jsonable(v) for v in values], got, equal)


def compare_tsv(checker, ip, kind, truth, got):
    """One comparison of a `geoip` line; an address libmaxminddb fails on wants ERROR."""
    if isinstance(truth, LookupFailure):
        expected = f"ERROR\t... (libmaxminddb: {truth.message})"
        checker.compare(ip, kind, expected, got, got.startswith("ERROR\t"))
        return
    expected = expected_tsv(truth[0])
    checker.compare(ip, kind, expected, got, got == expected)


def compare_json(checker, ip, truth, answer):
    """Two comparisons for one `json` answer: network (with the echoed ip) and record."""
    if isinstance(truth, LookupFailure):
        expected = {"ip": ip, "error": f"... (libmaxminddb: {truth.message})"}
        refused = isinstance(answer, dict) and "error" in answer
        checker.compare(ip, "json-network", expected, answer, refused)
        checker.compare(ip, "json-record", expected, answer, refused)
        return
    record, network = truth
    expected_network = {"ip": ip, "network": network_text(network)}
    if not isinstance(answer, dict) or "network" not in answer or "record" not in answer:
        checker.compare(ip, "json-network", expected_network, answer, False)
        checker.compare(ip, "json-record", jsonable(record), answer, False)
        return
    got_text = answer["network"]
    try:
        got_network = None if got_text is None else ipaddress.ip_network(got_text, strict=True)
        network_ok = answer.get("ip") == ip and got_network == network
    except (TypeError, ValueError):
        network_ok = False
    checker.compare(
        ip,
        "json-network",
        expected_network,
        {"ip": answer.get("ip"), "network": got_text},
        network_ok,
    )
    checker.compare(
        ip, "json-record", jsonable(record), answer["record"], same_value(record, answer["record"])
    )


def main(argv):
    parser = argparse.ArgumentParser(
        description="Compare a running geoipmq with libmaxminddb on random addresses."
    )
    parser.add_argument("--endpoint", required=True, help="e.g. tcp://127.0.0.1:5555")
    parser.add_argument("--db", required=True, help="the .mmdb file the service serves")
    parser.add_argument("--count", required=True, type=int, help="how many addresses")
    parser.add_argument("--seed", required=True, type=int, help="random seed")
    parser.add_argument(
        "--networks",
        action="store_true",
        help="also check the first address of every network in the database (the default "
        'for MaxMind\'s test databases, whose names end in "-Test.mmdb")',
    )
    parser.add_argument(
        "--uniform",
        action="store_true",
        help="random addresses uniformly over the whole IPv4 (half) and IPv6 (half) spaces",
    )
    args = parser.parse_args(argv)  # exits 2 on a usage error
    if args.count < 0:
        parser.error("--count must be 0 or more")
    if not os.path.isfile(args.db):
        parser.error(f"--db {args.db!r} is not a file")
    try:
        result = run(args)
    except ServiceTimeout as error:
        print(json.dumps({"error": str(error)}))
        print(f"libmaxminddb_check: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
