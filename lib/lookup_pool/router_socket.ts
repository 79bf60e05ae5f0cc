/**
 * The ROUTER every client reaches: made, limited, secured with CURVE and bound on the main
 * thread (so a bad endpoint fails the start), with its monitor started first; then handed
 * to the router worker.
 *
 * @module
 */

import {
  Errno,
  SocketBytesOption,
  SocketMonitor,
  SocketOption,
  SocketType,
  wantsIpv6,
  type ZmqContext,
  ZmqError,
  type ZmqSocket,
} from "../zmq/mod.ts";
import { ROUTER_MONITOR_EVENTS } from "./connection_budget.ts";
import type { CurveOptions, LookupPoolOptions } from "./lookup_pool_options.ts";

/** The ZAP domain of the ROUTER, as ZAP requests name it. */
export const ZAP_DOMAIN = "geoipmq";

/**
 * What CURVE adds to each frame on the wire: the `MESSAGE` command name (8 bytes), its
 * nonce (8), the box's authenticator (16) and the frame's flags byte (1).
 */
export const CURVE_FRAME_OVERHEAD = 33;

/**
 * The smallest `ZMQ_MAXMSGSIZE` set: the limit applies to the handshake's commands too,
 * and a CURVE INITIATE with a 255-byte routing id is about 540 bytes.
 */
export const MIN_FRAME_LIMIT = 1024;

/**
 * The `ZMQ_MAXMSGSIZE` for a request limit. libzmq applies it to every frame as read from
 * the wire, before buffering it, and drops the connection of a peer that sends a larger
 * one; so a request of `maxRequestBytes` passes and one byte more cuts the peer off
 * (under CURVE the limit allows for the encryption's overhead). Envelope frames (the
 * empty delimiter) are far smaller. Limits below {@linkcode MIN_FRAME_LIMIT} leave the
 * handshake room: requests between the limit and that size get an `ERROR` reply.
 *
 * @example
 * ```ts
 * import { frameLimit } from "./router_socket.ts";
 * console.log(frameLimit(65536, false)); // 65536
 * console.log(frameLimit(65536, true)); // 65569
 * console.log(frameLimit(100, false)); // 1024
 * ```
 *
 * @param maxRequestBytes the largest request accepted
 * @param curve whether CURVE is on
 * @returns the largest frame a peer may send
 */
export function frameLimit(maxRequestBytes: number, curve: boolean): number {
  return Math.max(maxRequestBytes + (curve ? CURVE_FRAME_OVERHEAD : 0), MIN_FRAME_LIMIT);
}

/** The ROUTER, bound. */
export interface BoundRouter {
  /** The socket. */
  router: ZmqSocket;
  /** Its monitor, started before any bind or connect so no connection is missed. */
  monitor: SocketMonitor;
  /** The endpoints bound, with the ports actually chosen. */
  endpoints: string[];
}

/**
 * Makes the ROUTER, limits it, makes it a CURVE server when asked, and binds it to every
 * endpoint.
 *
 * @param context the pool's context
 * @param options the endpoints, the limits and CURVE
 * @returns the bound ROUTER; each socket made is in `sockets` as soon as it exists, for
 *   the caller to close on a failure
 * @throws {ZmqError} when an endpoint cannot be bound
 */
export function bindRouter(
  context: ZmqContext,
  options: Pick<LookupPoolOptions, "bind" | "limits" | "curve" | "hwm"> & {
    sockets: ZmqSocket[];
  },
): BoundRouter {
  const router = context.socket(SocketType.ROUTER);
  options.sockets.push(router);
  router.setOption(SocketOption.LINGER, 0);
  // Before any bind or connect, so no connection is missed; read by the router worker.
  const monitor = SocketMonitor.start(context, router, ROUTER_MONITOR_EVENTS);
  options.sockets.push(monitor.socket);
  limitRouter(router, options);
  if (options.curve !== undefined) secureRouter(router, options.curve);
  const endpoints = options.bind.map((endpoint) => {
    router.setOption(SocketOption.IPV6, wantsIpv6(endpoint) ? 1 : 0);
    return router.bind(endpoint);
  });
  return { router, monitor, endpoints };
}

/**
 * Connects the ROUTER to brokers' back ends, then puts the limits back for what it binds.
 * libzmq takes the socket's options at connect time: the broker's connection gets no frame
 * limit, since libzmq answers an oversized frame by dropping the connection, and on a
 * connecting socket that is for good (a protocol error is never reconnected). The broker
 * bounds what it forwards; a request over this instance's limit is answered ERROR by the
 * loop, and the connection stays.
 *
 * @param router the bound ROUTER
 * @param options the endpoints to connect to, and the limits
 */
export function connectRouter(
  router: ZmqSocket,
  options: Pick<LookupPoolOptions, "connect" | "limits" | "curve" | "hwm">,
): void {
  if (options.connect.length > 0) router.setMaxMessageSize(-1);
  for (const endpoint of options.connect) {
    router.setOption(SocketOption.IPV6, 1);
    router.connect(endpoint);
  }
  limitRouter(router, options);
}

/**
 * Bounds what one client can make the ROUTER hold: frames over the request limit cut the
 * client off before they are buffered, and at most `hwm` messages wait each way (in bytes,
 * `connection_budget.ts` in the router worker bounds both ways).
 */
function limitRouter(
  router: ZmqSocket,
  options: Pick<LookupPoolOptions, "limits" | "curve" | "hwm">,
): void {
  router.setMaxMessageSize(frameLimit(options.limits.maxRequestBytes, options.curve !== undefined));
  router.setOption(SocketOption.SNDHWM, options.hwm);
  router.setOption(SocketOption.RCVHWM, options.hwm);
  // A full queue (a client that does not read) or a client gone fails the send, to be
  // counted, instead of dropping the reply silently.
  router.setOption(SocketOption.ROUTER_MANDATORY, 1);
}

/**
 * Makes the ROUTER a CURVE server whose handshakes go to the ZAP handler. Where libzmq
 * has `ZMQ_ZAP_ENFORCE_DOMAIN` (its draft API), a handshake also fails when the handler
 * is gone, rather than letting the client in.
 */
function secureRouter(router: ZmqSocket, curve: CurveOptions): void {
  router.setOption(SocketOption.CURVE_SERVER, 1);
  router.setBytesOption(SocketBytesOption.CURVE_SECRETKEY, curve.secretKey);
  router.setBytesOption(SocketBytesOption.ZAP_DOMAIN, ZAP_DOMAIN);
  try {
    router.setOption(SocketOption.ZAP_ENFORCE_DOMAIN, 1);
  } catch (error) {
    if (!(error instanceof ZmqError && error.errno === Errno.EINVAL)) throw error;
  }
}
