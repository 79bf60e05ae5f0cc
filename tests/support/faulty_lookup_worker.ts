/**
 * A lookup worker whose answering throws for requests naming 6.6.6.6, and stalls for 3 s
 * on requests naming 7.7.7.7, to test what the server does when a worker fails or cannot
 * take part in a database switch (the real worker module, with faults injected).
 *
 * @module
 */

import { GeoipResponder } from "../../lib/lookup/mod.ts";
import { LOOKUP_WORKER_MODULE } from "../../lib/lookup_pool/mod.ts";

/** How long a request naming 7.7.7.7 keeps its worker busy. */
const STALL_MS = 3000;

const answer = GeoipResponder.prototype.respondInto;
GeoipResponder.prototype.respondInto = function (frame, length, out) {
  const text = new TextDecoder().decode(frame.subarray(0, length));
  if (text.includes("6.6.6.6")) throw new Error("injected fault");
  if (text.includes("7.7.7.7")) {
    const until = Date.now() + STALL_MS;
    while (Date.now() < until) {
      // A request that keeps its worker busy: the worker cannot look at the control.
    }
  }
  return answer.call(this, frame, length, out);
};

await import(LOOKUP_WORKER_MODULE.href);
