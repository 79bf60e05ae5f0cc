/**
 * A request's envelope, as the router thread keeps it to send the reply back: the frames
 * a ROUTER receives before the request (the routing id it prepends, those of brokers in
 * between) and whether an empty delimiter came last. After the ZeroMQ Guide: a REQ
 * client's message reaches the ROUTER as `[routing id, empty delimiter, request]` and the
 * reply goes back with the same frames in front; a DEALER that sends `[request]` without a
 * delimiter gets `[reply]` back.
 *
 * @module
 */

import { ZMQ_DONTWAIT, ZMQ_SNDMORE, type ZmqSocket } from "../zmq/mod.ts";

/** Envelope frames kept per request; a longer envelope is refused. */
export const MAX_ENVELOPE_FRAMES = 16;
/** The largest envelope frame (ZeroMQ routing ids are at most 255 bytes). */
export const MAX_ENVELOPE_FRAME_BYTES = 255;
const EMPTY = new Uint8Array(0);

/** One request's envelope, its buffers reused from request to request. */
export class Envelope {
  /** How many frames are kept. */
  count = 0;
  /** Whether an empty delimiter followed them (the reply then needs one too). */
  hasDelimiter = false;
  readonly #frames: Uint8Array[] = Array.from(
    { length: MAX_ENVELOPE_FRAMES },
    () => new Uint8Array(MAX_ENVELOPE_FRAME_BYTES),
  );
  readonly #sizes = new Int32Array(MAX_ENVELOPE_FRAMES);

  /** Forgets the last request's envelope. */
  reset(): void {
    this.count = 0;
    this.hasDelimiter = false;
  }

  /**
   * Takes one frame that came before the request's last one: keeps it for the reply, or
   * says what is wrong with the envelope.
   *
   * @example
   * ```ts
   * import { Envelope } from "./envelope.ts";
   * const envelope = new Envelope();
   * console.log(envelope.take(new Uint8Array([1, 2]), 2, undefined)); // undefined
   * console.log(envelope.take(new Uint8Array(0), 0, undefined), envelope.count); // undefined 1
   * console.log(envelope.take(new Uint8Array(1), 1, undefined));
   * // a request must be a single frame
   * ```
   *
   * @param frame the buffer the frame was received into
   * @param size its size
   * @param problem what was already found wrong, if anything
   * @returns what is wrong with the envelope so far, or undefined
   */
  take(frame: Uint8Array, size: number, problem: string | undefined): string | undefined {
    if (problem !== undefined) {
      // Already refused: the rest is only read, noting the delimiter the reply needs.
      if (size === 0) this.hasDelimiter = true;
      return problem;
    }
    if (this.hasDelimiter) return "a request must be a single frame";
    if (size > MAX_ENVELOPE_FRAME_BYTES) {
      return `an envelope frame of ${size} bytes; routing frames are at most ` +
        `${MAX_ENVELOPE_FRAME_BYTES}`;
    }
    if (size === 0) {
      this.hasDelimiter = true;
      return undefined;
    }
    if (this.count >= MAX_ENVELOPE_FRAMES) {
      return `more than ${MAX_ENVELOPE_FRAMES} envelope frames`;
    }
    const kept = this.#frames[this.count]!;
    for (let i = 0; i < size; i++) kept[i] = frame[i]!;
    this.#sizes[this.count++] = size;
    return undefined;
  }

  /**
   * Sends the envelope (and delimiter) to the client, ahead of the reply. The ROUTER is
   * `ZMQ_ROUTER_MANDATORY`: a client whose queue is full (it does not read) or who is
   * gone makes the first frame fail, and then nothing is sent.
   *
   * @param router the ROUTER
   * @returns 0 when the reply may follow, else the error number of the refused send
   */
  sendTo(router: ZmqSocket): number {
    const refused = router.trySendBytes(
      this.#frames[0]!,
      this.#sizes[0]!,
      ZMQ_SNDMORE | ZMQ_DONTWAIT,
    );
    if (refused !== 0) return refused;
    for (let i = 1; i < this.count; i++) {
      router.sendBytes(this.#frames[i]!, this.#sizes[i]!, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    }
    if (this.hasDelimiter) router.sendFrame(EMPTY, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    return 0;
  }

  /**
   * Sends the envelope's frames and an empty delimiter to the pool, ahead of the request
   * (the pool's REP socket sends them back ahead of the reply).
   *
   * @param pool the pool's DEALER
   */
  sendToPool(pool: ZmqSocket): void {
    for (let i = 0; i < this.count; i++) {
      pool.sendBytes(this.#frames[i]!, this.#sizes[i]!, ZMQ_SNDMORE);
    }
    pool.sendFrame(EMPTY, ZMQ_SNDMORE);
  }
}
