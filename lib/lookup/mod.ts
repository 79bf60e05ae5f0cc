/**
 * The responder: request bytes in, reply bytes out, from the databases loaded (one, or
 * several merged), with bounded caches of rendered answers. Socket-free, so the ZeroMQ loops, the HTTP routes, tests
 * and benchmarks all answer through it; a cached `geoip` answer allocates nothing.
 *
 * @module
 */

export { type Answer, AnswerCache, type CacheStats } from "./answer_cache.ts";
export { ReplyBuffer } from "./reply_buffer.ts";
export { RequestCounter } from "./request_counter.ts";
export {
  DEFAULT_MAX_TRACKED_ADDRESSES,
  RateLimiter,
  type RateLimiterOptions,
} from "./rate_limiter.ts";
export {
  type AddressAnswer,
  type AddressResult,
  GeoipResponder,
  type ResponderOptions,
  type ResponseTally,
  type ServerInfo,
} from "./responder.ts";
export { type KindRecord, mergeTraits, TRAIT_FIELDS } from "./record_merge.ts";
export { type FieldRule, toGeoip2, VENDOR_FIELDS } from "./geoip2_record.ts";
export { type LocationSchema, locationSchema } from "./location_schema.ts";
export {
  type DatabaseBytes,
  sharedDatabases,
  type ThreadLookups,
  threadLookups,
  type ThreadLookupSetup,
} from "./thread_lookups.ts";
