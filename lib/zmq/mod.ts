/**
 * libzmq through Deno FFI: finding the library (the one inside `npm:zeromq`, or one
 * embedded in a compiled binary), and a typed binding of its C API — contexts, sockets,
 * messages, polling, the proxy, errors — plus the facts about endpoints the service needs.
 *
 * @example
 * ```ts
 * import { bundledLibzmqPath, Libzmq } from "./mod.ts";
 * const lib = Libzmq.open(bundledLibzmqPath());
 * console.log(lib.version()); // "4.3.5"
 * ```
 *
 * @module
 */

export {
  Errno,
  MonitorEvent,
  SocketBytesOption,
  SocketOption,
  SocketType,
  ZMQ_DONTWAIT,
  ZMQ_POLLIN,
  ZMQ_POLLOUT,
  ZMQ_SNDMORE,
} from "./constants.ts";
export { isInterrupted, isTerminated, ZmqError } from "./errors.ts";
export { Libzmq } from "./library.ts";
export { ZmqContext } from "./context.ts";
export { type SendOptions, ZmqSocket } from "./socket.ts";
export { ZmqPoller } from "./poller.ts";
export { ZmqMessage } from "./message.ts";
export {
  BUNDLED_LIBZMQ_PACKAGE,
  bundledLibzmqPath,
  choosePrebuilt,
  openLibzmq,
  parsePrebuiltManifest,
} from "./locator.ts";
export { compiledBinaryRoot, isEmbeddedPath, libzmqPathForDlopen } from "./embedded.ts";
export { isLoopbackEndpoint, wantsIpv6 } from "./endpoint.ts";
export {
  openFileLimit,
  shutdownConnection,
  TcpCounters,
  trimFreedMemory,
  unixListenerAt,
  unlinkFile,
} from "./system.ts";
export { type MonitorEventRecord, SocketMonitor } from "./monitor.ts";
export { MonotonicClock } from "./clock.ts";
