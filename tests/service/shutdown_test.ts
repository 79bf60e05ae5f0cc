/**
 * Stopping the real service process: SIGTERM while requests are in flight, a second
 * signal (within 1 s the same request, after that a forced exit), Ctrl-C on `deno task
 * start`, and a stop while an HTTP client is stalled.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ZmqSocket } from "../../lib/zmq/mod.ts";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import { exitWithin, freeLoopbackPort, settleAfterReady, sleep } from "../support/live_service.ts";
import {
  SERVICE_PERMISSIONS,
  type ServiceProcess,
  startOnDatabase,
  STOPPED_LINE,
} from "../support/service_process.ts";
import { commandWorks, skipForMissingTool } from "../support/required_tool.ts";
import { askOnDealer, SocketType, TestClient } from "../support/test_client.ts";

const SIXVILLE_TSV = "SX\t(null)\tSixville\t(null)\t-33.250000\t151.125000\t(null)\t(null)";
/** A batch long enough to go to the pool, with a found, a not-found and an IPv6 answer. */
const BATCH_ADDRESSES = Array.from(
  { length: 1000 },
  (_, i) => ["81.2.69.160", "8.8.8.8", "2001:db8::1"][i % 3]!,
);
const BATCH = `geoip ${BATCH_ADDRESSES.join(" ")}`;
const BATCH_REPLY = BATCH_ADDRESSES.map((address) =>
  address === "81.2.69.160" ? LONDON_TSV : address === "8.8.8.8" ? "NOT_FOUND" : SIXVILLE_TSV
).join("\n");
const SINGLE = "geoip 81.2.69.160";

const decoder = new TextDecoder();
const FORCED_EXIT = "geoipmq: warn: second SIGTERM: exiting at once";

/** Runs `body` with a temporary file holding the city fixture. */
async function withCityFixture(body: (path: string) => Promise<void>): Promise<void> {
  await withTempFile(cityFixture(), async (path) => {
    await body(path);
  });
}

/** What a burst of requests on one DEALER got back. */
interface Tally {
  batchesSent: number;
  singlesSent: number;
  batchReplies: number;
  singleReplies: number;
}

function newTallies(count: number): Tally[] {
  return Array.from(
    { length: count },
    () => ({ batchesSent: 0, singlesSent: 0, batchReplies: 0, singleReplies: 0 }),
  );
}

function total(tallies: Tally[], key: keyof Tally): number {
  return tallies.reduce((sum, tally) => sum + tally[key], 0);
}

/**
 * Sends, `rounds` times on every DEALER, a batch then a single lookup, without reading a
 * reply: the service then has requests queued, in the pool and in its sockets. The front
 * end takes one DEALER's requests in order and answers single lookups itself at once, so
 * a single lookup answered means the batch sent before it was taken too.
 */
function sendBurst(dealers: ZmqSocket[], rounds: number, tallies: Tally[]): void {
  for (let round = 0; round < rounds; round++) {
    dealers.forEach((dealer, d) => {
      dealer.send([new Uint8Array(0), BATCH]);
      dealer.send([new Uint8Array(0), SINGLE]);
      tallies[d]!.batchesSent++;
      tallies[d]!.singlesSent++;
    });
  }
}

/**
 * Takes every reply waiting on the DEALERs without blocking, checking each one.
 *
 * @returns how many there were
 */
function takeReplies(dealers: ZmqSocket[], tallies: Tally[]): number {
  let taken = 0;
  dealers.forEach((dealer, d) => {
    const tally = tallies[d]!;
    for (let n = 0; n < 100_000; n++) {
      const frames = dealer.receive({ dontWait: true });
      if (frames === null) break;
      taken++;
      assert.equal(frames.length, 2, "a reply is [empty, body]");
      assert.equal(frames[0]!.length, 0, "the reply starts with the delimiter");
      const reply = decoder.decode(frames[1]);
      if (reply === BATCH_REPLY) tally.batchReplies++;
      else if (reply === LONDON_TSV) tally.singleReplies++;
      else assert.fail(`a wrong reply: ${JSON.stringify(reply.slice(0, 300))}`);
    }
  });
  return taken;
}

/** Opens DEALERs and checks that each is connected and answered. */
function openDealers(client: TestClient, service: ServiceProcess, count: number): ZmqSocket[] {
  return Array.from({ length: count }, () => {
    const dealer = client.socket(SocketType.DEALER, service.endpoint, 10_000);
    assert.deepEqual(askOnDealer(dealer, "ping"), ["pong"]);
    return dealer;
  });
}

Deno.test("SIGTERM answers the requests in flight and exits 0", async () => {
  await withCityFixture(async (path) => {
    await using service = await startOnDatabase(path, { workers: 2 });
    await settleAfterReady(service);
    await using client = new TestClient();
    const dealers = openDealers(client, service, 4);
    const tallies = newTallies(dealers.length);
    sendBurst(dealers, 50, tallies);
    // Once replies flow the service is busy with the burst: stop it now.
    const deadline = Date.now() + 15_000;
    while (takeReplies(dealers, tallies) === 0 && Date.now() < deadline) await sleep(1);
    const signalled = performance.now();
    Deno.kill(service.pid, "SIGTERM");
    let exited = false;
    const exit = service.exited.then((status) => {
      exited = true;
      return { status, ms: performance.now() - signalled };
    });
    // Collect replies until the process has gone and nothing more arrives for 500 ms.
    let quietSince = performance.now();
    const collectUntil = Date.now() + 20_000;
    while (Date.now() < collectUntil) {
      if (takeReplies(dealers, tallies) > 0) quietSince = performance.now();
      else if (exited && performance.now() - quietSince > 500) break;
      await sleep(5);
    }
    assert.ok(exited, `the service exits after SIGTERM:\n${service.log.join("\n")}`);
    const { status, ms } = await exit;
    console.log(
      `exit ${status.code} ${Math.round(ms)} ms after SIGTERM; replies: ` +
        `${total(tallies, "batchReplies")}/${total(tallies, "batchesSent")} batches, ` +
        `${total(tallies, "singleReplies")}/${total(tallies, "singlesSent")} singles`,
    );
    assert.equal(status.code, 0, service.log.join("\n"));
    assert.ok(ms < 10_000, `exits within a few seconds, took ${Math.round(ms)} ms`);
    assert.ok(total(tallies, "singleReplies") > 0, "some requests were answered");
    for (const [d, tally] of tallies.entries()) {
      assert.ok(
        tally.batchReplies <= tally.batchesSent && tally.singleReplies <= tally.singlesSent,
      );
      // Every batch taken before an answered single lookup was in flight: it is answered.
      assert.ok(
        tally.batchReplies >= tally.singleReplies,
        `dealer ${d}: ${tally.singleReplies} single lookups answered but only ` +
          `${tally.batchReplies} of the batches sent before them`,
      );
    }
    assert.match(service.log.at(-1) ?? "", STOPPED_LINE);
    // Every request was answered: the last line says none was left, and it cannot claim
    // more answers in flight than were sent.
    const [, answered, left] = service.log.at(-1)!.match(/\((\d+) requests? .* (\d+) left/)!;
    assert.equal(Number(left), 0);
    const sent = total(tallies, "batchesSent") + total(tallies, "singlesSent");
    assert.ok(Number(answered) <= sent, `${answered} answered in the drain, ${sent} sent`);
    assert.ok(
      service.log.includes("geoipmq: stopping on SIGTERM: answering the requests in flight"),
    );
  });
});

/**
 * Sends the head of an HTTP request whose body never comes, so the request stays in
 * flight until the connection closes.
 */
async function stallHttpRequest(port: number): Promise<Deno.TcpConn> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  await connection.write(
    new TextEncoder().encode(
      "POST /json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        'Content-Length: 100\r\n\r\n["81.2.69',
    ),
  );
  return connection;
}

/**
 * Runs `body` on a service with HTTP on, once an HTTP client has stalled mid-request and
 * 200 ms have passed.
 */
async function withStalledHttpClient(
  body: (service: ServiceProcess, client: TestClient) => Promise<void>,
): Promise<void> {
  await withCityFixture(async (path) => {
    const port = freeLoopbackPort();
    await using service = await startOnDatabase(path, {
      workers: 2,
      flags: ["--http", `127.0.0.1:${port}`],
    });
    await using client = new TestClient();
    await settleAfterReady(service);
    const stalled = await stallHttpRequest(port);
    try {
      await sleep(200);
      await body(service, client);
    } finally {
      stalled.close();
    }
  });
}

Deno.test("a second signal more than 1 s after the first exits at once with 1", async () => {
  // Make the stop slow: an HTTP request in flight holds it for a few seconds, and a burst
  // of ZeroMQ requests. On a loaded machine the 1.2 s wait may outlast the stop itself:
  // then the second signal finds no process and the run says nothing; it is tried again.
  for (let attempt = 1;; attempt++) {
    let tested = false;
    await withStalledHttpClient(async (service, client) => {
      const dealers = openDealers(client, service, 2);
      const tallies = newTallies(dealers.length);
      sendBurst(dealers, 40, tallies);
      Deno.kill(service.pid, "SIGTERM");
      await sleep(1200);
      const signalled = performance.now();
      try {
        Deno.kill(service.pid, "SIGTERM");
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound) && !/ESRCH/.test(String(error))) throw error;
        await service.exited;
        return; // the stop had ended already
      }
      const exit = await exitWithin(service.exited, 5000);
      assert.ok(exit !== null, `exits within 5 s of the second signal:\n${service.log.join("\n")}`);
      if (exit.status.code === 0 && service.log.at(-1) !== FORCED_EXIT) {
        // The stop ended as the second signal came: nothing was left to cut short.
        if (performance.now() - signalled < 100) return;
      }
      tested = true;
      const ms = performance.now() - signalled;
      console.log(`exit ${exit.status.code} ${Math.round(ms)} ms after the second SIGTERM`);
      assert.equal(exit.status.code, 1, service.log.join("\n"));
      assert.equal(service.log.at(-1), FORCED_EXIT);
      assert.ok(ms < 1000, `exited ${Math.round(ms)} ms after the second signal`);
      takeReplies(dealers, tallies);
    });
    if (tested) return;
    assert.ok(attempt < 3, "in 3 attempts the stop always ended before the second signal");
  }
});

Deno.test("two SIGINTs 50 ms apart (Ctrl-C under deno task) are one clean stop", async () => {
  // The stop takes a few seconds (a stalled HTTP request), so the second SIGINT surely
  // comes while it runs.
  await withStalledHttpClient(async (service) => {
    Deno.kill(service.pid, "SIGINT");
    await sleep(50);
    Deno.kill(service.pid, "SIGINT");
    const exit = await exitWithin(service.exited, 9000);
    assert.ok(exit !== null, `still running 9 s after SIGINT:\n${service.log.join("\n")}`);
    assert.equal(exit.status.code, 0, service.log.join("\n"));
    assert.ok(!service.log.some((line) => /second/.test(line)), service.log.join("\n"));
    assert.match(service.log.at(-1) ?? "", STOPPED_LINE);
  });
});

Deno.test("Ctrl-C on `deno task start` (SIGINT to the whole process group) exits 0", async () => {
  if (!await commandWorks("setsid", ["--version"])) {
    if (skipForMissingTool("setsid (util-linux)")) return;
  }
  await withCityFixture(async (path) => {
    const port = freeLoopbackPort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    // setsid makes `deno task` the leader of a new process group (and session), as a
    // terminal's shell does for a foreground job; the service is in that group.
    const child = new Deno.Command("setsid", {
      args: [Deno.execPath(), "task", "start", "--db", path, "--bind", endpoint],
      cwd: new URL("../..", import.meta.url).pathname,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const lines: string[] = [];
    const reading = (async () => {
      let rest = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        const parts = rest.split("\n");
        rest = parts.pop()!;
        lines.push(...parts);
      }
      if (rest !== "") lines.push(rest);
    })();
    try {
      const log = () => lines.join("\n");
      for (let waited = 0; !lines.some((line) => line.includes("ready on")); waited += 100) {
        assert.ok(waited < 30_000, `not ready after 30 s:\n${log()}`);
        await sleep(100);
      }
      {
        await using client = new TestClient();
        assert.equal(client.ask(endpoint, "ping"), "pong");
      }
      Deno.kill(-child.pid, "SIGINT");
      const status = await child.status;
      await reading;
      assert.equal(status.code, 0, log());
      assert.ok(!lines.some((line) => /second/.test(line)), log());
      assert.match(lines.filter((line) => line.startsWith("geoipmq:")).at(-1) ?? "", STOPPED_LINE);
    } finally {
      clearTimeout(timer);
    }
  });
});

Deno.test({
  // BUG: a stop waits for the HTTP front's shutdown (Deno.serve's graceful shutdown) with
  // no time limit, and only then stops the ZeroMQ side (main.ts: `await http?.shutdown()`
  // before `await server.stop()`). One HTTP client that sent a request head but not its
  // whole body keeps the service from exiting after SIGTERM for as long as it holds the
  // connection, and meanwhile the service still answers new ZeroMQ requests. (Fixed: both
  // stop together, and HTTP is waited for a few seconds at most.)
  name: "SIGTERM stops taking ZeroMQ requests and exits within a few seconds even while " +
    "an HTTP client is stalled mid-request",
  fn: async () => {
    await withStalledHttpClient(async (service, client) => {
      const signalled = performance.now();
      Deno.kill(service.pid, "SIGTERM");
      await sleep(1000);
      const late = client.socket(SocketType.REQ, service.endpoint, 1000);
      late.send("ping");
      assert.throws(() => late.receive(), "a request sent 1 s after SIGTERM is not answered");
      const exit = await exitWithin(service.exited, 9000);
      const ms = Math.round(performance.now() - signalled);
      assert.ok(
        exit !== null,
        `still running ${ms} ms after SIGTERM:\n${service.log.join("\n")}`,
      );
      assert.equal(exit.status.code, 0);
      assert.match(service.log.at(-1) ?? "", STOPPED_LINE);
    });
  },
});

Deno.test({
  // The stop handlers are set up before anything else, so a signal sent the moment the
  // ready line appears stops the service cleanly (exit 0, "stopped") instead of killing it.
  name: "SIGTERM sent the moment the ready line appears stops the service cleanly",
  fn: async () => {
    await withCityFixture(async (path) => {
      const main = new URL("../../main.ts", import.meta.url).pathname;
      const decoder = new TextDecoder();
      for (let attempt = 0; attempt < 30; attempt++) {
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            ...SERVICE_PERMISSIONS,
            main,
            "--db",
            path,
            "--bind",
            "tcp://127.0.0.1:*",
            "--workers",
            "1",
          ],
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        let log = "";
        let signalled = false;
        for await (const chunk of child.stderr) {
          log += decoder.decode(chunk, { stream: true });
          if (!signalled && log.includes("ready on")) {
            // At once, from the reading loop: no timer, no promise in between.
            child.kill("SIGTERM");
            signalled = true;
          }
        }
        const status = await child.status;
        clearTimeout(timer);
        assert.ok(signalled, log);
        assert.equal(status.code, 0, `attempt ${attempt}: ${status.signal ?? ""}\n${log}`);
        assert.match(
          log,
          /geoipmq: stopped \(\d+ requests? in flight answered, \d+ left unanswered\)\n$/,
        );
      }
    });
  },
});
