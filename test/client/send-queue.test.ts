// The send queue: order, bounds, policies, results; send() after close(); exactly-once flush.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { type ClientOptions, ReconnectingWebSocket, type Sendable, SendQueue } from "../../src/client/index.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { FakeWebSocket } from "./helpers/fake-websocket.js";

function make(options: ClientOptions = {}) {
  const clock = new FakeClock();
  const client = new ReconnectingWebSocket("ws://example.test/", {
    WebSocket: FakeWebSocket,
    transports: ["websocket"],
    clock,
    environment: null,
    ...options,
  });
  const dropped: Sendable[][] = [];
  client.on("dropped", (e) => dropped.push([...e.messages]));
  return { client, clock, dropped };
}

describe("SendQueue", () => {
  it("is FIFO across many pushes and shifts", () => {
    const q = new SendQueue(5000, "reject");
    for (let i = 0; i < 3000; i++) assert.deepEqual(q.push(`m${i}`), { ok: true });
    for (let i = 0; i < 2000; i++) assert.equal(q.shift(), `m${i}`);
    for (let i = 3000; i < 4000; i++) q.push(`m${i}`);
    const rest: Sendable[] = [];
    for (let m = q.shift(); m !== undefined; m = q.shift()) rest.push(m);
    assert.deepEqual(
      rest,
      Array.from({ length: 2000 }, (_, i) => `m${i + 2000}`),
    );
    assert.equal(q.length, 0);
  });

  it("drop-oldest evicts, reject refuses, size 0 disables", () => {
    const a = new SendQueue(2, "drop-oldest");
    a.push("1");
    a.push("2");
    assert.deepEqual(a.push("3"), { ok: true, evicted: "1" });
    assert.deepEqual(a.clear(), ["2", "3"]);
    const b = new SendQueue(2, "reject");
    b.push("1");
    b.push("2");
    assert.deepEqual(b.push("3"), { ok: false });
    assert.deepEqual(b.clear(), ["1", "2"]);
    assert.deepEqual(new SendQueue(0, "drop-oldest").push("x"), { ok: false });
    assert.throws(() => new SendQueue(-1, "reject"), RangeError);
    assert.throws(() => new SendQueue(1, "nope" as "reject"), TypeError);
  });
});

describe("send()", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("queues while connecting and flushes in order on open, before the open listeners' sends", () => {
    const { client } = make();
    assert.equal(client.send("a"), "queued");
    assert.equal(client.send("b"), "queued");
    assert.equal(client.queued, 2);
    client.on("open", () => client.send("c"));
    FakeWebSocket.last.serverOpen();
    assert.deepEqual(FakeWebSocket.last.sent, ["a", "b", "c"]);
    assert.equal(client.queued, 0);
    assert.equal(client.send("d"), "sent");
  });

  it("queues while reconnecting; each queued message goes out exactly once", () => {
    const { client, clock } = make();
    const first = FakeWebSocket.last;
    first.serverOpen();
    assert.equal(client.send("1"), "sent");
    first.serverClose(1006);
    assert.equal(client.send("2"), "queued");
    assert.equal(client.send("3"), "queued");
    clock.advance(1000);
    const second = FakeWebSocket.last;
    assert.notEqual(second, first);
    second.serverClose(1006); // fails before open: the queue is kept
    clock.advance(2000);
    FakeWebSocket.last.serverOpen();
    assert.deepEqual(first.sent, ["1"]);
    assert.deepEqual(second.sent, []);
    assert.deepEqual(FakeWebSocket.last.sent, ["2", "3"]);
  });

  it("queues when the socket is already closing though its close event has not arrived", () => {
    const { client } = make();
    const ws = FakeWebSocket.last;
    ws.serverOpen();
    ws.readyState = 2;
    assert.equal(client.send("late"), "queued");
    assert.deepEqual(ws.sent, []);
  });

  it("drop-oldest: a full queue evicts the oldest and reports it", () => {
    const { client, dropped } = make({ queue: { size: 2, policy: "drop-oldest" } });
    assert.equal(client.send("1"), "queued");
    assert.equal(client.send("2"), "queued");
    assert.equal(client.send("3"), "queued");
    assert.deepEqual(dropped, [["1"]]);
    FakeWebSocket.last.serverOpen();
    assert.deepEqual(FakeWebSocket.last.sent, ["2", "3"]);
  });

  it('reject: a full queue refuses the new message with "dropped"', () => {
    const { client, dropped } = make({ queue: { size: 2, policy: "reject" } });
    client.send("1");
    client.send("2");
    assert.equal(client.send("3"), "dropped");
    assert.deepEqual(dropped, []);
    FakeWebSocket.last.serverOpen();
    assert.deepEqual(FakeWebSocket.last.sent, ["1", "2"]);
  });

  it('size 0: no queue, sends while disconnected are "dropped"', () => {
    const { client } = make({ queue: { size: 0 } });
    assert.equal(client.send("x"), "dropped");
    FakeWebSocket.last.serverOpen();
    assert.deepEqual(FakeWebSocket.last.sent, []);
  });

  it('after close(): "closed", nothing thrown, nothing sent; queued messages reported dropped', () => {
    const { client, clock, dropped } = make();
    client.send("pending");
    client.close();
    assert.deepEqual(dropped, [["pending"]]);
    assert.equal(client.send("after"), "closed");
    clock.advance(60_000);
    assert.equal(FakeWebSocket.instances.length, 1);
    assert.deepEqual(FakeWebSocket.last.sent, []);
  });

  it('after retries are exhausted: "closed" as well', () => {
    const { client } = make({ maxRetries: 0 });
    FakeWebSocket.last.serverClose(1006);
    assert.equal(client.send("x"), "closed");
  });

  it("a socket whose send throws: the message is queued, the error reported", () => {
    const { client } = make();
    const ws = FakeWebSocket.last;
    ws.serverOpen();
    const errors: string[] = [];
    client.on("error", (e) => errors.push(e.kind));
    ws.send = () => {
      throw new Error("broken");
    };
    assert.equal(client.send("m"), "queued");
    assert.deepEqual(errors, ["send"]);
  });
});
