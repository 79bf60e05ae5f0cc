/**
 * A libzmq socket: bind and connect, options, multipart send and receive, and the
 * allocation-free frame calls of request loops.
 *
 * @module
 */

import {
  Errno,
  SocketBytesOption,
  SocketOption,
  type SocketType,
  ZMQ_DONTWAIT,
  ZMQ_MSG_T_SIZE,
  ZMQ_SNDMORE,
} from "./constants.ts";
import { ZmqError } from "./errors.ts";
import { cString, type Libzmq, type Symbols, usize } from "./library.ts";

const encoder = new TextEncoder();

/** Options for {@linkcode ZmqSocket.send}. */
export interface SendOptions {
  /** Do not block: fail with `EAGAIN` when the message cannot be queued now. */
  dontWait?: boolean;
  /** More frames of the same message follow this call's frames. */
  more?: boolean;
}

/**
 * A libzmq socket. Not thread-safe: use it on the thread that made it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLibzmq, SocketType, ZmqContext } from "./mod.ts";
 * const context = ZmqContext.create(openLibzmq(undefined));
 * const server = context.socket(SocketType.REP);
 * const endpoint = server.bind("tcp://127.0.0.1:*"); // e.g. "tcp://127.0.0.1:41905"
 * const socket = context.socket(SocketType.REQ);
 * socket.connect(endpoint);
 * socket.send("ping");
 * const text = (frames: Uint8Array[] | null) => new TextDecoder().decode(frames![0]);
 * assert.equal(text(server.receive()), "ping");
 * server.send("pong");
 * assert.equal(text(socket.receive()), "pong");
 * socket.close();
 * server.close();
 * await context.terminate();
 * ```
 */
export class ZmqSocket {
  readonly #lib: Libzmq;
  readonly #symbols: Symbols;
  #pointer: Deno.PointerObject | null;
  #message = new Uint8Array(ZMQ_MSG_T_SIZE);
  #intOption = new Int32Array(1);
  #intOptionBytes = new Uint8Array(this.#intOption.buffer);
  #optionLength = new BigUint64Array(1);
  #optionLengthBytes = new Uint8Array(this.#optionLength.buffer);

  private constructor(lib: Libzmq, pointer: Deno.PointerObject) {
    this.#lib = lib;
    this.#symbols = lib.symbols;
    this.#pointer = pointer;
  }

  /**
   * @param context the context to create the socket in
   * @param type one of {@linkcode SocketType}
   * @returns the new socket
   */
  static create(
    context: { readonly lib: Libzmq; readonly pointer: Deno.PointerObject },
    type: SocketType,
  ): ZmqSocket {
    const pointer = context.lib.symbols.zmq_socket(context.pointer, type);
    if (pointer === null) throw context.lib.lastError("zmq_socket");
    return new ZmqSocket(context.lib, pointer);
  }

  /**
   * Takes over a socket made on another thread, which must not use it any more (libzmq
   * allows moving a socket between threads; `postMessage` gives the memory barrier).
   *
   * @param lib the library, opened on this thread
   * @param address the other side's {@linkcode ZmqSocket.address}
   * @returns the socket
   */
  static adopt(lib: Libzmq, address: bigint): ZmqSocket {
    const pointer = Deno.UnsafePointer.create(address);
    if (pointer === null) throw new TypeError("Socket address must not be 0");
    return new ZmqSocket(lib, pointer);
  }

  /** The socket's address, to hand the socket to another thread. */
  get address(): bigint {
    return BigInt(Deno.UnsafePointer.value(this.pointer));
  }

  /** The raw socket pointer; throws once the socket is closed. */
  get pointer(): Deno.PointerObject {
    if (this.#pointer === null) throw new ZmqError("use of socket", 88, "Socket is closed");
    return this.#pointer;
  }

  /** Whether {@linkcode ZmqSocket.close} has been called. */
  get closed(): boolean {
    return this.#pointer === null;
  }

  /**
   * @param endpoint e.g. "tcp://127.0.0.1:5555", "tcp://127.0.0.1:*" or "inproc://name"
   * @returns the endpoint actually bound (with the port chosen for `*`)
   */
  bind(endpoint: string): string {
    if (this.#symbols.zmq_bind(this.pointer, cString(endpoint)) !== 0) {
      throw this.#lib.lastError(`bind "${endpoint}"`);
    }
    return this.getBytesOption(SocketBytesOption.LAST_ENDPOINT, 1024).replace(/\0+$/, "");
  }

  /** @param endpoint the endpoint to connect to */
  connect(endpoint: string): void {
    if (this.#symbols.zmq_connect(this.pointer, cString(endpoint)) !== 0) {
      throw this.#lib.lastError(`connect "${endpoint}"`);
    }
  }

  /**
   * Starts `zmq_socket_monitor`: libzmq publishes the chosen connection events of this
   * socket on a PAIR endpoint, each as two frames: 6 bytes (the event, a little-endian
   * u16, and its value, a u32, e.g. the connection's file descriptor) and the address.
   *
   * @param endpoint an `inproc://` endpoint for the PAIR socket that reads the events
   * @param events the events wanted, `ZMQ_EVENT_*` or-ed together
   */
  monitor(endpoint: string, events: number): void {
    if (this.#symbols.zmq_socket_monitor(this.pointer, cString(endpoint), events) !== 0) {
      throw this.#lib.lastError(`monitor "${endpoint}"`);
    }
  }

  /** @param endpoint a previously connected endpoint */
  disconnect(endpoint: string): void {
    if (this.#symbols.zmq_disconnect(this.pointer, cString(endpoint)) !== 0) {
      throw this.#lib.lastError(`disconnect "${endpoint}"`);
    }
  }

  /**
   * @param option one of {@linkcode SocketOption}
   * @param value the integer value
   */
  setOption(option: number, value: number): void {
    this.#intOption[0] = value;
    const bytes = this.#intOptionBytes;
    if (this.#symbols.zmq_setsockopt(this.pointer, option, bytes, usize(4)) !== 0) {
      throw this.#lib.lastError(`setsockopt ${option}`);
    }
  }

  /**
   * Sets `ZMQ_MAXMSGSIZE`, which is a 64-bit option.
   *
   * @param bytes the largest message accepted from a peer, or -1 for no limit
   */
  setMaxMessageSize(bytes: number): void {
    const value = new BigInt64Array([BigInt(bytes)]);
    const raw = new Uint8Array(value.buffer);
    if (this.#symbols.zmq_setsockopt(this.pointer, SocketOption.MAXMSGSIZE, raw, usize(8)) !== 0) {
      throw this.#lib.lastError("setsockopt MAXMSGSIZE");
    }
  }

  /**
   * @param option one of {@linkcode SocketBytesOption}
   * @param value the bytes, or a string sent as UTF-8 without a terminator
   */
  setBytesOption(option: number, value: Uint8Array | string): void {
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    if (this.#symbols.zmq_setsockopt(this.pointer, option, bytes, usize(bytes.length)) !== 0) {
      throw this.#lib.lastError(`setsockopt ${option}`);
    }
  }

  /**
   * @param option one of {@linkcode SocketOption}
   * @returns the option's integer value
   */
  getOption(option: number): number {
    this.#optionLength[0] = 4n;
    const bytes = this.#intOptionBytes;
    const length = this.#optionLengthBytes;
    if (this.#symbols.zmq_getsockopt(this.pointer, option, bytes, length) !== 0) {
      throw this.#lib.lastError(`getsockopt ${option}`);
    }
    return this.#intOption[0]!;
  }

  /**
   * @param option one of {@linkcode SocketBytesOption}
   * @param capacity the largest value expected
   * @returns the option's value decoded as UTF-8
   */
  getBytesOption(option: number, capacity: number): string {
    const value = new Uint8Array(capacity);
    this.#optionLength[0] = BigInt(capacity);
    const length = this.#optionLengthBytes;
    if (this.#symbols.zmq_getsockopt(this.pointer, option, value, length) !== 0) {
      throw this.#lib.lastError(`getsockopt ${option}`);
    }
    return new TextDecoder().decode(value.subarray(0, Number(this.#optionLength[0])));
  }

  /**
   * Sends one message made of one or more frames.
   *
   * @param frames a frame, or the frames in order
   * @param options {@linkcode SendOptions}
   * @returns false when `dontWait` was set and the message could not be queued
   */
  send(frames: Uint8Array | string | (Uint8Array | string)[], options: SendOptions = {}): boolean {
    const list = Array.isArray(frames) ? frames : [frames];
    const flags = options.dontWait ? ZMQ_DONTWAIT : 0;
    for (let i = 0; i < list.length; i++) {
      const frame = list[i]!;
      const bytes = typeof frame === "string" ? encoder.encode(frame) : frame;
      const more = i < list.length - 1 || options.more === true;
      if (!this.sendFrame(bytes, more ? flags | ZMQ_SNDMORE : flags)) return false;
    }
    return true;
  }

  /**
   * Sends one frame; the building block of {@linkcode ZmqSocket.send}, without
   * allocation, for request loops.
   *
   * @param bytes the frame
   * @param flags `ZMQ_SNDMORE` and/or `ZMQ_DONTWAIT`
   * @returns false when the frame could not be queued without waiting
   */
  sendFrame(bytes: Uint8Array, flags: number): boolean {
    return this.sendBytes(bytes, bytes.length, flags);
  }

  /**
   * Sends the first `length` bytes of a buffer as one frame, without making a view of
   * them: the allocation-free form of {@linkcode ZmqSocket.sendFrame}.
   *
   * @param buffer holds the frame at its start
   * @param length the frame's size
   * @param flags `ZMQ_SNDMORE` and/or `ZMQ_DONTWAIT`
   * @returns false when the frame could not be queued without waiting
   */
  sendBytes(buffer: Uint8Array, length: number, flags: number): boolean {
    const refused = this.trySendBytes(buffer, length, flags);
    if (refused === 0) return true;
    if (refused === Errno.EAGAIN && (flags & ZMQ_DONTWAIT) !== 0) return false;
    throw new ZmqError("send", refused, this.#lib.strerror(refused));
  }

  /**
   * Like {@linkcode ZmqSocket.sendBytes}, for a ROUTER with `ZMQ_ROUTER_MANDATORY`: a
   * peer that is gone (`EHOSTUNREACH`) or whose queue is full (`EAGAIN`) makes it return
   * its reason instead of throwing.
   *
   * @param buffer holds the frame at its start
   * @param length the frame's size
   * @param flags `ZMQ_SNDMORE` and/or `ZMQ_DONTWAIT`
   * @returns 0 when sent, else the reason: `Errno.EAGAIN` (the peer's queue is full) or
   *   `Errno.EHOSTUNREACH` (no such peer)
   */
  trySendBytes(buffer: Uint8Array, length: number, flags: number): number {
    while (true) {
      const sent = this.#symbols.zmq_send(this.pointer, buffer, usize(length), flags);
      if (sent >= 0) return 0;
      const errno = this.#symbols.zmq_errno();
      if (errno === Errno.EAGAIN || errno === Errno.EHOSTUNREACH) return errno;
      // A signal came before the frame was queued (libzmq queued nothing): send it again,
      // rather than lose the frame and leave a multipart message half sent.
      if (errno !== Errno.EINTR) throw this.#lib.lastError("send");
    }
  }

  /**
   * Receives one whole message, blocking unless `dontWait`.
   *
   * @param options `dontWait: true` to return null instead of blocking
   * @returns the message's frames, or null when nothing was waiting and `dontWait` is set
   */
  receive(options: { dontWait?: boolean } = {}): Uint8Array[] | null {
    const frames: Uint8Array[] = [];
    const flags = options.dontWait ? ZMQ_DONTWAIT : 0;
    const message = this.#message;
    const symbols = this.#symbols;
    do {
      symbols.zmq_msg_init(message);
      const size = symbols.zmq_msg_recv(message, this.pointer, frames.length === 0 ? flags : 0);
      if (size < 0) {
        const error = this.#lib.lastError("receive");
        symbols.zmq_msg_close(message);
        if (error.errno === Errno.EINTR) continue; // nothing taken: wait for the frame again
        if (error.errno === Errno.EAGAIN && frames.length === 0 && options.dontWait) return null;
        throw error;
      }
      const frame = new Uint8Array(size);
      const data = symbols.zmq_msg_data(message);
      if (size > 0 && data !== null) {
        frame.set(new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(data, size)));
      }
      frames.push(frame);
      const more = symbols.zmq_msg_more(message) === 1;
      symbols.zmq_msg_close(message);
      if (!more) break;
    } while (true);
    return frames;
  }

  /**
   * Receives one frame into a caller's buffer, without allocation, for request loops.
   *
   * @param buffer where the frame's bytes go; a longer frame is cut to its length
   * @param flags 0 or `ZMQ_DONTWAIT`
   * @returns the frame's full size (larger than `buffer.length` when it was cut)
   */
  receiveFrameInto(buffer: Uint8Array, flags: number): number {
    while (true) {
      const size = this.#symbols.zmq_recv(this.pointer, buffer, usize(buffer.length), flags);
      if (size >= 0) return size;
      // Interrupted before a frame arrived: wait again, so that a signal between the frames
      // of one message cannot make the next frame read as the start of another.
      if (this.#symbols.zmq_errno() !== Errno.EINTR) throw this.#lib.lastError("receive");
    }
  }

  /**
   * Like {@linkcode ZmqSocket.receiveFrameInto}, but returns -1 instead of throwing when
   * nothing arrived (`ZMQ_DONTWAIT`, or the socket's receive timeout ran out): the cheap
   * test of a polling loop.
   *
   * @param buffer where the frame's bytes go
   * @param flags 0 or `ZMQ_DONTWAIT`
   * @returns the frame's full size, or -1 when nothing arrived
   */
  tryReceiveFrameInto(buffer: Uint8Array, flags: number): number {
    while (true) {
      const size = this.#symbols.zmq_recv(this.pointer, buffer, usize(buffer.length), flags);
      if (size >= 0) return size;
      // Test errno before building an error: a polling loop meets EAGAIN all the time.
      const errno = this.#symbols.zmq_errno();
      if (errno === Errno.EAGAIN) return -1;
      if (errno !== Errno.EINTR) throw this.#lib.lastError("receive");
    }
  }

  /** @returns whether the last frame received has more frames after it */
  hasMore(): boolean {
    return this.getOption(SocketOption.RCVMORE) === 1;
  }

  /** Closes the socket; later calls throw. Closing twice is allowed. */
  close(): void {
    if (this.#pointer === null) return;
    this.#symbols.zmq_close(this.#pointer);
    this.#pointer = null;
  }

  /** Same as {@linkcode ZmqSocket.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
