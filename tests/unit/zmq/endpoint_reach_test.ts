import assert from "node:assert/strict";
import { isLoopbackEndpoint } from "../../../lib/zmq/endpoint.ts";

Deno.test("isLoopbackEndpoint() tells loopback and local endpoints from the rest", () => {
  const loopback = [
    "tcp://127.0.0.1:5555",
    "tcp://127.1.2.3:*",
    "tcp://[::1]:5555",
    "tcp://[::ffff:127.0.0.1]:5555",
    "tcp://localhost:5555",
    "ipc:///run/geoipmq.sock",
    "inproc://geoipmq",
  ];
  for (const endpoint of loopback) assert.equal(isLoopbackEndpoint(endpoint), true, endpoint);
  const reachable = [
    "tcp://0.0.0.0:5555",
    "tcp://*:5555",
    "tcp://[::]:5555",
    "tcp://192.0.2.10:5555",
    "tcp://[2001:db8::1]:5555",
    "tcp://[::ffff:192.0.2.1]:5555",
    "tcp://eth0:5555",
    "tcp://geoip.example:5555",
    "tcp://128.0.0.1:5555",
    "tcp://[::2]:5555",
    "udp://127.0.0.1:5555",
  ];
  for (const endpoint of reachable) assert.equal(isLoopbackEndpoint(endpoint), false, endpoint);
});
