/**
 * Fuzzing of requests: the parsers as pure functions against independent oracles, and
 * the real service process over real sockets with random, mutated and odd requests.
 *
 * The normal run uses a fixed seed; `deno task fuzz` sets `GEOIPMQ_FUZZ_SEED=random` and
 * `GEOIPMQ_FUZZ_SCALE=10` (see tests/support/fuzz_random.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { isIP } from "node:net";
import {
  formatIpAddress,
  type IpAddress,
  parseIpAddress,
  parseIpInto,
} from "../../lib/protocol/mod.ts";
import type { ZmqSocket } from "../../lib/zmq/mod.ts";
import {
  parseRequest,
  quoteValue,
  type Request,
  type RequestLimits,
  RequestScan,
  VERBS,
} from "../../lib/protocol/mod.ts";
import { GeoipResponder } from "../../lib/lookup/mod.ts";
import {
  cityFixture,
  LONDON_TSV,
  openFixture,
  withTempFile,
  writeTempFile,
} from "../support/fixtures.ts";
import {
  addressLikeString,
  FUZZ_LIMITS,
  IP_ALPHABET,
  mutateRequest,
  NON_ASCII_SEQUENCES,
  oddAddress,
  randomString,
  randomValidAddress,
  REQUEST_TEMPLATES,
} from "../support/fuzz_inputs.ts";
import { caseSeed, fuzzSettings, Random, scaled } from "../support/fuzz_random.ts";
import { replyProblem } from "../support/reply_shape.ts";
import { type ServiceProcess, startOnDatabase } from "../support/service_process.ts";
import { receiveWithin, SocketType, TestClient } from "../support/test_client.ts";

const settings = fuzzSettings("request_fuzz_test");
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (text: string) => encoder.encode(text);

// ---------------------------------------------------------------------------------------
// Oracles written from docs/PROTOCOL.md, independently of lib/protocol.ts.

const WHITE_SPACE = new Set([0x20, 0x09, 0x0d, 0x0a]);

/**
 * What a request should parse to, by splitting on white space. When a request breaks
 * two rules (a byte that is not printable and too many addresses) the protocol does not
 * say which reason wins: both are returned.
 */
function expectedRequest(frame: Uint8Array, limits: RequestLimits): Request | string[] {
  if (frame.length > limits.maxRequestBytes) {
    return { kind: "invalid", reason: `request larger than ${limits.maxRequestBytes} bytes` };
  }
  const printable = frame.every((b) => WHITE_SPACE.has(b) || (b >= 0x21 && b <= 0x7e));
  const words = String.fromCharCode(...frame).split(/[ \t\r\n]+/).filter((w) => w !== "");
  const tooMany = words.length - 1 > limits.maxAddresses;
  const notPrintable = "request is not printable ASCII";
  const overCount = `more than ${limits.maxAddresses} addresses in one request`;
  if (!printable && tooMany) return [notPrintable, overCount];
  if (!printable) return { kind: "invalid", reason: notPrintable };
  if (tooMany) return { kind: "invalid", reason: overCount };
  if (words.length === 0) return { kind: "invalid", reason: "empty request" };
  const [verb, ...rest] = words as [string, ...string[]];
  if (verb === "geoip" || verb === "json") {
    if (rest.length === 0) return { kind: "invalid", reason: `"${verb}" needs an IP address` };
    return { kind: "lookup", format: verb, addresses: rest };
  }
  if (verb === "ping" || verb === "info") {
    if (rest.length > 0) return { kind: "invalid", reason: `"${verb}" takes no arguments` };
    return { kind: verb };
  }
  return {
    kind: "invalid",
    reason: `unknown command ${quoteValue(verb)}; expected one of ${VERBS.join(", ")}`,
  };
}

/** The bytes of an IPv6 address, from the WHATWG URL parser's canonical host. */
function urlIpv6Bytes(text: string): number[] | undefined {
  let host: string;
  try {
    host = new URL(`http://[${text}]/`).hostname;
  } catch {
    return undefined;
  }
  const inner = host.slice(1, -1);
  const [head, tail] = inner.includes("::") ? inner.split("::") : [inner, undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined
    ? left
    : [...left, ...new Array(8 - left.length - right.length).fill("0"), ...right];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]);
}

/** The URL parser's canonical IPv6 text (RFC 5952 without the mapped form). */
function urlIpv6Text(text: string): string | undefined {
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

function ipv4Bytes(text: string): number[] {
  return text.split(".").map(Number);
}

// ---------------------------------------------------------------------------------------
// Pure functions.

Deno.test("node:net isIP() treats the forms geoipmq cares about as documented", () => {
  // Checked before using isIP() as an oracle: it refuses leading zeros in IPv4 parts, as
  // geoipmq does on purpose, and accepts IPv4-mapped and IPv4-tailed IPv6 forms. Zone ids
  // are accepted by isIP() and refused by geoipmq on purpose; they contain "%", outside
  // the alphabet [0-9a-fA-F:.] the oracle is used for.
  const cases: [string, number, number][] = [
    ["01.2.3.4", 0, 0],
    ["1.2.3.04", 0, 0],
    ["0.0.0.0", 4, 4],
    ["::ffff:81.2.69.160", 6, 6],
    ["::ffff:01.2.3.4", 0, 0],
    ["1:2:3:4:5:6:1.2.3.4", 6, 6],
    ["1:2:3:4:5:6::1.2.3.4", 0, 0],
    ["::", 6, 6],
    ["1.2.3", 0, 0],
  ];
  for (const [text, node, ours] of cases) {
    assert.equal(isIP(text), node, `isIP(${JSON.stringify(text)})`);
    assert.equal(parseIpAddress(text)?.version ?? 0, ours, `parseIpAddress(${text})`);
  }
  assert.equal(isIP("fe80::1%eth0"), 6, "isIP accepts zone ids");
  assert.equal(parseIpAddress("fe80::1%eth0"), undefined, "geoipmq refuses zone ids");
});

Deno.test("parseIpAddress() agrees with isIP(), the URL parser and itself", () => {
  const count = scaled(100_000, settings);
  const random = new Random(caseSeed(settings.seed, 1));
  const scratch = new Uint8Array(128);
  const out = new Uint8Array(16);
  const disagreements: string[] = [];
  let valid = 0;
  let loneColonBug = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const text = i % 10 === 9 ? oddAddress(random) : addressLikeString(random);
    let parsed: IpAddress | undefined;
    try {
      parsed = parseIpAddress(text);
    } catch (error) {
      disagreements.push(`parseIpAddress(${JSON.stringify(text)}) threw ${error}`);
      continue;
    }
    // parseIpInto on the same bytes inside a buffer full of other bytes, with garbage in
    // `out`, must give the same address.
    const bytes = Uint8Array.from(text, (c) => Math.min(c.charCodeAt(0), 255));
    if (bytes.length + 32 <= scratch.length) {
      for (let k = 0; k < scratch.length; k++) scratch[k] = random.int(256);
      for (let k = 0; k < out.length; k++) out[k] = random.int(256);
      const start = random.int(32);
      scratch.set(bytes, start);
      let version: number;
      try {
        version = parseIpInto(scratch, start, start + bytes.length, out);
      } catch (error) {
        disagreements.push(`parseIpInto(${JSON.stringify(text)}) threw ${error}`);
        continue;
      }
      const same = version === (parsed?.version ?? 0) &&
        (parsed === undefined || parsed.bytes.every((b, k) => out[k] === b));
      if (!same && text === ":" && scratch[start + 1] === 0x3a) {
        loneColonBug++; // reading past `end`: counted, and must stay 0
      } else if (!same) {
        disagreements.push(
          `parseIpInto(${JSON.stringify(text)}) = ${version} [${out.join(",")}], ` +
            `parseIpAddress = ${parsed?.version ?? 0} [${parsed?.bytes.join(",") ?? ""}]`,
        );
      }
    }
    if (parsed !== undefined) {
      valid++;
      const again = parseIpAddress(formatIpAddress(parsed));
      if (again === undefined || again.bytes.join() !== parsed.bytes.join()) {
        disagreements.push(
          `${text} does not survive formatIpAddress(): ${formatIpAddress(parsed)}`,
        );
      }
    }
    const inAlphabet = [...text].every((c) => IP_ALPHABET.includes(c));
    if (!inAlphabet) continue;
    const node = isIP(text);
    if (node !== (parsed?.version ?? 0)) {
      disagreements.push(
        `${JSON.stringify(text)}: isIP() = ${node}, parseIpAddress() = ${parsed?.version ?? 0}`,
      );
      continue;
    }
    if (parsed === undefined) continue;
    const expected = parsed.version === 4 ? ipv4Bytes(text) : urlIpv6Bytes(text);
    if (expected === undefined || expected.join() !== parsed.bytes.join()) {
      disagreements.push(
        `${JSON.stringify(text)}: bytes ${parsed.bytes.join(",")}, oracle ${expected?.join(",")}`,
      );
    }
    if (parsed.version === 6 && !formatIpAddress(parsed).startsWith("::ffff:")) {
      const canonical = urlIpv6Text(text);
      if (canonical !== formatIpAddress(parsed)) {
        disagreements.push(
          `${JSON.stringify(text)}: formatIpAddress() = ${formatIpAddress(parsed)}, ` +
            `URL canonical = ${canonical}`,
        );
      }
    }
  }
  const elapsed = performance.now() - started;
  assert.deepEqual(disagreements.slice(0, 20), [], `${disagreements.length} disagreements`);
  assert.ok(valid > count / 10, `only ${valid} of ${count} inputs were valid addresses`);
  assert.ok(elapsed < 30_000, `${count} cases took ${elapsed.toFixed(0)} ms`);
  assert.equal(loneColonBug, 0, 'a lone ":" read a stale byte past its end');
});

// Found by fuzzing (1), now fixed: parseIpInto() reads one byte past `end` for an address starting with ":" (it
// tests `text[start + 1] === ":"` without checking `start + 1 < end`). A lone ":" at the
// end of a frame, in a receive buffer whose next byte is a ":" left by an earlier, longer
// request, parses as "::". Over the wire: after `geoip ::`, `geoip :` is answered
// NOT_FOUND (the answer for "::") instead of `ERROR\tinvalid IP address ":"`.
Deno.test({
  name: 'BUG 1: parseIpInto() reads past `end`: ":" followed by a stale ":" parses as "::"',
  fn() {
    const buffer = encode("::");
    assert.equal(parseIpInto(buffer, 0, 1, new Uint8Array(16)), 0, 'the address is ":" alone');
  },
});

Deno.test({
  name: 'BUG 1 over the wire: after "geoip ::", "geoip :" is answered NOT_FOUND, not ERROR',
  async fn() {
    await withTempFile(cityFixture(), async (path) => {
      const service = await startOnDatabase(path);
      try {
        await using client = new TestClient();
        assert.equal(client.ask(service.endpoint, "geoip :"), 'ERROR\tinvalid IP address ":"');
        assert.equal(client.ask(service.endpoint, "geoip ::"), "NOT_FOUND");
        assert.equal(client.ask(service.endpoint, "geoip :"), 'ERROR\tinvalid IP address ":"');
      } finally {
        await stopWithin(service, 10_000);
      }
    });
  },
});

Deno.test("parseRequest() and a reused RequestScan agree with a white-space oracle", () => {
  const count = scaled(100_000, settings);
  const random = new Random(caseSeed(settings.seed, 2));
  const scan = new RequestScan(FUZZ_LIMITS);
  const buffer = new Uint8Array(FUZZ_LIMITS.maxRequestBytes + 64);
  const problems: string[] = [];
  const kinds = new Map<string, number>();
  for (let i = 0; i < count && problems.length < 20; i++) {
    const frame = requestFrame(random, i);
    const label = JSON.stringify(decoder.decode(frame.subarray(0, 120)));
    let parsed: Request;
    try {
      parsed = parseRequest(frame, FUZZ_LIMITS);
    } catch (error) {
      problems.push(`parseRequest(${label}) threw ${error}`);
      continue;
    }
    kinds.set(parsed.kind, (kinds.get(parsed.kind) ?? 0) + 1);
    const expected = expectedRequest(frame, FUZZ_LIMITS);
    if (Array.isArray(expected)) {
      if (parsed.kind !== "invalid" || !expected.includes(parsed.reason)) {
        problems.push(`${label}: ${JSON.stringify(parsed)}, expected one of ${expected}`);
      }
    } else if (JSON.stringify(parsed) !== JSON.stringify(expected)) {
      problems.push(`${label}: ${JSON.stringify(parsed)}, expected ${JSON.stringify(expected)}`);
    }
    // The request loop's form: the frame at the start of a buffer holding other bytes
    // (a longer request received before), scanned by a RequestScan used many times.
    if (frame.length <= buffer.length) {
      for (let k = frame.length; k < Math.min(buffer.length, frame.length + 80); k++) {
        buffer[k] = random.pick([0x20, 0x31, 0x2e, 0x3a, 0x00, 0xff, random.int(256)]);
      }
      buffer.set(frame);
      let kind: string;
      try {
        kind = scan.scan(buffer, frame.length);
      } catch (error) {
        problems.push(`RequestScan.scan(${label}) threw ${error}`);
        continue;
      }
      const again = kind === "invalid" ? { kind, reason: scan.reason } : kind === "lookup"
        ? {
          kind,
          format: scan.format,
          addresses: Array.from({ length: scan.addressCount }, (_, k) => {
            return scan.addressText(buffer, k);
          }),
        }
        : { kind };
      if (JSON.stringify(again) !== JSON.stringify(parsed)) {
        problems.push(`${label}: scan ${JSON.stringify(again)}, parse ${JSON.stringify(parsed)}`);
      }
    }
  }
  assert.deepEqual(problems, []);
  for (const kind of ["lookup", "ping", "info", "invalid"]) {
    assert.ok((kinds.get(kind) ?? 0) > count / 1000, `few ${kind} requests: ${[...kinds]}`);
  }
});

/** A request frame for the pure-function fuzz: random, mutated or made of odd parts. */
function requestFrame(random: Random, index: number): Uint8Array {
  switch (index % 8) {
    case 0:
      return random.bytes(random.chance(0.8) ? random.int(24) : random.int(300));
    case 1:
      return encode(randomString(random, "geoipjsnf \t\r\n0123456789.:abcdef", 60));
    case 2: {
      const count = random.pick([1, 2, 3, 49, 50, 51, 52]);
      const verb = random.pick(["geoip", "json"]);
      const addresses = Array.from({ length: count }, () => randomValidAddress(random));
      return encode(`${verb} ${addresses.join(random.pick([" ", "\t", "  ", "\r\n"]))}`);
    }
    case 3: {
      const frame = new Uint8Array(random.pick([4095, 4096, 4097, 5000]));
      frame.fill(0x20);
      frame.set(encode("geoip 1.2.3.4"), random.int(100));
      return frame;
    }
    default:
      return mutateRequest(random, encode(random.pick(REQUEST_TEMPLATES)));
  }
}

// ---------------------------------------------------------------------------------------
// The service.

/** One fuzz request: the frames of the message and how it travels. */
interface FuzzCase {
  /** What made it, for failure messages. */
  label: string;
  /** The request frames (after the delimiter, for a DEALER that sends one). */
  frames: Uint8Array[];
  /** A REQ socket, a DEALER with an empty delimiter, or a DEALER without one. */
  channel: "req" | "dealer" | "dealer-raw";
}

const REPLY_WAIT_MS = 3000;
const LOST_REPLY_WAIT_MS = 1000;

/** The requests whose answers are known in advance, from tests/support/fixtures.ts. */
const KNOWN_ANSWERS: readonly [string, string][] = [
  ["geoip 81.2.69.160", LONDON_TSV],
  ["geoip ::ffff:81.2.69.161", LONDON_TSV],
  ["  geoip\t81.2.69.191\r\n", LONDON_TSV],
  ["geoip 8.8.8.8", "NOT_FOUND"],
  ["geoip ::", "NOT_FOUND"],
  ["geoip 01.2.3.4", 'ERROR\tinvalid IP address "01.2.3.4"'],
  ["geoip fe80::1%eth0", 'ERROR\tinvalid IP address "fe80::1%eth0"'],
  ["geoip 81.2.69.160 8.8.8.8", `${LONDON_TSV}\nNOT_FOUND`],
  ["ping", "pong"],
  ["PING", 'ERROR\tunknown command "PING"; expected one of geoip, json, ping, info, get'],
  ["", "ERROR\tempty request"],
  [" \t\r\n", "ERROR\tempty request"],
  ["geoip", 'ERROR\t"geoip" needs an IP address'],
  ["ping 1.2.3.4", 'ERROR\t"ping" takes no arguments'],
  ["geoip \u00e9", "ERROR\trequest is not printable ASCII"],
  [`geoip${" 1.1.1.1".repeat(51)}`, "ERROR\tmore than 50 addresses in one request"],
  [
    `json ${"f".repeat(4091)}`,
    'ERROR\tinvalid IP address "ffffffffffffffffffffffffffffffffffffffff..."',
  ],
];

/** Draws one service fuzz case. `oversizedLeft` bounds the slow over-the-limit cases. */
function serviceCase(random: Random, oversizedLeft: number): FuzzCase {
  const single = (label: string, frame: Uint8Array): FuzzCase => ({
    label,
    frames: [frame],
    channel: random.chance(0.1) ? "dealer-raw" : random.chance(0.5) ? "req" : "dealer",
  });
  const kind = random.int(100);
  if (kind < 10) {
    return single("random bytes", random.bytes(random.chance(0.9) ? random.int(100) : 600));
  }
  if (kind < 18) {
    const frame = encode(random.pick(REQUEST_TEMPLATES));
    const at = random.int(frame.length + 1);
    const inserted = random.chance(0.5)
      ? new Uint8Array(random.pick(NON_ASCII_SEQUENCES))
      : new Uint8Array(random.range(1, 3)).fill(random.pick([0, 1, 0x1b, 0x7f]));
    const out = new Uint8Array(frame.length + inserted.length);
    out.set(frame.subarray(0, at));
    out.set(inserted, at);
    out.set(frame.subarray(at), at + inserted.length);
    return single("non-ASCII or NUL inside", out);
  }
  if (kind < 21) {
    return single("empty or white space", encode(random.pick(["", " ", "\r\n", "\t"])));
  }
  if (kind < 56) {
    return single("mutated", mutateRequest(random, encode(random.pick(REQUEST_TEMPLATES))));
  }
  if (kind < 81) {
    const verb = random.pick(["geoip", "json"]);
    const count = random.chance(0.7) ? 1 : random.range(2, 8);
    const parts = Array.from({ length: count }, () => {
      return random.chance(0.7) ? oddAddress(random) : randomValidAddress(random);
    });
    return single("odd addresses", encode(`${verb} ${parts.join(" ")}`));
  }
  if (kind < 89) {
    const [request] = random.pick(KNOWN_ANSWERS);
    return single("known answer", encode(request));
  }
  if (kind < 92) {
    const verb = random.pick(["geoip", "json"]);
    const count = random.pick([49, 50, 51, 60]);
    const addresses = Array.from({ length: count }, () => randomValidAddress(random));
    const text = `${verb} ${addresses.join(" ")}`;
    if (random.chance(0.5)) return single(`${count} addresses`, encode(text));
    // Padded to exactly the limit with white space, which is ignored.
    const padded = new Uint8Array(FUZZ_LIMITS.maxRequestBytes).fill(0x20);
    padded.set(encode(text.slice(0, FUZZ_LIMITS.maxRequestBytes)));
    return single("exactly the size limit", padded);
  }
  if (kind < 97) {
    const count = random.chance(0.8) ? random.range(2, 4) : random.range(5, 40);
    const frames = Array.from({ length: count }, () => {
      return random.chance(0.3) ? new Uint8Array(0) : encode(random.pick(REQUEST_TEMPLATES));
    });
    return { label: `${count} frames`, frames, channel: random.chance(0.5) ? "req" : "dealer" };
  }
  if (kind < 99 || oversizedLeft <= 0) {
    // Without a delimiter the first frames are an envelope: small ones come back in
    // front of the reply.
    const count = random.range(2, 4);
    const frames = Array.from({ length: count - 1 }, () => random.bytes(random.range(1, 20)));
    frames.push(encode(random.pick(REQUEST_TEMPLATES)));
    return { label: "envelope without delimiter", frames, channel: "dealer-raw" };
  }
  const size = random.pick([FUZZ_LIMITS.maxRequestBytes + 1, 8192, 100_000, 1_000_000]);
  const frame = new Uint8Array(size).fill(0x20);
  frame.set(encode("geoip 81.2.69.160"));
  return single(`${size} bytes`, frame);
}

/** Sockets to the service, replaced when one may hold a late reply. */
class Channels {
  readonly #client: TestClient;
  readonly #endpoint: string;
  #req: ZmqSocket;
  #dealer: ZmqSocket;
  /** How many sockets were replaced. */
  reconnects = 0;

  constructor(client: TestClient, endpoint: string) {
    this.#client = client;
    this.#endpoint = endpoint;
    this.#req = client.socket(SocketType.REQ, endpoint, REPLY_WAIT_MS);
    this.#dealer = client.socket(SocketType.DEALER, endpoint, REPLY_WAIT_MS);
  }

  socket(channel: FuzzCase["channel"]): ZmqSocket {
    return channel === "req" ? this.#req : this.#dealer;
  }

  replace(channel: FuzzCase["channel"]): void {
    this.reconnects++;
    if (channel === "req") {
      this.#req.close();
      this.#req = this.#client.socket(SocketType.REQ, this.#endpoint, REPLY_WAIT_MS);
    } else {
      this.#dealer.close();
      this.#dealer = this.#client.socket(SocketType.DEALER, this.#endpoint, REPLY_WAIT_MS);
    }
  }
}

/** Whether the process has exited, without waiting. */
async function hasExited(service: ServiceProcess): Promise<boolean> {
  const running = Symbol("running");
  const result = await Promise.race([service.exited, Promise.resolve(running)]);
  return result !== running;
}

Deno.test({
  name: "the service answers random and mutated requests and keeps serving",
  async fn() {
    const count = scaled(3000, settings);
    const batch = 200;
    const random = new Random(caseSeed(settings.seed, 3));
    const path = await writeTempFile(cityFixture());
    const oracle = new GeoipResponder(openFixture(cityFixture()), {
      limits: FUZZ_LIMITS,
      server: { version: "0", libzmqVersion: "0", startedAt: Date.now() },
    });
    const service = await startOnDatabase(path, {
      workers: 2,
      flags: [
        "--max-request-bytes",
        String(FUZZ_LIMITS.maxRequestBytes),
        "--max-addresses",
        String(FUZZ_LIMITS.maxAddresses),
      ],
    });
    const client = new TestClient();
    const problems: string[] = [];
    const tally = {
      replies: 0,
      exact: 0,
      lostOversized: 0,
      oversized: 0,
      noReply: 0,
      loneColon: 0,
    };
    let oversizedLeft = scaled(6, settings);
    const started = performance.now();
    try {
      const channels = new Channels(client, service.endpoint);
      for (let i = 0; i < count && problems.length < 10; i++) {
        const fuzz = serviceCase(random, oversizedLeft);
        if (oversizedLeft <= 0) {
          // Mutations may grow a request over the limit too: keep the slow cases bounded.
          fuzz.frames = fuzz.frames.map((f) => f.subarray(0, FUZZ_LIMITS.maxRequestBytes));
        }
        const oversized = fuzz.frames.some((f) => f.length > FUZZ_LIMITS.maxRequestBytes);
        if (oversized) {
          oversizedLeft--;
          tally.oversized++;
        }
        const problem = exchange(channels, fuzz, oversized, oracle, tally);
        if (problem !== undefined) {
          const shown = fuzz.frames.map((f) => decoder.decode(f.subarray(0, 100)));
          problems.push(
            `#${i} ${fuzz.label} on ${fuzz.channel} ${JSON.stringify(shown)}: ${problem}`,
          );
        }
        if ((i + 1) % batch === 0 || i === count - 1) {
          const health = await healthProblem(client, service);
          if (health !== undefined) {
            problems.push(`after request #${i}: ${health}`);
            break;
          }
        }
      }
      assert.deepEqual(problems, []);
      const elapsed = performance.now() - started;
      console.log(
        `request fuzz: ${count} requests in ${elapsed.toFixed(0)} ms, ` +
          `${channels.reconnects} sockets replaced, ${JSON.stringify(tally)}`,
      );
      assert.ok(tally.exact > count / 2, `only ${tally.exact} replies compared exactly`);
    } finally {
      await client[Symbol.asyncDispose]();
      const status = await stopWithin(service, 10_000);
      await Deno.remove(path);
      if (problems.length === 0) {
        assert.equal(status.code, 0, `exit status after SIGTERM:\n${service.log.join("\n")}`);
        const bad = service.log.filter((line) => /error|warn|unexpected/i.test(line));
        assert.deepEqual(bad, [], "the service logged no error");
      }
    }
  },
});

/**
 * Sends one fuzz case and checks the reply.
 *
 * @returns the problem, or undefined
 */
function exchange(
  channels: Channels,
  fuzz: FuzzCase,
  oversized: boolean,
  oracle: GeoipResponder,
  tally: {
    replies: number;
    exact: number;
    lostOversized: number;
    noReply: number;
    loneColon: number;
  },
): string | undefined {
  const socket = channels.socket(fuzz.channel);
  const sent = fuzz.channel === "dealer" ? [new Uint8Array(0), ...fuzz.frames] : fuzz.frames;
  socket.send(sent);
  const envelopeOnly = fuzz.channel === "dealer-raw" && fuzz.frames.length > 1;
  const reply = receiveWithin(
    socket,
    oversized || envelopeOnly ? LOST_REPLY_WAIT_MS : REPLY_WAIT_MS,
  );
  if (reply === null) {
    channels.replace(fuzz.channel);
    if (oversized) {
      tally.lostOversized++;
      return undefined; // frames over the limit may cut the connection (ZMQ_MAXMSGSIZE)
    }
    if (envelopeOnly) {
      tally.noReply++;
      return undefined; // an envelope that cannot be sent back is dropped
    }
    return `no reply within ${REPLY_WAIT_MS} ms`;
  }
  tally.replies++;
  // Strip what comes back in front of the reply: the delimiter, or the envelope.
  let body: Uint8Array[] = reply;
  if (fuzz.channel === "dealer") {
    if (reply[0]?.length !== 0) return "a DEALER reply without the empty delimiter";
    body = reply.slice(1);
  } else if (envelopeOnly) {
    const envelope = fuzz.frames.slice(0, -1);
    if (reply.length === fuzz.frames.length) {
      for (let k = 0; k < envelope.length; k++) {
        if (reply[k]!.join() !== envelope[k]!.join()) return `envelope frame ${k} changed`;
      }
      body = reply.slice(-1);
    }
  }
  if (body.length !== 1) return `a reply of ${body.length} frames`;
  const text = decoder.decode(body[0]);
  const shape = replyProblem(text);
  if (shape !== undefined) return shape;
  if (oversized) {
    return text.startsWith("ERROR\t") ? undefined : `an oversized request got ${text}`;
  }
  const requestFrames = envelopeOnly ? fuzz.frames.slice(-1) : fuzz.frames;
  if (requestFrames.length > 1) {
    return text === "ERROR\ta request must be a single frame"
      ? undefined
      : `a multi-frame request got ${JSON.stringify(text.slice(0, 200))}`;
  }
  const frame = requestFrames[0]!;
  if (endsWithLoneColon(frame)) {
    tally.loneColon++;
    return undefined; // BUG 1: the answer depends on the bytes an earlier request left
  }
  const expected = oracle.respond(frame);
  if (expected.startsWith("{") && JSON.parse(expected).database_type !== undefined) {
    const info = JSON.parse(text);
    return info.database_type === "GeoIP2-City" && info.max_addresses === FUZZ_LIMITS.maxAddresses
      ? undefined
      : `an unexpected info reply ${text}`;
  }
  const known = KNOWN_ANSWERS.find(([request]) => encode(request).join() === frame.join());
  if (known !== undefined && known[1] !== expected) {
    return `the in-process responder says ${JSON.stringify(expected)}, the fixture ${known[1]}`;
  }
  tally.exact++;
  return text === expected
    ? undefined
    : `reply ${JSON.stringify(text.slice(0, 300))}, expected ${
      JSON.stringify(expected.slice(0, 300))
    }`;
}

/** Whether a frame ends with the word ":" (BUG 1 makes its answer unpredictable). */
function endsWithLoneColon(frame: Uint8Array): boolean {
  const n = frame.length;
  return n >= 2 && frame[n - 1] === 0x3a && WHITE_SPACE.has(frame[n - 2]!);
}

/** Asks a fresh socket for London and a ping; checks the process is running. */
async function healthProblem(
  client: TestClient,
  service: ServiceProcess,
): Promise<string | undefined> {
  if (await hasExited(service)) {
    return `the service exited: ${(await service.exited).code}\n${service.log.join("\n")}`;
  }
  const socket = client.socket(SocketType.REQ, service.endpoint, REPLY_WAIT_MS);
  try {
    for (const [request, expected] of [["geoip 81.2.69.160", LONDON_TSV], ["ping", "pong"]]) {
      socket.send(request!);
      const reply = receiveWithin(socket, REPLY_WAIT_MS);
      if (reply === null) return `no reply to ${request} on a fresh socket`;
      const text = reply.map((f) => decoder.decode(f)).join("|");
      if (text !== expected) return `${request} got ${JSON.stringify(text)}`;
    }
    return undefined;
  } finally {
    socket.close();
  }
}

/** Stops with SIGTERM; SIGKILL if it is still running after `ms`. */
async function stopWithin(service: ServiceProcess, ms: number): Promise<Deno.CommandStatus> {
  const timer = setTimeout(() => {
    try {
      Deno.kill(service.pid, "SIGKILL");
    } catch {
      // Already exited.
    }
  }, ms);
  try {
    return await service.stop("SIGTERM");
  } finally {
    clearTimeout(timer);
  }
}
