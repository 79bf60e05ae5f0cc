/**
 * ZeroMQ clients for the CURVE tests, on the project's own libzmq binding: sockets that
 * take CURVE keys (set before they connect, as libzmq requires), with short receive
 * timeouts so that a refused client shows as `EAGAIN` instead of a hung test.
 *
 * @module
 */

import {
  Errno,
  Libzmq,
  SocketBytesOption,
  SocketOption,
  SocketType,
  ZmqContext,
  ZmqError,
  type ZmqSocket,
} from "../../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../../lib/zmq/mod.ts";

const decoder = new TextDecoder();

/** A client's CURVE keys, in Z85. */
export interface ClientKeys {
  /** The server's public key (`ZMQ_CURVE_SERVERKEY`). */
  serverKey: string;
  /** The client's public key. */
  publicKey: string;
  /** The client's secret key. */
  secretKey: string;
}

/** Options of {@linkcode CurveClient.socket}. */
export interface SocketOptions {
  /** CURVE keys; without them the socket uses no security (the NULL mechanism). */
  keys?: ClientKeys;
  /** Receive and send timeout, in milliseconds (default 5000). */
  timeoutMs?: number;
  /** `ZMQ_RCVHWM` (default: libzmq's 1000). */
  receiveHwm?: number;
}

/** A client context whose sockets may use CURVE; dispose it to close everything. */
export class CurveClient implements AsyncDisposable {
  /** The libzmq binding in use. */
  readonly lib: Libzmq;
  /** The client-side context. */
  readonly context: ZmqContext;
  readonly #sockets: ZmqSocket[] = [];

  /** @param lib a loaded libzmq (default: the bundled one) */
  constructor(lib: Libzmq = Libzmq.open(bundledLibzmqPath())) {
    this.lib = lib;
    this.context = ZmqContext.create(lib);
  }

  /**
   * Makes a new key pair for a client of a server.
   *
   * @param serverKey the server's public key, in Z85
   * @returns the keys a CURVE socket needs
   */
  newKeys(serverKey: string): ClientKeys {
    const { publicKey, secretKey } = this.lib.curveKeypair();
    return { serverKey, publicKey, secretKey };
  }

  /**
   * Opens a connected socket.
   *
   * @param type REQ or DEALER (or any other type)
   * @param endpoint where to connect
   * @param options CURVE keys and timeouts
   * @returns the socket, closed when the client is disposed
   */
  socket(type: SocketType, endpoint: string, options: SocketOptions = {}): ZmqSocket {
    const socket = this.context.socket(type);
    this.#sockets.push(socket);
    const timeoutMs = options.timeoutMs ?? 5000;
    socket.setOption(SocketOption.LINGER, 0);
    socket.setOption(SocketOption.RCVTIMEO, timeoutMs);
    socket.setOption(SocketOption.SNDTIMEO, timeoutMs);
    socket.setOption(SocketOption.IPV6, 1);
    if (options.receiveHwm !== undefined) {
      socket.setOption(SocketOption.RCVHWM, options.receiveHwm);
    }
    if (options.keys !== undefined) {
      socket.setBytesOption(SocketBytesOption.CURVE_SERVERKEY, options.keys.serverKey);
      socket.setBytesOption(SocketBytesOption.CURVE_PUBLICKEY, options.keys.publicKey);
      socket.setBytesOption(SocketBytesOption.CURVE_SECRETKEY, options.keys.secretKey);
    }
    socket.connect(endpoint);
    return socket;
  }

  /**
   * Asks once on a new REQ socket.
   *
   * @param endpoint where the server listens
   * @param request the request
   * @param options CURVE keys and timeouts
   * @returns the reply text, or null when none came within the timeout (`EAGAIN`)
   */
  ask(endpoint: string, request: string | Uint8Array, options: SocketOptions = {}): string | null {
    const socket = this.socket(SocketType.REQ, endpoint, options);
    try {
      return askOrNull(socket, request);
    } finally {
      socket.close();
    }
  }

  /** Closes every socket and terminates the context. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const socket of this.#sockets) socket.close();
    await this.context.terminate();
  }
}

/**
 * Sends a request on a REQ socket and waits for the reply.
 *
 * @param socket a connected REQ socket
 * @param request the request
 * @returns the reply text, or null when the receive timed out (`EAGAIN`)
 */
export function askOrNull(socket: ZmqSocket, request: string | Uint8Array): string | null {
  socket.send(request);
  return receiveOrNull(socket)?.at(-1) ?? null;
}

/**
 * Receives one message.
 *
 * @param socket a connected socket with a receive timeout
 * @returns the frames, decoded, or null when the receive timed out (`EAGAIN`)
 */
export function receiveOrNull(socket: ZmqSocket): string[] | null {
  try {
    return socket.receive()!.map((frame) => decoder.decode(frame));
  } catch (error) {
    if (error instanceof ZmqError && error.errno === Errno.EAGAIN) return null;
    throw error;
  }
}

export { SocketType };
