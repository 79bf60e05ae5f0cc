/**
 * libzmq's numbers, as in `zmq.h`: socket types, options, flags and error numbers.
 *
 * @module
 */

/** Socket types, as in `zmq.h`. */
export const SocketType = {
  PAIR: 0,
  REQ: 3,
  REP: 4,
  DEALER: 5,
  ROUTER: 6,
} as const;

/** A socket type value of {@linkcode SocketType}. */
export type SocketType = typeof SocketType[keyof typeof SocketType];

/** Integer socket options, as in `zmq.h`. */
export const SocketOption = {
  AFFINITY: 4,
  /** `ZMQ_RCVBUF`: the kernel's receive buffer for the socket's connections, bytes. */
  RCVBUF: 12,
  RCVMORE: 13,
  TYPE: 16,
  LINGER: 17,
  RECONNECT_IVL: 18,
  BACKLOG: 19,
  MAXMSGSIZE: 22,
  SNDHWM: 23,
  RCVHWM: 24,
  RCVTIMEO: 27,
  SNDTIMEO: 28,
  ROUTER_MANDATORY: 33,
  IMMEDIATE: 39,
  IPV6: 42,
  CURVE_SERVER: 47,
  HANDSHAKE_IVL: 66,
  /**
   * `ZMQ_ZAP_ENFORCE_DOMAIN` (draft API: libzmq builds without it refuse it with
   * `EINVAL`): with it, a handshake fails when no ZAP handler answers, instead of
   * letting every client in.
   */
  ZAP_ENFORCE_DOMAIN: 93,
} as const;

/** Byte-string socket options, as in `zmq.h`. */
export const SocketBytesOption = {
  ROUTING_ID: 5,
  LAST_ENDPOINT: 32,
  CURVE_PUBLICKEY: 48,
  CURVE_SECRETKEY: 49,
  CURVE_SERVERKEY: 50,
  ZAP_DOMAIN: 55,
} as const;

/** Flags for send and receive. */
export const ZMQ_DONTWAIT = 1;
/** Flag for send: more frames of the same message follow. */
export const ZMQ_SNDMORE = 2;

const HAUSNUMERO = 156384712;
/** Error numbers a caller is expected to test for. */
export const Errno = {
  EINTR: 4,
  EAGAIN: 11,
  EINVAL: 22,
  EFSM: HAUSNUMERO + 51,
  ENOCOMPATPROTO: HAUSNUMERO + 52,
  ETERM: HAUSNUMERO + 53,
  EHOSTUNREACH: 113,
} as const;

/** `zmq_msg_get` property: the descriptor of the connection a frame came through. */
export const ZMQ_SRCFD = 2;

/** The size of a `zmq_msg_t`. */
export const ZMQ_MSG_T_SIZE = 64;

/** Poll for incoming messages (`ZMQ_POLLIN`). */
export const ZMQ_POLLIN = 1;
/** Poll for room to send (`ZMQ_POLLOUT`). */
export const ZMQ_POLLOUT = 2;

/** Socket monitor events (`zmq_socket_monitor`), as in `zmq.h`. */
export const MonitorEvent = {
  /** A connecting socket's connection is up; the value is its file descriptor. */
  CONNECTED: 0x0001,
  /** A connecting socket will try again after the interval in the value (ms). */
  CONNECT_RETRIED: 0x0004,
  /** A bound socket accepted a connection; the value is its file descriptor. */
  ACCEPTED: 0x0020,
  /** A connection's descriptor was closed; the value is the descriptor. */
  CLOSED: 0x0080,
  /** A connection ended; the value is its file descriptor. */
  DISCONNECTED: 0x0200,
} as const;
