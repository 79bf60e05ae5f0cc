/**
 * A reloaded database's memory is returned, however the service was started: the real
 * process (the flags of `deno task start`, which do not expose `gc`) on the bundled
 * GeoLite2-City, reloaded by SIGHUP from a fresh copy of the file several times, holds
 * one copy of the database, not one per reload nor the first one besides the new, and
 * answers from the new one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bundledDatabasePath, readDatabaseFile } from "../../lib/database/mod.ts";
import { serviceFlags } from "../../tooling/mod.ts";
import {
  linesMatching,
  replaceAtomically,
  sleep,
  waitForNewLine,
} from "../support/live_service.ts";
import { startOnDatabase } from "../support/service_process.ts";
import { TestClient } from "../support/test_client.ts";

const RELOADS = 4;
const RELOADED = /^geoipmq: reloaded: serving /;
const EAST_FINCHLEY = "GB\tENG\tEast Finchley\tN2\t51.596700\t-0.159300\t(null)\t(null)";

/** @returns VmRSS of a process in bytes: the median of five readings 100 ms apart */
async function residentBytes(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    readings.push(Number(status.match(/^VmRSS:\s+(\d+) kB/m)![1]) * 1024);
    await sleep(100);
  }
  return readings.sort((a, b) => a - b)[2]!;
}

Deno.test({
  name: "Reloads of a 66 MB database leave one copy resident, without --expose-gc",
  ignore: Deno.build.os !== "linux", // VmRSS is read from /proc
  async fn() {
    assert.ok(
      !serviceFlags().some((flag) => flag.includes("expose-gc")),
      "the service runs as deno task start runs it: gc() not exposed",
    );
    const bytes = await readDatabaseFile(bundledDatabasePath());
    const fileBytes = bytes.length;
    const directory = await Deno.makeTempDir({ prefix: "geoipmq-reload-memory-" });
    const path = `${directory}/GeoLite2-City.mmdb`;
    try {
      await Deno.writeFile(path, bytes);
      await using service = await startOnDatabase(path, { workers: 2 });
      await using client = new TestClient();
      assert.equal(client.ask(service.endpoint, "geoip 81.2.69.160"), EAST_FINCHLEY);
      await sleep(500);
      const start = await residentBytes(service.pid);
      for (let i = 0; i < RELOADS; i++) {
        const seen = linesMatching(service, RELOADED).length;
        await replaceAtomically(path, bytes);
        Deno.kill(service.pid, "SIGHUP");
        await waitForNewLine(service, RELOADED, seen);
        assert.equal(client.ask(service.endpoint, "geoip 81.2.69.160"), EAST_FINCHLEY);
      }
      await sleep(500);
      const after = await residentBytes(service.pid);
      const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
      // A second copy kept anywhere (the replaced one, or the first) is a whole file more.
      assert.ok(
        after < start + 0.5 * fileBytes,
        `VmRSS ${mb(start)} at start, ${mb(after)} after ${RELOADS} reloads of a ` +
          `${mb(fileBytes)} file: more than one copy kept`,
      );
      assert.equal((await service.stop("SIGTERM")).code, 0);
    } finally {
      await Deno.remove(directory, { recursive: true });
    }
  },
});
