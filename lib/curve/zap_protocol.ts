/**
 * The ZeroMQ Authentication Protocol (ZAP, RFC 27/ZAP) as a handler sees it: libzmq sends
 * each handshake's request to a REP socket bound at {@linkcode ZAP_ENDPOINT} in the same
 * context, and waits for the reply before it lets the peer in (`200`) or drops it (any
 * other status).
 *
 * Request frames: version (`1.0`), request id, domain, peer address, routing id,
 * mechanism (`NULL`, `PLAIN`, `CURVE`), then the mechanism's credentials (for CURVE: the
 * client's 32-byte public key). Reply frames: version, the same request id, status code,
 * status text, user id, metadata.
 *
 * @module
 */

/** Where libzmq sends ZAP requests, in the context of the socket doing the handshake. */
export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

/** The ZAP version libzmq speaks. */
export const ZAP_VERSION = "1.0";

/** ZAP status codes: 200 lets the peer in, 400 refuses it, 500 is a handler failure. */
export type ZapStatus = "200" | "400" | "500";

/** One ZAP request. */
export interface ZapRequest {
  /** Echoed in the reply. */
  requestId: Uint8Array;
  /** The socket's `ZMQ_ZAP_DOMAIN`. */
  domain: string;
  /** The peer's IP address; over `ipc://` on Linux, `localhost:UID:GID:PID`. */
  address: string;
  /** `NULL`, `PLAIN` or `CURVE`. */
  mechanism: string;
  /** The mechanism's credentials: for CURVE, one frame with the client's public key. */
  credentials: Uint8Array[];
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Reads a ZAP request.
 *
 * @example
 * ```ts
 * import { parseZapRequest } from "./zap_protocol.ts";
 * const frames = ["1.0", "1", "geoipmq", "127.0.0.1", "", "CURVE"]
 *   .map((text) => new TextEncoder().encode(text));
 * const request = parseZapRequest([...frames, new Uint8Array(32)]);
 * console.log(typeof request === "string" ? request : request.mechanism); // "CURVE"
 * ```
 *
 * @param frames the request's frames
 * @returns the request, or why it is not one (with its request id, when it has one)
 */
export function parseZapRequest(frames: Uint8Array[]): ZapRequest | string {
  if (frames.length < 6) return `a ZAP request has 6 frames or more, got ${frames.length}`;
  const version = decoder.decode(frames[0]);
  if (version !== ZAP_VERSION) return `ZAP version "${version.slice(0, 8)}" is not 1.0`;
  return {
    requestId: frames[1]!,
    domain: decoder.decode(frames[2]),
    address: decoder.decode(frames[3]),
    mechanism: decoder.decode(frames[5]),
    credentials: frames.slice(6),
  };
}

/**
 * Builds a ZAP reply.
 *
 * @example
 * ```ts
 * import { zapReply } from "./zap_protocol.ts";
 * const reply = zapReply(new Uint8Array([1]), "400", "not on the allow-list", "");
 * console.log(reply.length); // 6 frames
 * ```
 *
 * @param requestId the request's id (empty when the request had none)
 * @param status the decision
 * @param text a short reason
 * @param userId the user id for a let-in peer (`ZMQ_MSG` property `User-Id`)
 * @returns the reply's frames: version, id, status, text, user id, empty metadata
 */
export function zapReply(
  requestId: Uint8Array,
  status: ZapStatus,
  text: string,
  userId: string,
): Uint8Array[] {
  return [
    encoder.encode(ZAP_VERSION),
    requestId,
    encoder.encode(status),
    encoder.encode(text),
    encoder.encode(userId),
    new Uint8Array(0),
  ];
}
