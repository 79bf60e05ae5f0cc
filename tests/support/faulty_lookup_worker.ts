/**
 * A lookup worker whose answering throws for requests naming 6.6.6.6, to test what the
 * server does when a worker fails (the real worker module, with one fault injected).
 *
 * @module
 */

import { GeoipResponder } from "../../lib/lookup/mod.ts";
import { LOOKUP_WORKER_MODULE } from "../../lib/server/mod.ts";

const answer = GeoipResponder.prototype.respondInto;
GeoipResponder.prototype.respondInto = function (frame, length, out) {
  const text = new TextDecoder().decode(frame.subarray(0, length));
  if (text.includes("6.6.6.6")) throw new Error("injected fault");
  return answer.call(this, frame, length, out);
};

await import(LOOKUP_WORKER_MODULE.href);
