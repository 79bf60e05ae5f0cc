/**
 * ZeroMQ clients for the CURVE tests, on the project's own libzmq binding: sockets that
 * take CURVE keys (set before they connect, as libzmq requires), with short receive
 * timeouts so that a refused client shows as `EAGAIN` instead of a hung test.
 *
 * @module
 */

import type { ZmqSocket } from "../../lib/zmq/mod.ts";
import {
  ClientContext,
  type ClientKeys,
  receiveWithin,
  type SocketOptions,
  SocketType,
} from "./test_client.ts";

export type { ClientKeys, SocketOptions };

const decoder = new TextDecoder();

/** A client context whose sockets may use CURVE; dispose it to close everything. */
export class CurveClient extends ClientContext {
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
    return this.open(type, endpoint, options);
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
  return receiveWithin(socket)?.map((frame) => decoder.decode(frame)) ?? null;
}

export { SocketType };
