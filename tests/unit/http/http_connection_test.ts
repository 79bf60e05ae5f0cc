import assert from "node:assert/strict";
import { Connection } from "../../../lib/http/http_connection.ts";
import { DEFAULT_HTTP_LIMITS } from "../../../lib/http/http_limits.ts";

/** A real loopback connection, accepted side, with its client. */
async function loopback(): Promise<{ server: Deno.TcpConn; client: Deno.TcpConn } & Disposable> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  return {
    server,
    client,
    [Symbol.dispose]() {
      for (const conn of [server, client]) {
        try {
          conn.close();
        } catch {
          // Closed by the test.
        }
      }
    },
  };
}

const limits = { ...DEFAULT_HTTP_LIMITS, headerTimeoutMs: 1000, requestTimeoutMs: 5000 };

Deno.test("Connection waits for an idle request's head only, a pipelined one's whole", async () => {
  using pair = await loopback();
  const connection = new Connection(pair.server);
  const before = performance.now();
  connection.awaitRequest(true, limits);
  assert.ok(connection.headDeadline >= before + 1000);
  assert.equal(connection.requestDeadline, Infinity);
  assert.equal(connection.overdue(before + 999), undefined);
  assert.equal(connection.overdue(connection.headDeadline + 1), "header_timeout");
  connection.awaitRequest(false, limits);
  assert.ok(connection.requestDeadline >= before + 5000);
  assert.equal(connection.idle, false);
});

Deno.test("Connection starts the request's clock at its first byte, once", async () => {
  using pair = await loopback();
  const connection = new Connection(pair.server);
  connection.awaitRequest(true, limits);
  connection.requestBegan(limits.requestTimeoutMs);
  const first = connection.requestDeadline;
  assert.ok(Number.isFinite(first));
  connection.requestBegan(limits.requestTimeoutMs);
  assert.equal(connection.requestDeadline, first);
  connection.headDeadline = Infinity;
  assert.equal(connection.overdue(first + 1), "request_timeout");
});

Deno.test("Connection.close() closes the socket once", async () => {
  using pair = await loopback();
  const connection = new Connection(pair.server);
  connection.close();
  connection.close();
  assert.equal(await pair.client.read(new Uint8Array(16)), null);
});
