import assert from "node:assert/strict";
import { RateLimiter } from "../../../lib/lookup/mod.ts";
import {
  DEFAULT_MAX_INBOUND_BYTES,
  DEFAULT_MAX_OUTBOUND_BYTES,
} from "../../../lib/protocol/mod.ts";
import {
  cacheShare,
  clientLimits,
  httpLimits,
  requestLimits,
  threadSetup,
} from "../../../lib/service/service_options.ts";

const MiB = 1024 * 1024;
const SERVER = { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: 0 };

Deno.test("clientLimits() takes the defaults for budgets left out, in bytes", () => {
  assert.deepEqual(clientLimits({}), {
    maxInboundBytes: DEFAULT_MAX_INBOUND_BYTES,
    maxOutboundBytes: DEFAULT_MAX_OUTBOUND_BYTES,
    ratePerSecond: 0,
  });
});

Deno.test("clientLimits() turns MiB into bytes and keeps 0 as no limit", () => {
  const table = new RateLimiter({ perSecond: 5 }).table;
  assert.deepEqual(clientLimits({ maxInboundMb: 3, maxOutboundMb: 0, rateLimit: 5 }, table), {
    maxInboundBytes: 3 * MiB,
    maxOutboundBytes: 0,
    ratePerSecond: 5,
    rateTable: table,
  });
  assert.equal(clientLimits({ maxInboundMb: 0.5 }).maxInboundBytes, MiB / 2);
});

Deno.test("httpLimits() takes the connection cap from the open-file limit when not given", () => {
  assert.deepEqual(httpLimits({}, 1_048_576), { maxConnections: 1024 });
  assert.deepEqual(httpLimits({}, 300), { maxConnections: 150 }, "half the open files");
  assert.deepEqual(httpLimits({}, undefined), { maxConnections: 1024 }, "limit unknown");
});

Deno.test("httpLimits() keeps what is given and divides the cap among the threads", () => {
  const given = { maxConnections: 10, headerTimeoutMs: 500 };
  assert.deepEqual(httpLimits({ httpLimits: given }, 256), given);
  assert.deepEqual(httpLimits({ httpLimits: given, httpThreads: 3 }, 256), {
    maxConnections: 4,
    headerTimeoutMs: 500,
  }, "rounded up: the threads together hold at least the cap");
  assert.deepEqual(httpLimits({ httpThreads: 2 }, 1_048_576), { maxConnections: 512 });
  assert.deepEqual(httpLimits({ httpThreads: 0 }, 1_048_576), { maxConnections: 1024 });
});

Deno.test("cacheShare() gives each lookup worker two shares and each HTTP thread one", () => {
  assert.deepEqual(cacheShare({ cacheMb: 30, workers: 3, http: undefined, httpThreads: 4 }), {
    lookup: { maxBytes: 10 * MiB },
    http: { maxBytes: 0 },
  }, "HTTP threads without HTTP take no share");
  const http = { hostname: "127.0.0.1", port: 0 };
  assert.deepEqual(cacheShare({ cacheMb: 30, workers: 1, http }), {
    lookup: { maxBytes: 20 * MiB },
    http: { maxBytes: 10 * MiB },
  }, "one HTTP thread when left out");
  assert.deepEqual(cacheShare({ cacheMb: 0, workers: 2, http, httpThreads: 2 }), {
    lookup: { maxBytes: 0 },
    http: { maxBytes: 0 },
  });
});

Deno.test("requestLimits() and threadSetup() hand every thread the same bounds", () => {
  const options = { languages: ["de", "en"], maxRequestBytes: 512, maxAddresses: 7 };
  assert.deepEqual(requestLimits(options), { maxRequestBytes: 512, maxAddresses: 7 });
  assert.deepEqual(threadSetup({ ...options, rateLimit: 0 }, SERVER), {
    languages: ["de", "en"],
    limits: { maxRequestBytes: 512, maxAddresses: 7 },
    server: SERVER,
    ratePerSecond: 0,
  });
});

Deno.test("threadSetup() makes one rate table for every thread when there is a limit", () => {
  const setup = threadSetup(
    { languages: [], maxRequestBytes: 512, maxAddresses: 7, rateLimit: 2 },
    SERVER,
  );
  assert.equal(setup.ratePerSecond, 2);
  assert.ok(setup.rateTable instanceof SharedArrayBuffer);
  const one = new RateLimiter({ perSecond: 2, table: setup.rateTable });
  const another = new RateLimiter({ perSecond: 2, table: setup.rateTable });
  assert.ok(one.allow("192.0.2.1", 0));
  assert.ok(one.allow("192.0.2.1", 0));
  assert.equal(another.allow("192.0.2.1", 0), false, "the address's budget is shared");
});
