import assert from "node:assert/strict";
import {
  booleanVariable,
  checkEndpoint,
  commaList,
  httpAddress,
  parseFlags,
  wholeNumber,
} from "../../../lib/cli/values.ts";
import { UsageError } from "../../../lib/cli/errors.ts";

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${error}`);
    assert.equal(error.message.includes("\n"), false, "one line");
    return error.message;
  }
  assert.fail("expected a UsageError");
}

Deno.test("checkEndpoint() accepts tcp with a port or *, and ipc", () => {
  for (const endpoint of ["tcp://127.0.0.1:5555", "tcp://*:5555", "tcp://[::1]:*", "ipc:///x"]) {
    checkEndpoint(endpoint, "--bind");
  }
  assert.equal(
    refusal(() => checkEndpoint("127.0.0.1:5555", "--endpoint")),
    '--endpoint "127.0.0.1:5555" is not an endpoint like tcp://127.0.0.1:5555 or ipc:///path',
  );
  assert.match(refusal(() => checkEndpoint("udp://127.0.0.1:1", "--bind")), /^--bind "udp:/);
  assert.match(refusal(() => checkEndpoint("inproc://x", "--connect")), /^--connect "inproc:/);
  assert.equal(
    refusal(() => checkEndpoint("tcp://127.0.0.1:70000", "--backend")),
    '--backend "tcp://127.0.0.1:70000": port out of range',
  );
});

Deno.test("wholeNumber() reads a number within bounds, or the default", () => {
  const bounds = { min: 1, max: 10, fallback: 3 };
  assert.equal(wholeNumber("--n", { value: undefined, ...bounds }), 3);
  assert.equal(wholeNumber("--n", { value: "10", ...bounds }), 10);
  assert.equal(
    refusal(() => wholeNumber("--n", { value: "11", ...bounds })),
    "--n must be from 1 to 10, got 11",
  );
  assert.equal(
    refusal(() => wholeNumber("--n", { value: "1.5", ...bounds })),
    '--n must be a whole number, got "1.5"',
  );
  assert.equal(
    refusal(() => wholeNumber("--n", { value: "", ...bounds })),
    '--n must be a whole number, got ""',
  );
});

Deno.test("booleanVariable() takes 1/true/0/false/empty and refuses the rest", () => {
  assert.equal(booleanVariable("X", undefined), false);
  assert.equal(booleanVariable("X", ""), false);
  assert.equal(booleanVariable("X", "0"), false);
  assert.equal(booleanVariable("X", "false"), false);
  assert.equal(booleanVariable("X", "1"), true);
  assert.equal(booleanVariable("X", "true"), true);
  assert.equal(refusal(() => booleanVariable("X", "yes")), 'X must be 1 or 0, got "yes"');
});

Deno.test("commaList() splits, trims and drops blanks", () => {
  assert.equal(commaList(undefined), undefined);
  assert.deepEqual(commaList(" a, ,b ,"), ["a", "b"]);
  assert.deepEqual(commaList(""), []);
});

Deno.test("httpAddress() reads HOST:PORT, [IPV6]:PORT and :PORT", () => {
  assert.equal(httpAddress(undefined), undefined);
  assert.deepEqual(httpAddress("127.0.0.1:8080"), { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(httpAddress("[::1]:80"), { hostname: "::1", port: 80 });
  assert.deepEqual(httpAddress(":0"), { hostname: "0.0.0.0", port: 0 });
  assert.match(refusal(() => httpAddress("8080")), /^--http "8080" is not an address/);
  assert.match(refusal(() => httpAddress("h:70000")), /is not an address/);
});

Deno.test("parseFlags() is strict and says what is wrong in one line", async (t) => {
  const flags = { out: { type: "string" }, quiet: { type: "boolean" } } as const;
  const cases: [string[], string][] = [
    [["--colour"], "unknown option --colour (see --help)"],
    [["--out"], "--out needs a value"],
    [["--out", "-x"], '--out needs a value; for one that starts with "-", write --out=VALUE'],
    [["--quiet=yes"], "--quiet takes no value"],
  ];
  for (const [args, message] of cases) {
    await t.step(
      args.join(" "),
      () => assert.equal(refusal(() => parseFlags(args, flags)), message),
    );
  }
  const { values, positionals } = parseFlags(["--out=-x", "a", "--quiet"], flags);
  assert.deepEqual({ ...values }, { out: "-x", quiet: true });
  assert.deepEqual(positionals, ["a"]);
});
