import assert from "node:assert/strict";
import { SHARED_REQUEST_BYTES, SMALL_REQUEST_BYTES } from "../../lib/lookup_pool/mod.ts";
import { type Service, StartupError, VERSION } from "../../lib/service/mod.ts";
import { Errno, SocketBytesOption, SocketOption, SocketType, ZmqError } from "../../lib/zmq/mod.ts";
import { brokenDoubleFixture, ipv4OnlyFixture, LONDON_TSV } from "../support/fixtures.ts";
import { startInProcess } from "../support/in_process_service.ts";
import { askOn, askOnDealer, TestClient } from "../support/test_client.ts";

const NULLS = new Array(8).fill("(null)").join("\t");

async function startServer(
  _client: TestClient,
  options: { workers?: number; fixture?: Uint8Array; bind?: string[] } = {},
): Promise<Service> {
  const started = await startInProcess(options);
  return started.service;
}

Deno.test("the server answers REQ clients over TCP", async (t) => {
  await using client = new TestClient();
  const server = await startServer(client);
  try {
    const endpoint = server.endpoints[0]!;
    assert.match(endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    const ask = (request: string) => client.ask(endpoint, request);
    await t.step(
      "geoip with every field",
      () => assert.equal(ask("geoip 81.2.69.160"), LONDON_TSV),
    );
    await t.step("geoip with only a country", () => {
      assert.equal(ask("geoip 2.125.160.217"), "GB" + NULLS.slice("(null)".length));
    });
    await t.step("geoip with an empty record", () => assert.equal(ask("geoip 192.0.2.1"), NULLS));
    await t.step("geoip keeps tabs out of fields", () => {
      assert.equal(ask("geoip 198.51.100.7").split("\t")[2], "Tab and break");
    });
    await t.step("geoip for IPv6", () => {
      assert.equal(
        ask("geoip 2001:db8::1"),
        "SX\t(null)\tSixville\t(null)\t-33.250000\t151.125000\t(null)\t(null)",
      );
    });
    await t.step("geoip for IPv4-mapped IPv6", () => {
      assert.equal(ask("geoip ::ffff:81.2.69.161"), LONDON_TSV);
    });
    await t.step("geoip for an unknown address", () => {
      assert.equal(ask("geoip 8.8.8.8"), "NOT_FOUND");
      assert.equal(ask("geoip ::1"), "NOT_FOUND");
    });
    await t.step("geoip for a malformed address", () => {
      assert.equal(ask("geoip 1.2.3.4.5"), 'ERROR\tinvalid IP address "1.2.3.4.5"');
      assert.equal(ask("geoip fe80::1%eth0"), 'ERROR\tinvalid IP address "fe80::1%eth0"');
    });
    await t.step("geoip for many addresses, one line each in order", () => {
      assert.equal(
        ask("geoip 81.2.69.160 8.8.8.8 bogus 192.0.2.9"),
        [LONDON_TSV, "NOT_FOUND", 'ERROR\tinvalid IP address "bogus"', NULLS].join("\n"),
      );
    });
    await t.step("json with the network and the record as stored", () => {
      const answer = JSON.parse(ask("json 81.2.69.170"));
      assert.equal(answer.ip, "81.2.69.170");
      assert.equal(answer.network, "81.2.69.160/27");
      assert.equal(answer.record.city.names.en, "London");
      assert.equal(answer.record.location.metro_code, 501);
      assert.deepEqual(answer.record.subdivisions, [{ iso_code: "ENG" }, { iso_code: "XX" }]);
    });
    await t.step("json keeps the address as asked", () => {
      const answer = JSON.parse(ask("json ::FFFF:81.2.69.160"));
      assert.equal(answer.ip, "::FFFF:81.2.69.160");
      assert.equal(answer.network, "::ffff:81.2.69.160/123");
    });
    await t.step("json writes 64-bit integers, bytes and floats", () => {
      assert.equal(
        ask("json 203.0.113.5"),
        '{"ip":"203.0.113.5","network":"203.0.113.0/24",' +
          '"record":{"big":18446744073709551615,"raw":[1,2,3],"ratio":0.5}}',
      );
    });
    await t.step("json for an unknown address", () => {
      assert.deepEqual(JSON.parse(ask("json 8.8.8.8")), {
        ip: "8.8.8.8",
        network: null,
        record: null,
      });
    });
    await t.step("json for many addresses is an array", () => {
      const answers = JSON.parse(ask("json 8.8.8.8 2001:db8::5 x"));
      assert.equal(answers.length, 3);
      assert.equal(answers[0].record, null);
      assert.equal(answers[1].network, "2001:db8::/32");
      assert.deepEqual(answers[2], { ip: "x", error: 'invalid IP address "x"' });
    });
    await t.step("ping", () => assert.equal(ask("ping"), "pong"));
    await t.step("info", () => {
      const info = JSON.parse(ask("info"));
      assert.equal(info.database_type, "GeoIP2-City");
      assert.equal(info.build_epoch, "2023-11-14T22:13:20.000Z");
      assert.equal(info.ip_version, 6);
      assert.equal(typeof info.node_count, "number");
      assert.deepEqual(info.languages, ["en", "de"]);
      assert.equal(info.version, VERSION);
      assert.equal(typeof info.uptime_seconds, "number");
      assert.match(info.libzmq_version, /^4\.\d+\.\d+$/);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("the server answers DEALER clients that send the empty delimiter", async () => {
  await using client = new TestClient();
  const server = await startServer(client);
  try {
    const dealer = client.socket(SocketType.DEALER, server.endpoints[0]!);
    assert.deepEqual(askOnDealer(dealer, "geoip 81.2.69.160"), [LONDON_TSV]);
    // Pipelined: several requests before any reply.
    const requests = ["ping", "geoip 8.8.8.8", "geoip 2001:db8::1", "ping"];
    for (const request of requests) dealer.send([new Uint8Array(0), request]);
    const replies = requests.map(() => {
      const frames = dealer.receive()!;
      assert.equal(frames.length, 2);
      return new TextDecoder().decode(frames[1]);
    });
    assert.deepEqual(replies.toSorted(), [
      "NOT_FOUND",
      "SX\t(null)\tSixville\t(null)\t-33.250000\t151.125000\t(null)\t(null)",
      "pong",
      "pong",
    ]);
  } finally {
    await server.stop();
  }
});

Deno.test("the server answers bad requests with ERROR and keeps serving", async (t) => {
  await using client = new TestClient();
  const server = await startServer(client, { workers: 1 });
  try {
    const endpoint = server.endpoints[0]!;
    const socket = client.socket(SocketType.REQ, endpoint);
    const expectError = (request: string | Uint8Array, reason: RegExp) => {
      const reply = askOn(socket, request);
      assert.match(reply, /^ERROR\t/);
      assert.match(reply.slice("ERROR\t".length), reason);
      assert.equal(askOn(socket, "geoip 81.2.69.160"), LONDON_TSV, "the next request is served");
    };
    await t.step("an empty message", () => expectError("", /^empty request$/));
    await t.step("an unknown verb", () => expectError("lookup 1.2.3.4", /^unknown command/));
    await t.step("binary junk", () => {
      const junk = new Uint8Array(512).map((_, i) => (i * 7919 + 13) & 0xff);
      expectError(junk, /^request is not printable ASCII$/);
    });
    // libzmq's ZMQ_MAXMSGSIZE drops the connection of a client whose frame is over the
    // limit, before buffering it: no reply; the others are served, and so is the client
    // once it has reconnected.
    const expectCutOff = (request: string | Uint8Array) => {
      const dealer = client.socket(SocketType.DEALER, endpoint, 1000);
      dealer.send([new Uint8Array(0), request]);
      assert.throws(
        () => dealer.receive(),
        (error) => error instanceof ZmqError && error.errno === Errno.EAGAIN,
      );
      assert.equal(askOn(socket, "geoip 81.2.69.160"), LONDON_TSV, "another client is served");
      dealer.setOption(SocketOption.RCVTIMEO, 5000);
      assert.deepEqual(askOnDealer(dealer, "ping"), ["pong"], "the same client, reconnected");
      dealer.close();
    };
    await t.step("an oversized message", () => expectCutOff("geoip " + "1.1.1.1 ".repeat(1000)));
    await t.step("a message far over the size limit", () => {
      expectCutOff(new Uint8Array(1 << 20).fill(0x41));
    });
    await t.step("too many addresses", () => {
      expectError("geoip " + "1.1.1.1 ".repeat(101), /^more than 100 addresses in one request$/);
    });
    await t.step("a message of several frames", () => {
      socket.send(["geoip 81.2.69.160", "geoip 1.1.1.1"]);
      assert.equal(
        new TextDecoder().decode(socket.receive()![0]),
        "ERROR\ta request must be a single frame",
      );
      assert.equal(askOn(socket, "ping"), "pong");
    });
  } finally {
    await server.stop();
  }
});

Deno.test("the server refuses IPv6 lookups in an IPv4-only database", async () => {
  await using client = new TestClient();
  const server = await startServer(client, { fixture: ipv4OnlyFixture(), workers: 1 });
  try {
    const endpoint = server.endpoints[0]!;
    assert.equal(client.ask(endpoint, "geoip 1.2.3.4").split("\t")[0], "AU");
    assert.equal(
      client.ask(endpoint, "geoip 2001:db8::1"),
      'ERROR\tIPv6 address in an IPv4-only database: "2001:db8::1"',
    );
  } finally {
    await server.stop();
  }
});

/** `info`, padded past the front end's small-request size so the pool answers it. */
const POOL_INFO = "info" + " ".repeat(SMALL_REQUEST_BYTES);

Deno.test("the server serves 20 clients at once with every worker", async () => {
  await using client = new TestClient();
  const server = await startServer(client, { workers: 3 });
  try {
    const sockets = Array.from(
      { length: 20 },
      () => client.socket(SocketType.REQ, server.endpoints[0]!),
    );
    const batch = "geoip " + new Array(10).fill("81.2.69.160").join(" ");
    const workersSeen = new Set<number>();
    for (let round = 0; round < 24; round++) {
      // Every client has a request in flight before any reply is read.
      const request = [`geoip 81.2.69.160`, batch, "info", POOL_INFO][round % 4]!;
      for (const socket of sockets) socket.send(request);
      for (const socket of sockets) {
        const reply = new TextDecoder().decode(socket.receive()![0]);
        if (request === batch) assert.equal(reply, new Array(10).fill(LONDON_TSV).join("\n"));
        else if (request.startsWith("geoip")) assert.equal(reply, LONDON_TSV);
        else workersSeen.add(JSON.parse(reply).worker);
      }
    }
    assert.deepEqual([...workersSeen].sort(), [0, 1, 2], "every worker answered");
  } finally {
    await server.stop();
  }
});

Deno.test("the router thread answers short pool requests itself while the pool is busy, never long ones", async () => {
  await using client = new TestClient();
  const server = await startServer(client, { workers: 2 });
  try {
    const sockets = Array.from(
      { length: 20 },
      () => client.socket(SocketType.REQ, server.endpoints[0]!),
    );
    const workersOf = (request: string): Set<number> => {
      const seen = new Set<number>();
      for (let round = 0; round < 5; round++) {
        for (const socket of sockets) socket.send(request);
        for (const socket of sockets) {
          seen.add(JSON.parse(new TextDecoder().decode(socket.receive()![0])).worker);
        }
      }
      return seen;
    };
    assert.deepEqual([...workersOf(POOL_INFO)].sort(), [0, 1], "both threads answered");
    const longInfo = "info" + " ".repeat(SHARED_REQUEST_BYTES);
    assert.deepEqual([...workersOf(longInfo)], [1], "only the pool worker answered");
  } finally {
    await server.stop();
  }
});

Deno.test("one worker serves small and large requests alike", async () => {
  await using client = new TestClient();
  const server = await startServer(client, { workers: 1 });
  try {
    const endpoint = server.endpoints[0]!;
    const batch = "geoip " + new Array(50).fill("2001:db8::1").join(" ");
    assert.equal(client.ask(endpoint, batch).split("\n").length, 50);
    assert.equal(JSON.parse(client.ask(endpoint, POOL_INFO)).worker, 0);
  } finally {
    await server.stop();
  }
});

Deno.test("a DEALER without the empty delimiter gets the reply without it", async () => {
  await using client = new TestClient();
  const server = await startServer(client, { workers: 2 });
  try {
    const dealer = client.socket(SocketType.DEALER, server.endpoints[0]!);
    dealer.send("geoip 81.2.69.160");
    assert.deepEqual(dealer.receive()!.map((f) => new TextDecoder().decode(f)), [LONDON_TSV]);
    dealer.send(POOL_INFO); // through the pool, too
    const frames = dealer.receive()!;
    assert.equal(frames.length, 1);
    assert.equal(JSON.parse(new TextDecoder().decode(frames[0])).worker, 1);
  } finally {
    await server.stop();
  }
});

Deno.test("the server binds several endpoints, IPv6 loopback included", async () => {
  await using client = new TestClient();
  const server = await startServer(client, { bind: ["tcp://127.0.0.1:*", "tcp://[::1]:*"] });
  try {
    assert.equal(server.endpoints.length, 2);
    assert.match(server.endpoints[1]!, /^tcp:\/\/\[::1\]:\d+$/);
    for (const endpoint of server.endpoints) {
      assert.equal(client.ask(endpoint, "geoip 81.2.69.160"), LONDON_TSV);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("startService() fails cleanly when the port is taken", async () => {
  await using client = new TestClient();
  const first = await startServer(client, { workers: 1 });
  try {
    await assert.rejects(
      () => startServer(client, { bind: [first.endpoints[0]!], workers: 1 }),
      (error: unknown) => {
        assert.ok(error instanceof StartupError);
        assert.ok(error.cause instanceof ZmqError);
        assert.equal(error.cause.errno, 98); // EADDRINUSE
        assert.match(error.message, /^Cannot start: bind .* Address already in use/);
        return true;
      },
    );
    assert.equal(client.ask(first.endpoints[0]!, "ping"), "pong", "the first server still serves");
  } finally {
    await first.stop();
  }
});

Deno.test("a stopped server no longer answers", async () => {
  await using client = new TestClient();
  const server = await startServer(client, { workers: 1 });
  const endpoint = server.endpoints[0]!;
  assert.equal(client.ask(endpoint, "ping"), "pong");
  await server.stop();
  await server.stop(); // twice is fine
  const socket = client.socket(SocketType.REQ, endpoint, 300);
  socket.send("ping");
  assert.throws(() => socket.receive(), (error: unknown) => {
    return error instanceof ZmqError && error.errno === Errno.EAGAIN;
  });
});

Deno.test("a worker that fails on a request answers ERROR and keeps serving", async () => {
  await using client = new TestClient();
  const server = await startServer(client, { fixture: brokenDoubleFixture(), workers: 2 });
  try {
    const sockets = Array.from(
      { length: 8 },
      () => client.socket(SocketType.REQ, server.endpoints[0]!),
    );
    // The corrupt record, asked alone (front end) and in batches (pool), between good ones.
    const requests = [
      "geoip 100.64.0.1",
      "geoip 81.2.69.160",
      "geoip " + new Array(8).fill("100.64.0.1").join(" "),
      "geoip " + new Array(8).fill("81.2.69.160").join(" "),
    ];
    for (let round = 0; round < 10; round++) {
      sockets.forEach((socket, i) => socket.send(requests[i % 4]!));
      sockets.forEach((socket, i) => {
        const lines = new TextDecoder().decode(socket.receive()![0]).split("\n");
        for (const line of lines) {
          if (i % 2 === 0) assert.match(line, /^ERROR\tdatabase error for "100\.64\.0\.1"/);
          else assert.equal(line, LONDON_TSV);
        }
      });
    }
    const workers = new Set<number>();
    for (const socket of sockets.slice(0, 2)) {
      workers.add(JSON.parse(askOn(socket, "info")).worker);
      workers.add(JSON.parse(askOn(socket, POOL_INFO)).worker);
    }
    assert.deepEqual([...workers].sort(), [0, 1], "both workers still answer");
  } finally {
    await server.stop();
  }
});

Deno.test("a refused envelope gets ERROR naming what was wrong, and long routing ids are kept whole", async (t) => {
  await using client = new TestClient();
  await using started = await startInProcess({ workers: 1, maxRequestBytes: 100 });
  const endpoint = started.endpoint;
  const dealer = client.socket(SocketType.DEALER, endpoint);
  const ask = (frames: (string | Uint8Array)[]) => {
    dealer.send(frames);
    return dealer.receive()!.map((frame) => new TextDecoder().decode(frame));
  };
  await t.step("more than 16 envelope frames", () => {
    const envelope = Array.from({ length: 17 }, (_, i) => `hop-${i}`);
    const reply = ask([...envelope, "", "ping"]);
    assert.equal(reply.at(-1), "ERROR\tmore than 16 envelope frames");
    assert.equal(reply.at(-2), "", "the delimiter goes back");
  });
  await t.step("an envelope frame over 255 bytes", () => {
    const reply = ask([new Uint8Array(300).fill(0x41), "", "ping"]);
    assert.equal(
      reply.at(-1),
      "ERROR\tan envelope frame of 300 bytes; routing frames are at most 255",
    );
  });
  await t.step("a 250-byte routing id with --max-request-bytes 100 is answered", () => {
    const socket = client.context.socket(SocketType.REQ);
    try {
      socket.setOption(SocketOption.RCVTIMEO, 5000);
      socket.setOption(SocketOption.LINGER, 0);
      socket.setBytesOption(SocketBytesOption.ROUTING_ID, new Uint8Array(250).fill(0x42));
      socket.connect(endpoint);
      assert.equal(askOn(socket, "ping"), "pong");
      assert.equal(askOn(socket, `geoip 81.2.69.160`), LONDON_TSV);
    } finally {
      socket.close();
    }
  });
});
