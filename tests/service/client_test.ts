import assert from "node:assert/strict";
import { GeoipClient, GeoipClientError, parsePlace } from "../../lib/client/mod.ts";
import { Libzmq } from "../../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../../lib/zmq/mod.ts";
import { CurveFiles } from "../support/curve_files.ts";
import { cityFixture, withTempFile, withTempFiles } from "../support/fixtures.ts";
import { startOnDatabase, startService } from "../support/service_process.ts";

const LONDON = {
  countryCode: "GB",
  subdivisionCode: "ENG",
  city: "London",
  postalCode: "EC1A",
  latitude: 51.5142,
  longitude: -0.0931,
  metroCode: 501,
};

/** A TCP port nobody listens on: bound, then closed. */
function deadEndpoint(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `tcp://127.0.0.1:${port}`;
}

Deno.test("parsePlace() reads a geoip line, NOT_FOUND and ERROR", () => {
  assert.deepEqual(
    parsePlace("GB\tENG\tLondon\tEC1A\t51.514200\t-0.093100\t501\t(null)"),
    LONDON,
  );
  assert.equal(parsePlace("NOT_FOUND"), null);
  const error = parsePlace('ERROR\tinvalid IP address "x"');
  assert.ok(error instanceof GeoipClientError);
  assert.equal(error.message, 'geoipmq: invalid IP address "x"');
  assert.deepEqual(parsePlace(new Array(8).fill("(null)").join("\t")), {
    countryCode: null,
    subdivisionCode: null,
    city: null,
    postalCode: null,
    latitude: null,
    longitude: null,
    metroCode: null,
  });
});

Deno.test("GeoipClient looks up one address, a batch, a record and info", async () => {
  await withTempFile(cityFixture(), async (path) => {
    await using service = await startService(["--db", path, "--bind", "tcp://127.0.0.1:*"]);
    await using client = new GeoipClient({ endpoints: [service.endpoint], batchSize: 3 });
    assert.deepEqual(await client.lookup("81.2.69.160"), LONDON);
    assert.equal(await client.lookup("8.8.8.8"), null);
    await assert.rejects(() => client.lookup("bogus"), GeoipClientError);
    const many = await client.lookupMany([
      "81.2.69.160",
      "8.8.8.8",
      "x",
      "2001:db8::1",
      "::ffff:81.2.69.161",
    ]);
    assert.equal(many.length, 5);
    assert.deepEqual(many[0], LONDON);
    assert.equal(many[1], null);
    assert.ok(many[2] instanceof GeoipClientError);
    assert.equal((many[3] as { city: string }).city, "Sixville");
    assert.deepEqual(many[4], LONDON);
    const answer = await client.record("81.2.69.170");
    assert.equal(answer.network, "81.2.69.160/27");
    assert.equal((answer.record?.postal as { code: string }).code, "EC1A");
    assert.equal((await client.info()).database_type, "GeoIP2-City");
    assert.equal(await client.request("ping"), "pong");
  });
});

Deno.test("GeoipClient gives up on a dead endpoint with a clear error, in bounded time", async () => {
  const endpoint = deadEndpoint();
  await using client = new GeoipClient({ endpoints: [endpoint], timeoutMs: 200, attempts: 3 });
  const started = performance.now();
  await assert.rejects(() => client.lookup("81.2.69.160"), (error: unknown) => {
    assert.ok(error instanceof GeoipClientError);
    assert.equal(error.message, `No reply from ${endpoint} after 3 attempts of 200 ms`);
    return true;
  });
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 550 && elapsed < 5000, `took ${elapsed} ms`);
});

Deno.test("GeoipClient spreads requests over instances and fails over when one dies", async () => {
  await withTempFiles([cityFixture(), cityFixture()], async ([pathA, pathB]) => {
    await using a = await startService(["--db", pathA, "--bind", "tcp://127.0.0.1:*"]);
    await using b = await startService(["--db", pathB, "--bind", "tcp://127.0.0.1:*"]);
    await using client = new GeoipClient({
      endpoints: [a.endpoint, b.endpoint],
      timeoutMs: 500,
      attempts: 4,
    });
    // The second connection may come up a moment after the first: ask until both have
    // answered, within a bound.
    const served = new Set<string>();
    for (let i = 0; i < 400 && served.size < 2; i++) {
      served.add(String((await client.info()).database_path));
    }
    assert.deepEqual([...served].sort(), [pathA, pathB].sort(), "both instances got work");

    await a.stop("SIGKILL");
    for (let i = 0; i < 50; i++) {
      assert.deepEqual(await client.lookup("81.2.69.160"), LONDON, `lookup ${i} after the kill`);
    }
    assert.equal((await client.info()).database_path, pathB, "the live instance takes it all");
  });
});

Deno.test("GeoipClient calls made at once are queued, not mixed", async () => {
  await withTempFile(cityFixture(), async (path) => {
    await using service = await startService(["--db", path, "--bind", "tcp://127.0.0.1:*"]);
    await using client = new GeoipClient({ endpoints: [service.endpoint] });
    const results = await Promise.all([
      client.lookup("81.2.69.160"),
      client.lookup("8.8.8.8"),
      client.request("ping"),
      client.lookup("2001:db8::1"),
    ]);
    assert.deepEqual(results[0], LONDON);
    assert.equal(results[1], null);
    assert.equal(results[2], "pong");
    assert.equal((results[3] as { city: string }).city, "Sixville");
  });
});

Deno.test("GeoipClient speaks CURVE: served with keys on the list, refused in time without", async () => {
  const lib = Libzmq.open(bundledLibzmqPath());
  const allowed = lib.curveKeypair();
  const stranger = lib.curveKeypair();
  await using files = await CurveFiles.create(lib, [allowed.publicKey]);
  const curve = { serverKey: files.serverKey, ...allowed };
  await using service = await startOnDatabase(files.database, {
    flags: files.flags,
    probe: { curve },
  });
  await using client = new GeoipClient({
    endpoints: [service.endpoint],
    curve,
    lib,
  });
  assert.deepEqual(await client.lookup("81.2.69.160"), LONDON);
  for (const keys of [stranger, undefined]) {
    await using refused = new GeoipClient({
      endpoints: [service.endpoint],
      timeoutMs: 300,
      attempts: 2,
      lib,
      ...(keys === undefined ? {} : { curve: { serverKey: files.serverKey, ...keys } }),
    });
    await assert.rejects(() => refused.lookup("81.2.69.160"), GeoipClientError);
  }
});
