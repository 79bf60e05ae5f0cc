/**
 * The budgets of bytes one ZeroMQ connection can make the service hold: inbound, what it
 * sent that is not yet taken as whole requests; outbound, replies it has not read.
 *
 * libzmq bounds neither an unfinished message (its high-water marks count whole messages,
 * `ZMQ_MAXMSGSIZE` one frame), so a peer that speaks ZMTP by hand and sends frame after
 * frame, each with MORE set, makes it buffer without end. The budget watches from
 * outside: the socket monitor gives each accepted connection's descriptor; the kernel
 * counts the bytes each TCP connection has received (`TCP_INFO`); the router worker counts
 * the bytes it has taken from each connection (every message names its connection,
 * `ZMQ_SRCFD`). What a connection has received beyond what was taken from it, less the
 * framing, is held for it: libzmq's unfinished message, its queue of whole requests, the
 * kernel's buffer. Over the budget, `shutdown(2)` on the descriptor makes libzmq end that
 * connection and free what it held; nobody else is disturbed.
 *
 * Outbound, the same counters say how many reply bytes sent to a connection its peer has
 * not acknowledged (`tcpi_bytes_acked`): replies queued in libzmq and the kernel. A reply
 * that would take a connection over that budget is not sent (the router worker answers
 * `ERROR busy` instead, see {@linkcode ConnectionBudget.mayReply}), so a client that reads
 * always gets an answer or an error. A peer over the budget that has read nothing since
 * the last look is "stalled": its requests are dropped without being answered (nothing
 * computed, nothing queued) until it has read enough.
 *
 * @module
 */

import {
  type Libzmq,
  MonitorEvent,
  type MonitorEventRecord,
  shutdownConnection,
  type SocketMonitor,
  TcpCounters,
  trimFreedMemory,
} from "../zmq/mod.ts";

/** Requests of one connection in the pool at most. */
export const MAX_IN_POOL_PER_CONNECTION = 64;

/**
 * Framing allowed per frame taken: ZMTP's header is at most 9 bytes; CURVE adds a
 * `MESSAGE` command, a nonce and a MAC (about 33 bytes). The estimate of what is held is
 * the lower for it, so a connection is never cut for the framing of what it sent.
 */
const FRAMING_BYTES_PER_FRAME = 48;
/** Greeting and handshake (NULL or CURVE, with metadata) allowed per connection. */
const HANDSHAKE_BYTES = 4096;
/** How often every connection is looked at. */
const SCAN_INTERVAL_MS = 1000;
/** Reply bytes sent since the last scan that make a scan happen at once (at most). */
const SENT_TRIGGER_BYTES = 8 * 1024 * 1024;
/** How often the process's resident memory is looked at, between scans. */
const RSS_INTERVAL_MS = 100;
/** Growth of resident memory since the last scan that makes a scan happen at once. */
const RSS_TRIGGER_BYTES = 16 * 1024 * 1024;
/** How often freed memory is handed back at most (`malloc_trim` walks the heap). */
const TRIM_INTERVAL_MS = 1000;

/** A connection the budget watches. */
interface Watched {
  /** Whether the monitor has reported it accepted (else it was met in a message first). */
  accepted: boolean;
  /** Bytes of frames taken from it so far. */
  taken: number;
  /** Frames taken from it so far. */
  frames: number;
  /** Reply bytes sent to it so far. */
  sent: number;
  /** Bytes its peer had acknowledged when last looked at (`tcpi_bytes_acked`). */
  acked: number;
  /** Whether its peer holds more unread replies than the budget. */
  stalled: boolean;
  /** The peer's address, once asked. */
  address: string | undefined;
  /**
   * The routing id the ROUTER gave the connection's messages, once one was met: a
   * descriptor is reused by the next connection as soon as one closes, a routing id is not.
   */
  routingId: Uint8Array | undefined;
  /** Its requests in the pool now. */
  inPool: number;
}

function freshWatched(accepted: boolean): Watched {
  return {
    accepted,
    taken: 0,
    frames: 0,
    sent: 0,
    acked: 0,
    stalled: false,
    address: undefined,
    routingId: undefined,
    inPool: 0,
  };
}

/**
 * The monitor events a ROUTER's budget needs, and those an instance's link to its
 * brokers needs (see `broker_link.ts`): one monitor serves both, since libzmq allows
 * one per socket.
 */
export const ROUTER_MONITOR_EVENTS = MonitorEvent.ACCEPTED | MonitorEvent.CLOSED |
  MonitorEvent.DISCONNECTED | MonitorEvent.CONNECTED | MonitorEvent.CONNECT_RETRIED;

/** What {@linkcode ConnectionBudget} needs. */
export interface ConnectionBudgetOptions {
  /** The ROUTER's monitor, started with {@linkcode ROUTER_MONITOR_EVENTS}. */
  monitor: SocketMonitor;
  /** Bytes a connection may have sent that are not yet taken as whole requests. */
  maxInboundBytes: number;
  /** Reply bytes a connection's peer may leave unread before its requests are dropped. */
  maxOutboundBytes: number;
  /** Told about each connection cut, with the bytes it held (at least). */
  onCut?: (fd: number, inboundBytes: number) => void;
  /** Told when a connection stalls (its peer stopped reading) or reads again. */
  onStall?: (fd: number, stalled: boolean, unreadBytes: number) => void;
  /** Told the monitor's events about connections the ROUTER makes (`--connect`). */
  onConnectEvent?: (event: MonitorEventRecord) => void;
}

/**
 * Watches the TCP connections a ROUTER accepted and cuts any that holds more than its
 * budget (connections it made itself, with `--connect`, are left alone).
 * The router worker's loop tells it about every message it takes
 * ({@linkcode ConnectionBudget.took}) and calls {@linkcode ConnectionBudget.check} often
 * (every request, and when idle).
 */
export class ConnectionBudget {
  readonly #lib: Libzmq;
  readonly #monitor: SocketMonitor;
  readonly #counters: TcpCounters;
  readonly #maxInboundBytes: number;
  readonly #maxOutboundBytes: number;
  readonly #onCut: ConnectionBudgetOptions["onCut"];
  readonly #onStall: ConnectionBudgetOptions["onStall"];
  readonly #onConnectEvent: ConnectionBudgetOptions["onConnectEvent"];
  readonly #watched = new Map<number, Watched>();
  #nextScan = 0;
  #nextRssLook = 0;
  #rssAtScan = 0;
  #trimDue = false;
  #sentSinceScan = 0;
  readonly #sentTrigger: number;
  #nextTrim = 0;
  #cuts = 0;

  /** @param options the monitor, the budgets, who is told what */
  constructor(options: ConnectionBudgetOptions) {
    const lib = options.monitor.lib;
    this.#lib = lib;
    this.#monitor = options.monitor;
    this.#onConnectEvent = options.onConnectEvent;
    this.#counters = new TcpCounters(lib);
    this.#maxInboundBytes = options.maxInboundBytes;
    this.#maxOutboundBytes = options.maxOutboundBytes;
    this.#sentTrigger = Math.min(options.maxOutboundBytes / 2, SENT_TRIGGER_BYTES);
    this.#onCut = options.onCut;
    this.#onStall = options.onStall;
  }

  /** Connections cut so far. */
  get cuts(): number {
    return this.#cuts;
  }

  /** Connections watched now. */
  get watched(): number {
    return this.#watched.size;
  }

  /**
   * Counts a message taken from a connection.
   *
   * @param fd the connection's descriptor (`ZMQ_SRCFD`), -1 when unknown
   * @param bytes the bytes of its frames that came over the wire
   * @param frames how many such frames
   * @returns false when the connection is stalled: drop the request unanswered
   */
  took(fd: number, bytes: number, frames: number): boolean {
    if (fd < 0) return true;
    let watched = this.#watched.get(fd);
    if (watched === undefined) {
      // A connection not met before: its accept may be in the monitor's queue.
      this.#takeEvents();
      watched = this.#watched.get(fd);
    }
    if (watched === undefined) {
      // Not accepted (a connection this socket made, or one not TCP: the next scan
      // forgets that one).
      watched = freshWatched(false);
      this.#watched.set(fd, watched);
    }
    watched.taken += bytes;
    watched.frames += frames;
    return !watched.stalled;
  }

  /**
   * Tells which connection a message came through. A message whose routing id is not the
   * one last met on its descriptor comes from a new connection on a reused descriptor:
   * the monitor's news is taken at once (the old connection's close, the new one's
   * accept), so that nothing of the old connection (its address, its counts) is charged
   * to the new one. Call it for every request, before the other calls about it.
   *
   * @param fd the connection's descriptor (`ZMQ_SRCFD`), -1 when unknown
   * @param routingId holds the message's routing id at its start
   * @param idLength the routing id's size
   */
  arrived(fd: number, routingId: Uint8Array, idLength: number): void {
    if (fd < 0) return;
    const watched = this.#watched.get(fd);
    if (watched !== undefined && sameBytes(watched.routingId, routingId, idLength)) return;
    this.#takeEvents();
    let now = this.#watched.get(fd);
    if (now === undefined) {
      now = freshWatched(false);
      this.#watched.set(fd, now);
    } else if (now === watched && watched.routingId !== undefined) {
      // No news of a new connection (not TCP, or events lost): forget what was asked.
      now.address = undefined;
    }
    now.routingId = routingId.slice(0, idLength);
  }

  /**
   * The peer address of a connection, asked of its first message and kept for the next.
   *
   * @param fd the connection's descriptor, as given to {@linkcode ConnectionBudget.arrived}
   * @param ask reads the message's `Peer-Address`
   * @returns the address, or undefined for a connection not accepted (one this socket
   *   made, to a broker, which carries many clients)
   */
  peerAddress(fd: number, ask: () => string | null): string | undefined {
    const watched = this.#watched.get(fd);
    if (watched === undefined || !watched.accepted) return undefined;
    watched.address ??= ask() ?? "";
    return watched.address;
  }

  /**
   * @param fd a connection's descriptor
   * @returns whether another of its requests may go to the pool (at most
   *   {@linkcode MAX_IN_POOL_PER_CONNECTION} at once)
   */
  mayQueue(fd: number): boolean {
    const watched = this.#watched.get(fd);
    return watched === undefined || watched.inPool < MAX_IN_POOL_PER_CONNECTION;
  }

  /** @param fd a connection one of whose requests went to the pool */
  queued(fd: number): void {
    const watched = this.#watched.get(fd);
    if (watched !== undefined) watched.inPool++;
  }

  /** @param fd a connection one of whose requests came back from the pool */
  dequeued(fd: number): void {
    const watched = this.#watched.get(fd);
    if (watched !== undefined && watched.inPool > 0) watched.inPool--;
  }

  /** The most reply bytes a connection's peer may leave unread; 0: no budget. */
  get maxOutboundBytes(): number {
    return this.#maxOutboundBytes;
  }

  /**
   * Whether a reply fits in its connection's outbound budget now: the replies its peer has
   * not acknowledged, and this one, at most the budget. The kernel is asked only when the
   * count kept since it was last asked says the reply may not fit.
   *
   * @param fd the connection's descriptor, -1 when unknown
   * @param bytes the reply's size
   * @returns whether to send it (else answer that the client has too much unread)
   */
  mayReply(fd: number, bytes: number): boolean {
    const max = this.#maxOutboundBytes;
    if (max <= 0) return true;
    const watched = this.#watched.get(fd);
    if (watched === undefined || !watched.accepted) return true;
    if (watched.sent - watched.acked + bytes <= max) return true;
    const counted = this.#counters.read(fd);
    if (counted === null) return true;
    watched.acked = Math.max(watched.acked, counted.acked);
    return watched.sent - watched.acked + bytes <= max;
  }

  /**
   * What a connection's peer has left unread, as last counted.
   *
   * @param fd the connection's descriptor
   * @returns reply bytes sent and not acknowledged
   */
  unreadBytes(fd: number): number {
    const watched = this.#watched.get(fd);
    return watched === undefined ? 0 : Math.max(0, watched.sent - watched.acked);
  }

  /**
   * Counts a reply sent to a connection.
   *
   * @param fd the connection's descriptor, -1 when unknown
   * @param bytes the reply's bytes
   */
  sent(fd: number, bytes: number): void {
    const watched = this.#watched.get(fd);
    if (watched !== undefined) watched.sent += bytes;
    this.#sentSinceScan += bytes;
  }

  /**
   * Takes the monitor's news and, when due, looks at every connection.
   *
   * @param nowMs `performance.now()`
   */
  check(nowMs: number): void {
    if (this.#sentSinceScan >= this.#sentTrigger) {
      // Replies have been sent faster than any peer could be trusted to read them.
      this.#scanAt(nowMs);
      return;
    }
    if (nowMs < this.#nextRssLook) return;
    this.#nextRssLook = nowMs + RSS_INTERVAL_MS;
    this.#takeEvents();
    if (this.#trimDue && nowMs >= this.#nextTrim) {
      // A connection was cut or has closed since: libzmq has freed its buffers.
      this.#trimDue = false;
      this.#nextTrim = nowMs + TRIM_INTERVAL_MS;
      trimFreedMemory(this.#lib);
    }
    const rss = residentBytes();
    if (nowMs < this.#nextScan && rss - this.#rssAtScan < RSS_TRIGGER_BYTES) return;
    this.#scanAt(nowMs);
  }

  #scanAt(nowMs: number): void {
    this.#nextScan = nowMs + SCAN_INTERVAL_MS;
    this.#sentSinceScan = 0;
    this.scan();
    this.#rssAtScan = residentBytes();
  }

  /**
   * Looks at every watched connection now: cuts those over the inbound budget, marks
   * those over the outbound one stalled (and those back under it not).
   *
   * @returns how many were cut
   */
  scan(): number {
    this.#takeEvents();
    let cut = 0;
    for (const [fd, watched] of this.#watched) {
      const counted = this.#counters.read(fd);
      if (counted === null) {
        this.#watched.delete(fd); // not TCP (or gone): nothing to measure
        continue;
      }
      // Only connections clients made to us are judged: not one this socket made itself
      // (to a broker, which carries many clients' requests).
      if (!watched.accepted) continue;
      const inbound = counted.received - watched.taken -
        watched.frames * FRAMING_BYTES_PER_FRAME - HANDSHAKE_BYTES;
      if (inbound > this.#maxInboundBytes && shutdownConnection(this.#lib, fd)) {
        this.#watched.delete(fd);
        cut++;
        this.#cuts++;
        this.#trimDue = true;
        this.#onCut?.(fd, inbound);
        continue;
      }
      // Framing makes the acknowledged count run ahead of the replies: a lower bound.
      // Over the budget, a peer that read something since the last look is answered
      // (ERROR busy for what does not fit, see mayReply); only one that read nothing is
      // stalled, its requests dropped unanswered.
      const unread = watched.sent - counted.acked;
      const reading = counted.acked > watched.acked;
      watched.acked = Math.max(watched.acked, counted.acked);
      const stalled = this.#maxOutboundBytes > 0 && unread > this.#maxOutboundBytes &&
        (watched.stalled || !reading);
      if (stalled !== watched.stalled) {
        watched.stalled = stalled;
        this.#onStall?.(fd, stalled, unread);
      }
    }
    return cut;
  }

  #takeEvents(): void {
    const monitor = this.#monitor;
    for (let event = monitor.next(); event !== null; event = monitor.next()) {
      if (event.event === MonitorEvent.ACCEPTED) {
        // A descriptor met in a message first, before its accept was taken, is that
        // connection; one already accepted belongs to a connection whose close was not
        // taken yet: this is another connection, which starts afresh.
        const met = this.#watched.get(event.value);
        if (met !== undefined && !met.accepted) met.accepted = true;
        else this.#watched.set(event.value, freshWatched(true));
      } else if (
        event.event === MonitorEvent.CLOSED || event.event === MonitorEvent.DISCONNECTED
      ) {
        if (this.#watched.delete(event.value)) this.#trimDue = true;
      }
      if (
        event.event === MonitorEvent.CONNECTED || event.event === MonitorEvent.CONNECT_RETRIED ||
        event.event === MonitorEvent.DISCONNECTED
      ) {
        this.#onConnectEvent?.(event);
      }
    }
  }

  /** Stops watching. */
  close(): void {
    this.#monitor.close();
    this.#watched.clear();
  }
}

/** Whether `kept` holds the first `length` bytes of `bytes`. */
function sameBytes(kept: Uint8Array | undefined, bytes: Uint8Array, length: number): boolean {
  if (kept === undefined || kept.length !== length) return false;
  for (let i = 0; i < length; i++) if (kept[i] !== bytes[i]) return false;
  return true;
}

/**
 * @returns the process's resident memory in bytes (`Deno.memoryUsage().rss`, about 60 µs;
 *   reading `/proc/self/statm` instead needs `--allow-all` in Deno 2.9, which the service
 *   does not run with, so the look at memory never saw it grow)
 */
function residentBytes(): number {
  return Deno.memoryUsage().rss;
}
