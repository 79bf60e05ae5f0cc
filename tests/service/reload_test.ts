/**
 * Live database reloads of the real service process: SIGHUP under load, failed reloads
 * that keep the old database serving, and `--watch`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ZmqSocket } from "../../lib/zmq/mod.ts";
import {
  LETTERED_ADDRESSES,
  letteredDatabase,
  letteredTsv,
  linesMatching,
  PATIENCE_MS,
  replaceAtomically,
  sleep,
  waitForNewLine,
} from "../support/live_service.ts";
import { type ServiceProcess, startOnDatabase } from "../support/service_process.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";

const ALPHA_EPOCH = 1_700_000_000; // 2023-11-14
const BRAVO_EPOCH = 1_750_000_000; // 2025-06-15
const CHARLIE_EPOCH = 1_760_000_000; // 2025-10-09

const RELOADED = /^geoipmq: reloaded: serving /;
const RELOAD_FAILED = /^geoipmq: error: reload failed, still serving the old database: /;
const CHANGED = /changed: reloading$/;

const decoder = new TextDecoder();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function isoDay(epoch: number): string {
  return new Date(epoch * 1000).toISOString().slice(0, 10);
}

/** Runs `body` with the path of a database file in a new directory of its own. */
async function inDatabaseDirectory(body: (path: string) => Promise<void>): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-reload-" });
  try {
    await body(`${directory}/GeoIP2-City.mmdb`);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

function startOn(path: string, workers: number, ...extra: string[]): Promise<ServiceProcess> {
  return startOnDatabase(path, { workers, flags: extra });
}

/** Which lettered database answered `reply` to `addresses`, or undefined for neither. */
function answeredBy(
  reply: string,
  addresses: readonly string[],
  cities: readonly string[],
): string | undefined {
  return cities.find((city) =>
    reply === addresses.map((address) => letteredTsv(city, address)).join("\n")
  );
}

/** Receives one message, failing the test with a clear message on a time-out. */
function receiveOrFail(socket: ZmqSocket, who: string): Uint8Array[] {
  try {
    const frames = socket.receive();
    if (frames === null) throw new Error("no message");
    return frames;
  } catch (error) {
    throw new Error(`${who}: no reply in time (${(error as Error).message})`);
  }
}

/**
 * Checks that the service answers every lettered address from database `city`, on the
 * front end (single addresses) and on the pool (batches), and that `info` names it.
 */
function assertServes(client: TestClient, endpoint: string, city: string, epoch: number): void {
  const socket = client.socket(SocketType.REQ, endpoint, 10_000);
  try {
    for (const address of LETTERED_ADDRESSES) {
      assert.equal(askOn(socket, `geoip ${address}`), letteredTsv(city, address));
    }
    // Batches are long enough to go to the pool workers; several, to reach each of them.
    const batch = [...LETTERED_ADDRESSES, ...LETTERED_ADDRESSES];
    for (let i = 0; i < 4; i++) {
      const reply = askOn(socket, `geoip ${batch.join(" ")}`);
      assert.equal(answeredBy(reply, batch, [city]), city, `a batch from ${city}: ${reply}`);
    }
    const info = JSON.parse(askOn(socket, "info"));
    assert.equal(info.build_epoch, new Date(epoch * 1000).toISOString());
  } finally {
    socket.close();
  }
}

/** One request and its answer, in the order of the whole run. */
interface Exchange {
  client: string;
  /** The lock-step round it belongs to. */
  round: number;
  /** Requests sent by every client before and including this one. */
  sentSeq: number;
  /** Requests sent by every client when this reply was received. */
  sendsWhenReceived: number;
  /** The database that answered. */
  city: string;
}

interface PendingBatch {
  addresses: string[];
  sentSeq: number;
  matched: boolean;
}

/**
 * REQ clients asking single addresses and DEALER clients asking batches of 20, in
 * lock-step rounds: every request of a round is sent before any reply is read.
 */
class LockStepLoad {
  readonly exchanges: Exchange[] = [];
  sends = 0;
  readonly #requesters: ZmqSocket[];
  readonly #dealers: ZmqSocket[];
  readonly #cities: readonly string[];

  constructor(
    client: TestClient,
    endpoint: string,
    shape: { requesters: number; dealers: number; cities: readonly string[] },
  ) {
    // Generous time-outs: the test asserts that no request goes unanswered, not speed.
    this.#requesters = Array.from(
      { length: shape.requesters },
      () => client.socket(SocketType.REQ, endpoint, 10_000),
    );
    this.#dealers = Array.from(
      { length: shape.dealers },
      () => client.socket(SocketType.DEALER, endpoint, 10_000),
    );
    this.#cities = shape.cities;
  }

  /**
   * Runs one round.
   *
   * @param round its number (varies the addresses)
   * @param afterSends called once every request of the round is sent, before any reply
   */
  round(round: number, afterSends?: () => void): void {
    const count = LETTERED_ADDRESSES.length;
    const singles = this.#requesters.map((socket, i) => {
      const address = LETTERED_ADDRESSES[(i + round) % count]!;
      socket.send(`geoip ${address}`);
      return { address, sentSeq: ++this.sends };
    });
    const batches = this.#dealers.map((socket, d) => {
      const forward = Array.from(
        { length: 20 },
        (_, k) => LETTERED_ADDRESSES[(d + round + k) % count]!,
      );
      // Two batches in flight per DEALER: replies may come back in either order.
      return [forward, forward.toReversed()].map((addresses): PendingBatch => {
        socket.send([new Uint8Array(0), `geoip ${addresses.join(" ")}`]);
        return { addresses, sentSeq: ++this.sends, matched: false };
      });
    });
    afterSends?.();
    this.#requesters.forEach((socket, i) => {
      const who = `req${i}`;
      const [frame] = receiveOrFail(socket, who);
      const reply = decoder.decode(frame);
      const { address, sentSeq } = singles[i]!;
      const city = answeredBy(reply, [address], this.#cities);
      assert.ok(
        city !== undefined,
        `${who} round ${round}: unexpected reply ${JSON.stringify(reply)}`,
      );
      this.exchanges.push({ client: who, round, sentSeq, sendsWhenReceived: this.sends, city });
    });
    this.#dealers.forEach((socket, d) => {
      const who = `dealer${d}`;
      for (let n = 0; n < 2; n++) {
        const frames = receiveOrFail(socket, who);
        assert.equal(frames.length, 2, `${who}: a reply is [empty, body]`);
        assert.equal(frames[0]!.length, 0, `${who}: the reply starts with the delimiter`);
        const reply = decoder.decode(frames[1]);
        const pending = batches[d]!;
        let city: string | undefined;
        const batch = pending.find((candidate) => {
          if (candidate.matched) return false;
          city = answeredBy(reply, candidate.addresses, this.#cities);
          return city !== undefined;
        });
        assert.ok(
          batch !== undefined && city !== undefined,
          `${who} round ${round}: a reply that is no batch's answer from one database ` +
            `(an ERROR, or a mix of databases): ${JSON.stringify(reply.slice(0, 400))}`,
        );
        batch.matched = true;
        this.exchanges.push({
          client: who,
          round,
          sentSeq: batch.sentSeq,
          sendsWhenReceived: this.sends,
          city,
        });
      }
    });
  }
}

Deno.test(
  "a SIGHUP under load switches every client to the new database with no error and no stale answer after the switch",
  async () => {
    const alpha = letteredDatabase("Alpha", ALPHA_EPOCH);
    const bravo = letteredDatabase("Bravo", BRAVO_EPOCH);
    await inDatabaseDirectory(async (path) => {
      await Deno.writeFile(path, alpha);
      await using service = await startOn(path, 3);
      await using client = new TestClient();
      const load = new LockStepLoad(client, service.endpoint, {
        requesters: 10,
        dealers: 2,
        cities: ["Alpha", "Bravo"],
      });

      let round = 0;
      for (; round < 20; round++) load.round(round);
      assert.ok(load.exchanges.every((e) => e.city === "Alpha"), "all Alpha before the reload");

      // Replace the file as geoipupdate does, and signal while requests are in flight.
      await replaceAtomically(path, bravo);
      load.round(round++, () => Deno.kill(service.pid, "SIGHUP"));

      // Keep the clients asking until the service says it reloaded (the log is read
      // between rounds), then for 200 more rounds.
      let sendsWhenReloadSeen: number | undefined;
      const deadline = Date.now() + PATIENCE_MS;
      let after = 0;
      while (after < 200) {
        await sleep(0);
        if (sendsWhenReloadSeen === undefined) {
          if (linesMatching(service, RELOADED).length > 0) sendsWhenReloadSeen = load.sends;
          else if (Date.now() > deadline || round > 20_000) {
            assert.fail(`no reload within ${PATIENCE_MS} ms:\n${service.log.join("\n")}`);
          }
        } else {
          after++;
        }
        load.round(round++);
      }
      const switchRounds = new Set(
        load.exchanges
          .filter((e) => load.exchanges.some((o) => o.round === e.round && o.city !== e.city))
          .map((e) => e.round),
      );
      console.log(
        `${load.exchanges.length} answers in ${round} rounds; SIGHUP in round 20; ` +
          `rounds answered by both databases: ${[...switchRounds].join(", ") || "none"}; ` +
          `reload line seen after ${sendsWhenReloadSeen} requests`,
      );

      assert.deepEqual(linesMatching(service, RELOADED), [
        `geoipmq: reloaded: serving GeoIP2-City built ${isoDay(BRAVO_EPOCH)} from ${path}`,
      ]);
      assert.deepEqual(linesMatching(service, RELOAD_FAILED), []);

      // Per client: a run of Alpha, then a run of Bravo, ending on Bravo.
      const clients = new Set(load.exchanges.map((e) => e.client));
      assert.equal(clients.size, 12);
      for (const name of clients) {
        const letters = load.exchanges
          .filter((e) => e.client === name)
          .toSorted((a, b) => a.sentSeq - b.sentSeq)
          .map((e) => e.city[0])
          .join("");
        assert.match(letters, /^A+B+$/, `${name} saw Alpha, then Bravo only: ${letters}`);
      }

      // Across clients: once any Bravo answer has been received, every request sent
      // afterwards is answered by Bravo; so is every request sent after the reload line.
      const firstBravo = load.exchanges.find((e) => e.city === "Bravo")!;
      const stale = load.exchanges.filter((e) =>
        e.city === "Alpha" &&
        (e.sentSeq > firstBravo.sendsWhenReceived || e.sentSeq > sendsWhenReloadSeen!)
      );
      assert.deepEqual(stale, [], "no Alpha answer to a request sent after the switch");

      assertServes(client, service.endpoint, "Bravo", BRAVO_EPOCH);
    });
  },
);

Deno.test("a corrupt or missing file on SIGHUP keeps the old database serving", async (t) => {
  const alpha = letteredDatabase("Alpha", ALPHA_EPOCH);
  const bravo = letteredDatabase("Bravo", BRAVO_EPOCH);
  await inDatabaseDirectory(async (path) => {
    await Deno.writeFile(path, alpha);
    await using service = await startOn(path, 2);
    await using client = new TestClient();
    const cannotOpen = `Cannot open database "${escapeRegExp(path)}": `;
    const cases: { name: string; spoil: () => Promise<void>; reason: RegExp }[] = [
      {
        name: "a truncated file",
        spoil: () => Deno.writeFile(path, alpha.slice(0, Math.floor(alpha.length / 2))),
        reason: /.+/,
      },
      {
        name: "a file of garbage",
        spoil: () =>
          Deno.writeFile(path, new TextEncoder().encode("not a MaxMind database\n".repeat(50))),
        reason: /not a MaxMind DB file.*/,
      },
      {
        name: "an empty file",
        spoil: () => Deno.writeFile(path, new Uint8Array(0)),
        reason: /.+/,
      },
      {
        name: "a directory in its place",
        spoil: async () => {
          await Deno.remove(path);
          await Deno.mkdir(path);
        },
        reason: /not a regular file \(a directory\)/,
      },
      {
        name: "no file at all",
        spoil: () => Deno.remove(path, { recursive: true }),
        reason: /no such file/,
      },
    ];
    for (const [i, { name, spoil, reason }] of cases.entries()) {
      await t.step(name, async () => {
        await spoil();
        Deno.kill(service.pid, "SIGHUP");
        const line = await waitForNewLine(service, RELOAD_FAILED, i);
        assert.match(
          line,
          new RegExp(`${RELOAD_FAILED.source}${cannotOpen}${reason.source}$`),
        );
        assertServes(client, service.endpoint, "Alpha", ALPHA_EPOCH);
      });
    }
    await t.step("a good file put back is served on the next SIGHUP", async () => {
      await replaceAtomically(path, bravo);
      Deno.kill(service.pid, "SIGHUP");
      const line = await waitForNewLine(service, RELOADED, 0);
      assert.equal(
        line,
        `geoipmq: reloaded: serving GeoIP2-City built ${isoDay(BRAVO_EPOCH)} from ${path}`,
      );
      assertServes(client, service.endpoint, "Bravo", BRAVO_EPOCH);
    });
    assert.equal(
      linesMatching(service, RELOAD_FAILED).length,
      cases.length,
      "one line per failed reload",
    );
  });
});

Deno.test("--watch reloads after an atomic rename and after an in-place rewrite", async (t) => {
  const alpha = letteredDatabase("Alpha", ALPHA_EPOCH);
  const bravo = letteredDatabase("Bravo", BRAVO_EPOCH);
  const charlie = letteredDatabase("Charlie", CHARLIE_EPOCH);
  await inDatabaseDirectory(async (path) => {
    await Deno.writeFile(path, alpha);
    await using service = await startOn(path, 2, "--watch");
    await using client = new TestClient();
    const ready = service.log.find((line) => line.includes("ready on"))!;
    assert.ok(ready.endsWith("; watching the database file"), ready);
    assertServes(client, service.endpoint, "Alpha", ALPHA_EPOCH);

    await t.step("a new file renamed over it", async () => {
      await replaceAtomically(path, bravo);
      const line = await waitForNewLine(service, RELOADED, 0);
      assert.equal(
        line,
        `geoipmq: reloaded: serving GeoIP2-City built ${isoDay(BRAVO_EPOCH)} from ${path}`,
      );
      assert.ok(linesMatching(service, CHANGED).length >= 1, "the change was logged");
      assertServes(client, service.endpoint, "Bravo", BRAVO_EPOCH);
    });

    await t.step("other files in its directory changing do not reload it", async () => {
      const changed = linesMatching(service, CHANGED).length;
      const reloaded = linesMatching(service, RELOADED).length;
      const sibling = `${path}-other.mmdb`;
      await Deno.writeFile(sibling, charlie);
      await replaceAtomically(sibling, alpha);
      // Past the 1 s debounce, with room for a busy machine.
      await sleep(2500);
      assert.equal(linesMatching(service, CHANGED).length, changed, service.log.join("\n"));
      assert.equal(linesMatching(service, RELOADED).length, reloaded);
      assertServes(client, service.endpoint, "Bravo", BRAVO_EPOCH);
    });

    await t.step("the file rewritten in place", async () => {
      const reloaded = linesMatching(service, RELOADED).length;
      await Deno.writeFile(path, charlie);
      const line = await waitForNewLine(service, RELOADED, reloaded);
      assert.equal(
        line,
        `geoipmq: reloaded: serving GeoIP2-City built ${isoDay(CHARLIE_EPOCH)} from ${path}`,
      );
      assertServes(client, service.endpoint, "Charlie", CHARLIE_EPOCH);
    });
    assert.deepEqual(linesMatching(service, RELOAD_FAILED), [], "no reload failed");
  });
});
