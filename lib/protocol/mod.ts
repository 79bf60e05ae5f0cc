/**
 * The wire language of geoipmq: the request grammar and its limits, the verbs, `ERROR`
 * replies, `NOT_FOUND` and `(null)`, the TSV and JSON renderings of a record, and IP
 * addresses. See `docs/PROTOCOL.md`.
 *
 * @example
 * ```ts
 * import { DEFAULT_LIMITS, parseRequest } from "./mod.ts";
 * const request = parseRequest(new TextEncoder().encode("geoip 81.2.69.160"), DEFAULT_LIMITS);
 * console.log(request.kind); // "lookup"
 * ```
 *
 * @module
 */

export {
  DEFAULT_LIMITS,
  errorReply,
  type InvalidRequest,
  type LookupRequest,
  parseRequest,
  quoteValue,
  type Request,
  type RequestLimits,
  RequestScan,
  type SimpleRequest,
  VERBS,
} from "./request.ts";
export {
  formatFixed6,
  formatTsv,
  MISSING_FIELD,
  NOT_FOUND,
  stringifyJson,
  TSV_FIELDS,
} from "./reply_format.ts";
export { type LookupFormat } from "./request.ts";
export {
  formatIpAddress,
  formatNetwork,
  type IpAddress,
  isIpv4Mapped,
  MAX_ADDRESS_LENGTH,
  parseIpAddress,
  parseIpInto,
} from "./ip_address.ts";
export {
  type FieldOptions,
  type FieldPath,
  formatFields,
  MAX_FIELD_PATH_CHARS,
  MAX_FIELDS,
  MAX_LANGUAGES,
  type Parsed,
  parseFieldList,
  parseLanguageList,
  RECORD_NAMES,
  renderField,
  resolveField,
} from "./field_paths.ts";
export { FALLBACK_LANGUAGE, localizedName } from "./names.ts";
export {
  type ClientLimits,
  DEFAULT_MAX_INBOUND_BYTES,
  DEFAULT_MAX_OUTBOUND_BYTES,
  formatMib,
  MIB,
  NO_CLIENT_LIMITS,
  replyTooLargeReason,
  unreadRepliesReason,
} from "./client_limits.ts";
