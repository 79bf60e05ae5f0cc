/**
 * The real service when its database path stops being a regular file: a FIFO put there
 * must make a reload fail at once (not block it, nor the stop that follows).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  exitWithin,
  letteredDatabase,
  letteredTsv,
  linesMatching,
  settleAfterReady,
  waitForNewLine,
} from "../support/live_service.ts";
import { startOnDatabase } from "../support/service_process.ts";
import { makeFifo, skipWithoutMkfifo } from "../support/fifo.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";

const RELOAD_FAILED = /reload failed, still serving the old database: /;

Deno.test("a FIFO at the --db path fails the reload, and SIGTERM still stops the service", async () => {
  if (await skipWithoutMkfifo()) return;
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-fifo-" });
  const path = `${directory}/GeoIP2-City.mmdb`;
  try {
    await Deno.writeFile(path, letteredDatabase("Alpha", 1_700_000_000));
    await using service = await startOnDatabase(path, { workers: 1 });
    await settleAfterReady(service);
    const failedBefore = linesMatching(service, RELOAD_FAILED).length;

    await Deno.remove(path);
    await makeFifo(path);
    Deno.kill(service.pid, "SIGHUP");
    const line = await waitForNewLine(service, RELOAD_FAILED, failedBefore);
    assert.match(line, new RegExp(`"${path}": not a regular file \\(a FIFO\\)$`));

    await using client = new TestClient();
    const socket = client.socket(SocketType.REQ, service.endpoint);
    assert.equal(askOn(socket, "geoip 81.2.69.160"), letteredTsv("Alpha", "81.2.69.160"));
    assert.equal(linesMatching(service, RELOAD_FAILED).length, failedBefore + 1);

    Deno.kill(service.pid, "SIGTERM");
    const stopped = await exitWithin(service.exited, 5000);
    assert.ok(stopped !== null, `no exit within 5 s of SIGTERM; log:\n${service.log.join("\n")}`);
    assert.equal(stopped.status.code, 0);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
