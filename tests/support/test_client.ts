/**
 * A small ZeroMQ client for tests, on the project's own libzmq binding: REQ or DEALER
 * sockets with receive timeouts, so a broken server fails a test instead of hanging it.
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
} from "../../lib/zmq/mod.ts";
import type { ZmqSocket } from "../../lib/zmq/mod.ts";
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

/** Options of {@linkcode ClientContext.open}. */
export interface SocketOptions {
  /** CURVE keys; without them the socket uses no security (the NULL mechanism). */
  keys?: ClientKeys;
  /** Receive and send timeout, in milliseconds (default 5000). */
  timeoutMs?: number;
  /** `ZMQ_RCVHWM` (default: libzmq's 1000). */
  receiveHwm?: number;
}

/** A client-side context whose sockets are closed with it; dispose it to close everything. */
export class ClientContext implements AsyncDisposable {
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
   * Opens a connected socket with send and receive timeouts.
   *
   * @param type REQ or DEALER (or any other type)
   * @param endpoint where to connect
   * @param options CURVE keys, timeouts, receive HWM
   * @returns the socket, closed when the client is disposed
   */
  open(type: SocketType, endpoint: string, options: SocketOptions = {}): ZmqSocket {
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

  /** Closes every socket and terminates the context. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const socket of this.#sockets) socket.close();
    await this.context.terminate();
  }
}

/** A client context with helpers for plain (NULL mechanism) requests. */
export class TestClient extends ClientContext {
  /**
   * Opens a connected socket with a receive timeout.
   *
   * @param type REQ or DEALER (or any other type)
   * @param endpoint where to connect
   * @param timeoutMs receive timeout (default 5 s)
   * @returns the socket, closed when the client is disposed
   */
  socket(type: SocketType, endpoint: string, timeoutMs = 5000): ZmqSocket {
    return this.open(type, endpoint, { timeoutMs });
  }

  /**
   * Sends one request on a new REQ socket and returns the reply.
   *
   * @param endpoint where the server listens
   * @param request the request text or bytes
   * @returns the reply text
   */
  ask(endpoint: string, request: string | Uint8Array): string {
    const socket = this.socket(SocketType.REQ, endpoint);
    try {
      return askOn(socket, request);
    } finally {
      socket.close();
    }
  }
}

/**
 * Sends a request on a REQ socket and waits for the one-frame reply.
 *
 * @param socket a connected REQ socket
 * @param request the request
 * @returns the reply text
 */
export function askOn(socket: ZmqSocket, request: string | Uint8Array): string {
  socket.send(request);
  const reply = socket.receive();
  if (reply === null || reply.length !== 1) {
    throw new Error(`expected a one-frame reply, got ${reply?.length ?? 0} frames`);
  }
  return decoder.decode(reply[0]);
}

/**
 * Sends a request on a DEALER socket the way a REQ socket would (empty delimiter frame
 * first) and returns the reply body.
 *
 * @param socket a connected DEALER socket
 * @param request the request
 * @returns the reply frames after the delimiter, decoded
 */
export function askOnDealer(socket: ZmqSocket, request: string | Uint8Array): string[] {
  socket.send([new Uint8Array(0), request]);
  const reply = socket.receive();
  if (reply === null) throw new Error("no reply");
  if (reply[0]?.length !== 0) throw new Error("reply does not start with an empty delimiter");
  return reply.slice(1).map((frame) => decoder.decode(frame));
}

/**
 * Receives one message, or null when none came in time.
 *
 * @param socket a connected socket
 * @param ms the receive timeout to set first (default: keep the socket's)
 * @returns the frames, or null on `EAGAIN`
 */
export function receiveWithin(socket: ZmqSocket, ms?: number): Uint8Array[] | null {
  if (ms !== undefined) socket.setOption(SocketOption.RCVTIMEO, ms);
  try {
    return socket.receive();
  } catch (error) {
    if (error instanceof ZmqError && error.errno === Errno.EAGAIN) return null;
    throw error;
  }
}

export { SocketType };
