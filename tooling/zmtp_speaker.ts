/**
 * A minimal ZMTP 3.0 speaker over a plain TCP socket (`Deno.connect`), without libzmq:
 * the NULL mechanism's greeting and READY command, then frames with or without MORE, in
 * short (one-byte size) or long (eight-byte size) form. It can send what no libzmq client
 * sends, e.g. a message whose frames all have MORE set and never end, so tests and the
 * attack bench can check what the service does with it.
 *
 * See the ZMTP 3.0 specification (rfc.zeromq.org/spec/23): a greeting is 64 bytes; a
 * frame is a flags byte (MORE 0x01, LONG 0x02, COMMAND 0x04), a size (one byte, or eight
 * bytes big-endian when LONG), then the body.
 *
 * @example
 * ```ts ignore
 * using speaker = await ZmtpSpeaker.connect("tcp://127.0.0.1:5555", { socketType: "DEALER" });
 * await speaker.send([new Uint8Array(0), new TextEncoder().encode("ping")]);
 * const reply = await speaker.receive(); // [empty delimiter, "pong"]
 * ```
 *
 * @module
 */

import { concatBytes, writeAll } from "./bytes.ts";

/** The flag bits of a frame's first byte. */
export const FrameFlag = {
  /** More frames of this message follow. */
  MORE: 0x01,
  /** The size is eight bytes, not one. */
  LONG: 0x02,
  /** The frame is a command (READY, ERROR, ...), not part of a message. */
  COMMAND: 0x04,
} as const;

/** The length of a ZMTP 3 greeting. */
export const GREETING_LENGTH = 64;

/** Socket types this speaker can claim to be. */
export type SpeakerSocketType = "DEALER" | "REQ" | "ROUTER" | "REP";

/** One frame as read from the wire. */
export interface ZmtpFrame {
  /** The flags byte. */
  flags: number;
  /** MORE was set. */
  more: boolean;
  /** COMMAND was set. */
  command: boolean;
  /** The body. */
  body: Uint8Array;
}

/** A command's name and properties (READY's Socket-Type, Identity, ...). */
export interface ZmtpCommand {
  /** e.g. "READY", "ERROR" */
  name: string;
  /** Property name to value; for ERROR, the reason is under "reason". */
  properties: Map<string, Uint8Array>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The 64-byte greeting: signature, version 3.0, mechanism, as-server flag, filler.
 *
 * @param options the mechanism (default "NULL") and whether to claim the server role
 * @returns the greeting bytes
 */
export function encodeGreeting(
  options: { mechanism?: string; asServer?: boolean } = {},
): Uint8Array {
  const greeting = new Uint8Array(GREETING_LENGTH);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  greeting[11] = 0;
  const mechanism = encoder.encode(options.mechanism ?? "NULL");
  if (mechanism.length > 20) throw new RangeError(`mechanism "${options.mechanism}" too long`);
  greeting.set(mechanism, 12);
  greeting[32] = options.asServer === true ? 1 : 0;
  return greeting;
}

/**
 * Reads a peer's greeting.
 *
 * @param bytes the 64 bytes
 * @returns the version and mechanism
 * @throws {Error} when the signature is not ZMTP's
 */
export function parseGreeting(
  bytes: Uint8Array,
): { major: number; minor: number; mechanism: string; asServer: boolean } {
  if (bytes.length < GREETING_LENGTH || bytes[0] !== 0xff || bytes[9] !== 0x7f) {
    throw new Error("not a ZMTP 3 greeting");
  }
  const mechanismBytes = bytes.subarray(12, 32);
  const end = mechanismBytes.indexOf(0);
  return {
    major: bytes[10]!,
    minor: bytes[11]!,
    mechanism: decoder.decode(end < 0 ? mechanismBytes : mechanismBytes.subarray(0, end)),
    asServer: bytes[32] === 1,
  };
}

/**
 * Encodes one frame, short when the body is at most 255 bytes, long otherwise (or when
 * `long` asks for it).
 *
 * @param body the frame's body
 * @param options MORE, COMMAND, and whether to force the long form
 * @returns the frame's bytes
 */
export function encodeFrame(
  body: Uint8Array,
  options: { more?: boolean; command?: boolean; long?: boolean } = {},
): Uint8Array {
  const long = options.long === true || body.length > 255;
  const headerLength = long ? 9 : 2;
  const frame = new Uint8Array(headerLength + body.length);
  frame[0] = (options.more === true ? FrameFlag.MORE : 0) |
    (long ? FrameFlag.LONG : 0) |
    (options.command === true ? FrameFlag.COMMAND : 0);
  if (long) {
    new DataView(frame.buffer).setBigUint64(1, BigInt(body.length));
  } else {
    frame[1] = body.length;
  }
  frame.set(body, headerLength);
  return frame;
}

/**
 * Encodes a command frame: name, then properties (one-byte name size, name, four-byte
 * value size, value).
 *
 * @param name e.g. "READY"
 * @param properties e.g. `{ "Socket-Type": "DEALER" }`
 * @returns the command frame's bytes
 */
export function encodeCommand(name: string, properties: Record<string, string> = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const nameBytes = encoder.encode(name);
  parts.push(Uint8Array.of(nameBytes.length), nameBytes);
  for (const [key, value] of Object.entries(properties)) {
    const keyBytes = encoder.encode(key);
    const valueBytes = encoder.encode(value);
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(0, valueBytes.length);
    parts.push(Uint8Array.of(keyBytes.length), keyBytes, size, valueBytes);
  }
  return encodeFrame(concatBytes(parts), { command: true });
}

/**
 * Reads a command frame's body.
 *
 * @param body the body of a frame with COMMAND set
 * @returns its name and properties
 * @throws {Error} when the body is malformed
 */
export function parseCommand(body: Uint8Array): ZmtpCommand {
  const nameLength = body[0];
  if (nameLength === undefined || 1 + nameLength > body.length) {
    throw new Error("malformed command");
  }
  const name = decoder.decode(body.subarray(1, 1 + nameLength));
  const properties = new Map<string, Uint8Array>();
  let at = 1 + nameLength;
  if (name === "ERROR") {
    const reasonLength = body[at] ?? 0;
    properties.set("reason", body.subarray(at + 1, at + 1 + reasonLength));
    return { name, properties };
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  while (at < body.length) {
    const keyLength = body[at]!;
    if (at + 1 + keyLength + 4 > body.length) throw new Error("malformed command property");
    const key = decoder.decode(body.subarray(at + 1, at + 1 + keyLength));
    const valueLength = view.getUint32(at + 1 + keyLength);
    const valueStart = at + 1 + keyLength + 4;
    if (valueStart + valueLength > body.length) throw new Error("malformed command property");
    properties.set(key, body.subarray(valueStart, valueStart + valueLength));
    at = valueStart + valueLength;
  }
  return { name, properties };
}

/**
 * Splits a byte stream into frames, however it arrives in pieces. The pieces of a frame
 * not yet whole are kept apart and joined once it is, so a frame of many megabytes read
 * 64 KiB at a time costs one copy, not one per read.
 */
export class FrameDecoder {
  #pieces: Uint8Array[] = [];
  #pendingLength = 0;
  /** Bytes the next frame needs in all (header and body), once its header is known. */
  #needed = 0;

  /**
   * Adds bytes read from the wire.
   *
   * @param bytes the next bytes
   * @returns the frames now complete, in order
   */
  push(bytes: Uint8Array): ZmtpFrame[] {
    this.#pieces.push(bytes.slice());
    this.#pendingLength += bytes.length;
    if (this.#pendingLength < Math.max(this.#needed, 1)) return [];
    const data = this.#pieces.length === 1 ? this.#pieces[0]! : concatBytes(this.#pieces);
    const frames: ZmtpFrame[] = [];
    let at = 0;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.#needed = 0;
    while (at < data.length) {
      const flags = data[at]!;
      const long = (flags & FrameFlag.LONG) !== 0;
      const headerLength = long ? 9 : 2;
      if (at + headerLength > data.length) break;
      const size = long ? Number(view.getBigUint64(at + 1)) : data[at + 1]!;
      if (at + headerLength + size > data.length) {
        this.#needed = headerLength + size;
        break;
      }
      frames.push({
        flags,
        more: (flags & FrameFlag.MORE) !== 0,
        command: (flags & FrameFlag.COMMAND) !== 0,
        body: data.slice(at + headerLength, at + headerLength + size),
      });
      at += headerLength + size;
    }
    const rest = data.slice(at);
    this.#pieces = rest.length === 0 ? [] : [rest];
    this.#pendingLength = rest.length;
    return frames;
  }

  /** Bytes received that do not yet make a whole frame. */
  get pendingBytes(): number {
    return this.#pendingLength;
  }
}

/** Options for {@linkcode ZmtpSpeaker.connect}. */
export interface SpeakerOptions {
  /** The socket type announced in READY (default "DEALER"). */
  socketType?: SpeakerSocketType;
  /** How long the handshake may take (default 5000 ms). */
  timeoutMs?: number;
}

/** A ZMTP 3.0 connection over a plain TCP socket, after the NULL handshake. */
export class ZmtpSpeaker implements Disposable {
  /** The peer's greeting. */
  readonly peerGreeting: ReturnType<typeof parseGreeting>;
  /** The peer's READY command. */
  readonly peerReady: ZmtpCommand;
  readonly #conn: Deno.Conn;
  readonly #decoder: FrameDecoder;
  readonly #frames: ZmtpFrame[];
  #closed = false;

  private constructor(
    conn: Deno.Conn,
    state: {
      greeting: ReturnType<typeof parseGreeting>;
      ready: ZmtpCommand;
      decoder: FrameDecoder;
      frames: ZmtpFrame[];
    },
  ) {
    this.#conn = conn;
    this.peerGreeting = state.greeting;
    this.peerReady = state.ready;
    this.#decoder = state.decoder;
    this.#frames = state.frames;
  }

  /**
   * Connects to a `tcp://host:port` endpoint and does the NULL handshake.
   *
   * @param endpoint e.g. "tcp://127.0.0.1:5555"
   * @param options the socket type announced, and the handshake's time limit
   * @returns the speaker, ready to send messages
   * @throws {Error} when the peer does not complete the handshake in time
   */
  static async connect(endpoint: string, options: SpeakerOptions = {}): Promise<ZmtpSpeaker> {
    const { hostname, port } = tcpAddress(endpoint);
    const conn = await Deno.connect({ hostname, port });
    const timeoutMs = options.timeoutMs ?? 5000;
    const timer = setTimeout(() => {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }, timeoutMs);
    try {
      await writeAll(conn, encodeGreeting());
      const greetingBytes = new Uint8Array(GREETING_LENGTH);
      let have = 0;
      while (have < GREETING_LENGTH) {
        const read = await conn.read(greetingBytes.subarray(have));
        if (read === null) throw new Error(`${endpoint} closed the connection during the greeting`);
        have += read;
      }
      const greeting = parseGreeting(greetingBytes);
      if (greeting.major < 3) throw new Error(`${endpoint} speaks ZMTP ${greeting.major}`);
      if (greeting.mechanism !== "NULL") {
        throw new Error(`${endpoint} wants the ${greeting.mechanism} mechanism`);
      }
      await writeAll(
        conn,
        encodeCommand("READY", { "Socket-Type": options.socketType ?? "DEALER", Identity: "" }),
      );
      const decoder = new FrameDecoder();
      const frames: ZmtpFrame[] = [];
      const buffer = new Uint8Array(4096);
      while (frames.length === 0) {
        const read = await conn.read(buffer);
        if (read === null) throw new Error(`${endpoint} closed the connection during READY`);
        frames.push(...decoder.push(buffer.subarray(0, read)));
      }
      const first = frames.shift()!;
      if (!first.command) throw new Error(`${endpoint} sent a message before READY`);
      const ready = parseCommand(first.body);
      if (ready.name !== "READY") {
        const reason = decodeText(ready.properties.get("reason"));
        throw new Error(`${endpoint} answered ${ready.name} ${reason}`.trim());
      }
      return new ZmtpSpeaker(conn, { greeting, ready, decoder, frames });
    } catch (error) {
      try {
        conn.close();
      } catch {
        // Closed by the timer.
      }
      if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
        throw new Error(`ZMTP handshake with ${endpoint} not done within ${timeoutMs} ms`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends a whole message: MORE on every frame but the last.
   *
   * @param frames the message's frames
   */
  async send(frames: readonly (Uint8Array | string)[]): Promise<void> {
    const encoded = frames.map((frame, i) =>
      encodeFrame(typeof frame === "string" ? encoder.encode(frame) : frame, {
        more: i < frames.length - 1,
      })
    );
    await writeAll(this.#conn, concatBytes(encoded));
  }

  /**
   * Sends one frame as given: with `more`, the message stays open for more frames.
   *
   * @param body the frame's body
   * @param options MORE, and whether to force the long form
   */
  async sendFrame(
    body: Uint8Array,
    options: { more?: boolean; long?: boolean } = {},
  ): Promise<void> {
    await writeAll(this.#conn, encodeFrame(body, options));
  }

  /**
   * Sends bytes as they are (a broken frame, a command, ...).
   *
   * @param bytes what to write
   */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    await writeAll(this.#conn, bytes);
  }

  /**
   * Receives the next message, skipping commands (PING and the like).
   *
   * @param timeoutMs how long to wait (default 5000 ms); on a time-out the connection is
   *   closed, since a pending read cannot be taken back
   * @param options `bytesPerSecond`: read no faster than this (a slow reader), from the
   *   call on
   * @returns the message's frames
   * @throws {Error} on a time-out or when the peer closes the connection
   */
  async receive(
    timeoutMs = 5000,
    options: { bytesPerSecond?: number } = {},
  ): Promise<Uint8Array[]> {
    const timer = setTimeout(() => this.close(), timeoutMs);
    const started = performance.now();
    let readBytes = 0;
    try {
      const message: Uint8Array[] = [];
      const buffer = new Uint8Array(64 * 1024);
      while (true) {
        while (this.#frames.length > 0) {
          const frame = this.#frames.shift()!;
          if (frame.command) continue;
          message.push(frame.body);
          if (!frame.more) return message;
        }
        if (this.#closed) throw new Error(`no message within ${timeoutMs} ms`);
        let read: number | null;
        try {
          read = await this.#conn.read(buffer);
        } catch (error) {
          if (this.#closed) throw new Error(`no message within ${timeoutMs} ms`);
          throw error;
        }
        if (read === null) throw new Error("the peer closed the connection");
        this.#frames.push(...this.#decoder.push(buffer.subarray(0, read)));
        readBytes += read;
        if (options.bytesPerSecond !== undefined) {
          const due = started + 1000 * readBytes / options.bytesPerSecond;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether {@linkcode ZmtpSpeaker.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Closed already.
    }
  }

  /** Closes the connection. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The host and port of a `tcp://` endpoint (IPv6 hosts in brackets).
 *
 * @param endpoint e.g. "tcp://127.0.0.1:5555"
 * @returns the host name and port
 * @throws {TypeError} for another transport or a missing port
 */
export function tcpAddress(endpoint: string): { hostname: string; port: number } {
  const match = endpoint.match(/^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+)$/);
  if (match === null) throw new TypeError(`not a tcp://host:port endpoint: "${endpoint}"`);
  return { hostname: match[1]!.replace(/^\[|\]$/g, ""), port: Number(match[2]) };
}

function decodeText(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? "" : decoder.decode(bytes);
}
