import assert from "node:assert/strict";
import { Logger } from "../../../lib/log/mod.ts";
import { logExposedEndpoints, logExposedHttp } from "../../../lib/service/service_log.ts";
import { formatHttp } from "../../../lib/service/service_http.ts";

/** A logger whose JSON lines are kept. */
function recordingLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = new Logger({ format: "json", write: (line) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

Deno.test("logExposedHttp() warns only of HTTP that other hosts can reach", () => {
  const { log, lines } = recordingLog();
  for (
    const addr of [
      { hostname: "127.0.0.1", port: 8080 },
      { hostname: "::1", port: 8443 },
      { hostname: "0.0.0.0", port: 8080 },
      { hostname: "::", port: 80 },
    ]
  ) {
    logExposedHttp(log, formatHttp(addr, { tls: addr.port === 8443 }));
  }
  assert.deepEqual(lines.map((line) => line.http), ["http://0.0.0.0:8080", "http://[::]:80"]);
  assert.equal(
    lines[0]!.message,
    "http://0.0.0.0:8080 is reachable from other hosts and HTTP has no access control " +
      "(CURVE covers ZeroMQ only): anyone who can reach it can use it",
  );
});

Deno.test("logExposedEndpoints() warns of every endpoint beyond this machine", () => {
  const { log, lines } = recordingLog();
  logExposedEndpoints(log, ["tcp://127.0.0.1:5555", "ipc:///run/geoipmq.sock", "tcp://*:5556"]);
  assert.deepEqual(lines.map((line) => [line.event, line.endpoint]), [["exposed", "tcp://*:5556"]]);
});
