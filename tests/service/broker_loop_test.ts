import assert from "node:assert/strict";
import { BrokerLoop } from "../../lib/client/mod.ts";
import {
  openLibzmq,
  SocketOption,
  SocketType,
  ZmqContext,
  type ZmqSocket,
} from "../../lib/zmq/mod.ts";

const decoder = new TextDecoder();

/** A broker loop over inproc sockets, stepped by hand, with a client and an instance. */
async function withLoop(
  body: (parts: {
    loop: BrokerLoop;
    client: ZmqSocket;
    connectInstance: () => ZmqSocket;
  }) => void,
): Promise<void> {
  const lib = openLibzmq(undefined);
  const context = ZmqContext.create(lib);
  const id = crypto.randomUUID();
  const sockets: ZmqSocket[] = [];
  const make = (type: SocketType) => {
    const socket = context.socket(type);
    socket.setOption(SocketOption.LINGER, 0);
    socket.setOption(SocketOption.RCVTIMEO, 2000);
    sockets.push(socket);
    return socket;
  };
  const frontend = make(SocketType.ROUTER);
  const backend = make(SocketType.DEALER);
  frontend.bind(`inproc://front-${id}`);
  backend.bind(`inproc://back-${id}`);
  const client = make(SocketType.DEALER);
  client.connect(`inproc://front-${id}`);
  const connectInstance = () => {
    const instance = make(SocketType.ROUTER);
    instance.connect(`inproc://back-${id}`);
    return instance;
  };
  try {
    body({
      loop: new BrokerLoop({ lib, frontend, backend, maxRequestBytes: 100 }),
      client,
      connectInstance,
    });
  } finally {
    for (const socket of sockets) socket.close();
    await context.terminate();
  }
}

function text(frames: Uint8Array[] | null): string[] {
  assert.ok(frames !== null);
  return frames.map((frame) => decoder.decode(frame));
}

Deno.test("the broker loop holds a request until an instance is there, and passes the reply back", async () => {
  await withLoop(({ loop, client, connectInstance }) => {
    client.send(["", "ping"]);
    loop.step(100); // no instance: the request is held, not lost
    assert.equal(loop.tally.forwarded, 0);
    const instance = connectInstance();
    for (let i = 0; i < 10 && loop.tally.forwarded === 0; i++) loop.step(100);
    const request = instance.receive()!;
    // [instance's id for the broker, broker's id for the client, "", "ping"]
    assert.deepEqual(text(request.slice(2)), ["", "ping"]);
    instance.send([request[0]!, request[1]!, "", "pong"]);
    loop.step(1000);
    assert.deepEqual(text(client.receive()), ["", "pong"]);
    assert.deepEqual(loop.tally, { forwarded: 1, refused: 0, dropped: 0 });
  });
});

Deno.test("the broker loop answers ERROR, or drops what it cannot answer, and forwards none of it", async () => {
  await withLoop(({ loop, client, connectInstance }) => {
    const instance = connectInstance();
    instance.setOption(SocketOption.RCVTIMEO, 0);
    const ask = (frames: string[]) => {
      client.send(frames);
      loop.step(1000);
    };
    ask(["", "x".repeat(101)]);
    assert.deepEqual(text(client.receive()), ["", "ERROR\trequest larger than 100 bytes"]);
    ask(["x".repeat(101)]); // a DEALER without delimiter gets the reply without one
    assert.deepEqual(text(client.receive()), ["ERROR\trequest larger than 100 bytes"]);
    ask(["", "x".repeat(101), "ping"]);
    assert.deepEqual(text(client.receive()), [
      "",
      "ERROR\ta frame of 101 bytes, over the limit of 100",
    ]);
    ask(["", ...Array.from({ length: 18 }, () => "ping")]);
    assert.deepEqual(text(client.receive()), ["", "ERROR\tmore than 18 frames"]);
    // An oversized frame before the delimiter cannot be sent back as an envelope.
    ask(["y".repeat(300), "", "z".repeat(101)]);
    assert.deepEqual(loop.tally, { forwarded: 0, refused: 4, dropped: 1 });
    assert.throws(() => instance.receive(), "nothing reached the instance");
    // 18 frames are allowed: 16 envelope frames, the delimiter, the request.
    ask([...Array.from({ length: 16 }, () => "e"), "", "ping"]);
    assert.equal(loop.tally.forwarded, 1);
  });
});
