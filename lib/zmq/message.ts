/**
 * One reusable `zmq_msg_t`, to move frames between sockets without copying them.
 *
 * @module
 */

import { Errno, ZMQ_DONTWAIT, ZMQ_MSG_T_SIZE, ZMQ_SRCFD } from "./constants.ts";
import { ZmqError } from "./errors.ts";
import type { Libzmq } from "./library.ts";
import type { ZmqSocket } from "./socket.ts";

/**
 * One reusable `zmq_msg_t`, for moving frames from one socket to another without copying
 * them into JavaScript (a front end forwarding replies).
 *
 * The message is initialised once and stays so: `zmq_msg_recv` releases what it held before
 * it receives ("any content previously stored in msg shall be properly deallocated"), and a
 * successful `zmq_msg_send` leaves it empty, so a request loop makes no `zmq_msg_init` or
 * `zmq_msg_close` call per frame.
 */
export class ZmqMessage {
  readonly #lib: Libzmq;
  readonly #message = new Uint8Array(ZMQ_MSG_T_SIZE);

  /** @param lib the library, opened on this thread */
  constructor(lib: Libzmq) {
    this.#lib = lib;
    lib.symbols.zmq_msg_init(this.#message);
  }

  /**
   * Receives the next frame from a socket into this message.
   *
   * @param socket where to receive from
   * @param flags 0 or `ZMQ_DONTWAIT`
   * @returns the frame's size, or -1 when `ZMQ_DONTWAIT` is set and nothing is waiting
   */
  receive(socket: ZmqSocket, flags: number): number {
    const size = this.tryReceive(socket, flags);
    if (size >= 0 || (flags & ZMQ_DONTWAIT) !== 0) return size;
    // Without ZMQ_DONTWAIT, nothing arriving is the socket's receive timeout running out.
    throw new ZmqError("receive", Errno.EAGAIN, this.#lib.strerror(Errno.EAGAIN));
  }

  /**
   * Like {@linkcode ZmqMessage.receive}, but returns -1 instead of throwing when nothing
   * arrived (`ZMQ_DONTWAIT`, or the socket's receive timeout ran out).
   *
   * @param socket where to receive from
   * @param flags 0 or `ZMQ_DONTWAIT`
   * @returns the frame's size, or -1 when nothing arrived
   */
  tryReceive(socket: ZmqSocket, flags: number): number {
    const symbols = this.#lib.symbols;
    const size = symbols.zmq_msg_recv(this.#message, socket.pointer, flags);
    if (size >= 0) return size;
    const errno = symbols.zmq_errno();
    if (errno === Errno.EAGAIN) return -1; // libzmq left it empty
    this.discard();
    throw new ZmqError("receive", errno, this.#lib.strerror(errno));
  }

  /** @returns whether more frames follow the one last received */
  more(): boolean {
    return this.#lib.symbols.zmq_msg_more(this.#message) === 1;
  }

  /** @returns the first byte of the frame last received, or -1 when it is empty */
  firstByte(): number {
    const data = this.#lib.symbols.zmq_msg_data(this.#message);
    return data === null ? -1 : new Deno.UnsafePointerView(data).getUint8();
  }

  /**
   * Copies the frame last received into a buffer.
   *
   * @param buffer where the bytes go; a longer frame is cut to its length
   * @param size the frame's size, as {@linkcode ZmqMessage.receive} returned it
   */
  copyInto(buffer: Uint8Array, size: number): void {
    if (size === 0) return;
    const data = this.#lib.symbols.zmq_msg_data(this.#message);
    if (data === null) return;
    const length = Math.min(size, buffer.length);
    Deno.UnsafePointerView.copyInto(
      data,
      length === buffer.length ? buffer : buffer.subarray(0, length),
    );
  }

  /**
   * @returns the descriptor of the connection the frame last received came through
   *   (`ZMQ_SRCFD`), or -1 when it did not come through one (`inproc://`)
   */
  sourceFd(): number {
    return this.#lib.symbols.zmq_msg_get(this.#message, ZMQ_SRCFD);
  }

  /**
   * @param name a metadata property, e.g. `Peer-Address`
   * @returns its value for the frame last received, or null when it has none
   */
  property(name: Uint8Array): string | null {
    const value = this.#lib.symbols.zmq_msg_gets(this.#message, name);
    return value === null ? null : Deno.UnsafePointerView.getCString(value);
  }

  /**
   * Releases the frame last received without sending it (receiving the next one also
   * releases it).
   */
  discard(): void {
    const symbols = this.#lib.symbols;
    symbols.zmq_msg_close(this.#message);
    symbols.zmq_msg_init(this.#message);
  }

  /**
   * Sends the frame last received on another socket without waiting; when it cannot be
   * queued now, keeps it for another try (or {@linkcode ZmqMessage.discard}).
   *
   * @param socket where to send
   * @param flags `ZMQ_SNDMORE` or 0 (`ZMQ_DONTWAIT` is added)
   * @returns whether libzmq took the frame
   */
  offer(socket: ZmqSocket, flags: number): boolean {
    const symbols = this.#lib.symbols;
    if (symbols.zmq_msg_send(this.#message, socket.pointer, flags | ZMQ_DONTWAIT) >= 0) {
      return true;
    }
    const errno = symbols.zmq_errno();
    if (errno === Errno.EAGAIN) return false;
    this.discard();
    throw new ZmqError("send", errno, this.#lib.strerror(errno));
  }

  /**
   * Sends the frame last received on another socket (libzmq takes the bytes over).
   *
   * @param socket where to send
   * @param flags `ZMQ_SNDMORE` and/or `ZMQ_DONTWAIT`
   * @returns false when `ZMQ_DONTWAIT` is set and the frame could not be queued
   */
  send(socket: ZmqSocket, flags: number): boolean {
    const refused = this.trySend(socket, flags);
    if (refused === 0) return true;
    if (refused === Errno.EAGAIN && (flags & ZMQ_DONTWAIT) !== 0) return false;
    throw new ZmqError("send", refused, this.#lib.strerror(refused));
  }

  /**
   * Like {@linkcode ZmqMessage.send}, for a ROUTER with `ZMQ_ROUTER_MANDATORY`: a peer
   * that is gone or whose queue is full makes it return the reason instead of throwing
   * (the frame is then released).
   *
   * @param socket where to send
   * @param flags `ZMQ_SNDMORE` and/or `ZMQ_DONTWAIT`
   * @returns 0 when sent, else `Errno.EAGAIN` (queue full) or `Errno.EHOSTUNREACH`
   */
  trySend(socket: ZmqSocket, flags: number): number {
    const symbols = this.#lib.symbols;
    if (symbols.zmq_msg_send(this.#message, socket.pointer, flags) >= 0) return 0;
    const errno = symbols.zmq_errno();
    this.discard();
    if (errno === Errno.EAGAIN || errno === Errno.EHOSTUNREACH) return errno;
    throw new ZmqError("send", errno, this.#lib.strerror(errno));
  }
}
