/**
 * A small ZeroMQ client for tests, on the project's own libzmq binding: REQ or DEALER
 * sockets with receive timeouts, so a broken server fails a test instead of hanging it.
 *
 * @module
 */

import { Libzmq, SocketOption, SocketType, ZmqContext, type ZmqSocket } from "../../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../../lib/zmq/mod.ts";

const decoder = new TextDecoder();

/** A client context with helpers; dispose it to close everything. */
export class TestClient implements AsyncDisposable {
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
   * Opens a connected socket with a receive timeout.
   *
   * @param type REQ or DEALER (or any other type)
   * @param endpoint where to connect
   * @param timeoutMs receive timeout (default 5 s)
   * @returns the socket, closed when the client is disposed
   */
  socket(type: SocketType, endpoint: string, timeoutMs = 5000): ZmqSocket {
    const socket = this.context.socket(type);
    socket.setOption(SocketOption.LINGER, 0);
    socket.setOption(SocketOption.RCVTIMEO, timeoutMs);
    socket.setOption(SocketOption.SNDTIMEO, timeoutMs);
    socket.setOption(SocketOption.IPV6, 1);
    socket.connect(endpoint);
    this.#sockets.push(socket);
    return socket;
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

  /** Closes every socket and terminates the context. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const socket of this.#sockets) socket.close();
    await this.context.terminate();
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

export { SocketType };
