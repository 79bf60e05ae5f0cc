import assert from "node:assert/strict";
import { RateLimiter } from "../../../lib/lookup/rate_limiter.ts";

Deno.test("RateLimiter allows a burst of perSecond, then one per 1/perSecond", () => {
  const limiter = new RateLimiter({ perSecond: 10 });
  for (let i = 0; i < 10; i++) assert.ok(limiter.allow("192.0.2.1", 0), `request ${i}`);
  assert.equal(limiter.allow("192.0.2.1", 0), false, "the 11th in the same instant");
  assert.equal(limiter.allow("192.0.2.1", 50), false, "half a token after 50 ms");
  assert.equal(limiter.allow("192.0.2.1", 100), true, "one token after 100 ms");
  assert.equal(limiter.allow("192.0.2.1", 100), false);
  assert.equal(limiter.refused, 3);
});

Deno.test("RateLimiter keeps each address apart", () => {
  const limiter = new RateLimiter({ perSecond: 1 });
  assert.ok(limiter.allow("192.0.2.1", 0));
  assert.equal(limiter.allow("192.0.2.1", 0), false);
  assert.ok(limiter.allow("::1", 0), "another address has its own bucket");
  assert.ok(limiter.allow("192.0.2.1", 1000), "refilled after a second");
});

Deno.test("RateLimiter's Retry-After is in whole seconds, at least 1", () => {
  const limiter = new RateLimiter({ perSecond: 0.25 }); // one request per 4 s
  assert.ok(limiter.allow("192.0.2.1", 0));
  assert.equal(limiter.allow("192.0.2.1", 0), false);
  assert.equal(limiter.retryAfterSeconds("192.0.2.1", 0), 4);
  assert.equal(limiter.retryAfterSeconds("192.0.2.1", 3500), 1);
  assert.equal(limiter.retryAfterSeconds("198.51.100.1", 0), 1, "unknown address");
});

Deno.test("RateLimiter tracks at most maxAddresses and never forgets a limited one", () => {
  const limiter = new RateLimiter({ perSecond: 1, maxAddresses: 100 });
  for (let i = 0; i < 100; i++) assert.ok(limiter.allow(`10.0.0.${i}`, 0));
  assert.equal(limiter.trackedAddresses, 100);
  // Every bucket is empty: a 101st address is refused rather than pushing one out.
  assert.equal(limiter.allow("10.0.1.0", 0), false);
  assert.equal(limiter.allow("10.0.0.7", 0), false, "still limited");
  // A second later they are full again and make room.
  assert.ok(limiter.allow("10.0.1.0", 1000));
  assert.ok(limiter.trackedAddresses <= 100);
  for (let i = 0; i < 10_000; i++) limiter.allow(`10.1.${i >> 8}.${i & 255}`, 2000 + i * 10);
  assert.ok(limiter.trackedAddresses <= 100, `${limiter.trackedAddresses} tracked`);
});

Deno.test("RateLimiter refuses a rate of 0 or less", () => {
  assert.throws(() => new RateLimiter({ perSecond: 0 }), RangeError);
  assert.throws(() => new RateLimiter({ perSecond: Number.NaN }), RangeError);
});

Deno.test("RateLimiter shares its buckets with limiters given its table", () => {
  const limiter = new RateLimiter({ perSecond: 3 });
  const other = new RateLimiter({ perSecond: 3, table: limiter.table });
  assert.ok(limiter.allow("192.0.2.1", 0));
  assert.ok(other.allow("192.0.2.1", 0));
  assert.ok(limiter.allow("192.0.2.1", 0));
  assert.equal(other.allow("192.0.2.1", 0), false, "the fourth, on either, is refused");
  assert.equal(other.retryAfterSeconds("192.0.2.1", 0), 1);
  assert.equal(limiter.trackedAddresses, 1);
  assert.equal(other.trackedAddresses, 1);
});

Deno.test("RateLimiter gives one budget to an address asked from several threads at once", async () => {
  const limiter = new RateLimiter({ perSecond: 1000 });
  const moduleUrl = new URL("../../../lib/lookup/rate_limiter.ts", import.meta.url).href;
  const source = `
    import { RateLimiter } from ${JSON.stringify(moduleUrl)};
    self.onmessage = ({ data }) => {
      const limiter = new RateLimiter({ perSecond: 1000, table: data.table });
      let allowed = 0;
      for (let i = 0; i < 5000; i++) if (limiter.allow("192.0.2.1", data.now)) allowed++;
      self.postMessage(allowed);
    };`;
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  const workers = [0, 1, 2].map(() => new Worker(url, { type: "module" }));
  try {
    const counts = await Promise.all(workers.map((worker) =>
      new Promise<number>((resolve) => {
        worker.onmessage = ({ data }) => resolve(data);
        worker.postMessage({ table: limiter.table, now: 0 });
      })
    ));
    // One second's burst in all, whatever the interleaving: no token is spent twice.
    assert.equal(counts.reduce((a, b) => a + b, 0), 1000, `allowed per thread: ${counts}`);
    assert.equal(limiter.allow("192.0.2.1", 0), false);
  } finally {
    for (const worker of workers) worker.terminate();
    URL.revokeObjectURL(url);
  }
});
