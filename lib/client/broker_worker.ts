/**
 * The broker's worker: runs the {@linkcode BrokerLoop} on its own thread (a blocking
 * `zmq_poll` loop) over the two sockets the main thread made and bound, until the
 * context is shut down; then closes them and reports what it counted.
 *
 * @module
 */

import { serveWorker, type Update, type WorkerPort } from "../worker/mod.ts";
import { Libzmq, ZmqSocket } from "../zmq/mod.ts";
import { BrokerLoop, type BrokerTally } from "./broker_loop.ts";

/** The message that starts the broker's worker. */
export interface BrokerSetup {
  /** The libzmq the main thread loaded. */
  libzmqPath: string;
  /** The front end's ROUTER ({@linkcode ZmqSocket.address}), handed over. */
  frontendAddress: bigint;
  /** The back end's DEALER, handed over. */
  backendAddress: bigint;
  /** The largest frame passed on to an instance. */
  maxRequestBytes: number;
}

/**
 * Forwards until the context is shut down, then closes both sockets and emits the tally.
 *
 * @param setup what the main thread sent first
 * @param port the channel to the main thread
 */
export function serveBroker(
  setup: BrokerSetup,
  port: WorkerPort<Update, BrokerTally>,
): Promise<void> {
  const lib = Libzmq.open(setup.libzmqPath);
  const frontend = ZmqSocket.adopt(lib, setup.frontendAddress);
  const backend = ZmqSocket.adopt(lib, setup.backendAddress);
  try {
    const loop = new BrokerLoop({ lib, frontend, backend, maxRequestBytes: setup.maxRequestBytes });
    port.ready();
    loop.run();
    port.emit(loop.tally);
  } finally {
    frontend.close();
    backend.close();
  }
  return Promise.resolve();
}

serveWorker(serveBroker);
