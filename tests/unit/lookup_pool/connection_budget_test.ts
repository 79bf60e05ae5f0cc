import assert from "node:assert/strict";
import {
  ConnectionBudget,
  MAX_IN_POOL_PER_CONNECTION,
} from "../../../lib/lookup_pool/connection_budget.ts";
import {
  MonitorEvent,
  type MonitorEventRecord,
  openLibzmq,
  type SocketMonitor,
} from "../../../lib/zmq/mod.ts";

const LIB = openLibzmq(undefined);
const ENDPOINT = "tcp://127.0.0.1:5555";

/**
 * A ROUTER's monitor as the budget reads it, fed by the test. The descriptors it reports
 * are not sockets: the kernel's counters (asked only when a reply may not fit) answer
 * nothing for them.
 */
class Monitor {
  readonly lib = LIB;
  readonly events: MonitorEventRecord[] = [];

  accepted(fd: number): void {
    this.events.push({ event: MonitorEvent.ACCEPTED, value: fd, address: ENDPOINT });
  }

  closed(fd: number): void {
    this.events.push({ event: MonitorEvent.CLOSED, value: fd, address: ENDPOINT });
  }

  next(): MonitorEventRecord | null {
    return this.events.shift() ?? null;
  }

  close(): void {}
}

function budgetOn(monitor: Monitor, maxOutboundBytes = 1000): ConnectionBudget {
  return new ConnectionBudget({
    monitor: monitor as unknown as SocketMonitor,
    maxInboundBytes: 1_000_000,
    maxOutboundBytes,
  });
}

const ID = new Uint8Array([0, 1, 2, 3, 4]);
const OTHER_ID = new Uint8Array([0, 9, 9, 9, 9]);

Deno.test("ConnectionBudget watches a connection from its accept and forgets it at its close", () => {
  const monitor = new Monitor();
  const budget = budgetOn(monitor);
  monitor.accepted(40);
  budget.arrived(40, ID, ID.length);
  assert.equal(budget.watched, 1);
  assert.equal(budget.took(40, 120, 3), true);
  monitor.closed(40);
  budget.arrived(41, ID, ID.length); // any news is taken when a new connection shows
  assert.equal(budget.watched, 1, "40 is gone, 41 is met");
  assert.equal(budget.cuts, 0);
});

Deno.test("ConnectionBudget counts the replies a peer has not read", () => {
  const monitor = new Monitor();
  const budget = budgetOn(monitor, 1000);
  monitor.accepted(40);
  budget.arrived(40, ID, ID.length);
  budget.sent(40, 300);
  budget.sent(40, 400);
  assert.equal(budget.unreadBytes(40), 700);
  assert.equal(budget.mayReply(40, 300), true, "700 + 300 fits a budget of 1000");
  assert.equal(budget.unreadBytes(99), 0, "a connection not watched has nothing unread");
  assert.equal(budget.maxOutboundBytes, 1000);
});

Deno.test("ConnectionBudget lets every reply go without an outbound budget", () => {
  const monitor = new Monitor();
  const budget = budgetOn(monitor, 0);
  monitor.accepted(40);
  budget.arrived(40, ID, ID.length);
  budget.sent(40, 10_000_000);
  assert.equal(budget.mayReply(40, 10_000_000), true);
});

Deno.test("ConnectionBudget holds one connection to its share of the pool", () => {
  const monitor = new Monitor();
  const budget = budgetOn(monitor);
  monitor.accepted(40);
  budget.arrived(40, ID, ID.length);
  for (let i = 0; i < MAX_IN_POOL_PER_CONNECTION; i++) {
    assert.equal(budget.mayQueue(40), true, `request ${i}`);
    budget.queued(40);
  }
  assert.equal(budget.mayQueue(40), false, "the pool holds 64 of its requests");
  budget.dequeued(40);
  assert.equal(budget.mayQueue(40), true, "one came back");
  assert.equal(budget.mayQueue(41), true, "another connection has its own share");
});

Deno.test("ConnectionBudget asks a peer's address once, and only of accepted connections", () => {
  const monitor = new Monitor();
  const budget = budgetOn(monitor);
  monitor.accepted(40);
  budget.arrived(40, ID, ID.length);
  let asked = 0;
  const ask = () => {
    asked++;
    return "192.0.2.7";
  };
  assert.equal(budget.peerAddress(40, ask), "192.0.2.7");
  assert.equal(budget.peerAddress(40, ask), "192.0.2.7");
  assert.equal(asked, 1);
  budget.arrived(50, ID, ID.length); // met in a message, never accepted: a broker's
  assert.equal(budget.peerAddress(50, ask), undefined);
  assert.equal(asked, 1);
});

Deno.test("ConnectionBudget starts afresh when a descriptor is reused by a new connection", () => {
  const monitor = new Monitor();
  const budget = budgetOn(monitor);
  monitor.accepted(40);
  budget.arrived(40, ID, ID.length);
  budget.sent(40, 500);
  assert.equal(budget.peerAddress(40, () => "192.0.2.7"), "192.0.2.7");
  monitor.closed(40);
  monitor.accepted(40);
  budget.arrived(40, OTHER_ID, OTHER_ID.length);
  assert.equal(budget.unreadBytes(40), 0, "nothing of the old connection is charged");
  assert.equal(budget.peerAddress(40, () => "198.51.100.9"), "198.51.100.9");
});
