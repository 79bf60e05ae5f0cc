/**
 * The HTTP face of geoipmq: lookups as JSON and TSV, a health check and Prometheus
 * metrics, on Deno's own server. See `docs/HTTP.md`.
 *
 * @module
 */

export {
  DEFAULT_MAX_BODY_BYTES,
  type HttpFace,
  type HttpFaceOptions,
  startHttpFace,
} from "./http_face.ts";
