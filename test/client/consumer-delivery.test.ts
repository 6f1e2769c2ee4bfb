// The consumer's side of the delivery extensions (src/client/channels/delivery.ts), against a
// scripted server: positions learnt and sent back on resubscription, duplicates dropped,
// reject_history -> resync, acknowledged performs (sent after the confirmation, re-sent while
// unanswered and after a reconnection, settled by ack/error/timeout, UNSUPPORTED without the
// extensions), presence state, and Rails' behaviour on a connection without the extensions.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  AckError,
  type ConsumerOptions,
  createConsumer,
  type PresenceChange,
  type ResyncInfo,
} from "../../src/client/index.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { FakeWebSocket } from "./helpers/fake-websocket.js";

const ROOM = JSON.stringify({ channel: "Room" });
const EXT = "actioncable-v1-ext-json";

function setup(options: ConsumerOptions = {}) {
  const clock = new FakeClock();
  clock.defaultRandom = 0;
  const consumer = createConsumer("ws://cable.test/cable", {
    WebSocket: FakeWebSocket,
    transports: ["websocket"],
    clock,
    environment: null,
    ...options,
  });
  const received: unknown[] = [];
  const resyncs: ResyncInfo[] = [];
  const changes: PresenceChange[] = [];
  const sub = consumer.subscriptions.create("Room", {
    received: (d: unknown) => received.push(d),
    resync: (r: ResyncInfo) => resyncs.push(r),
    presence: (c: PresenceChange) => changes.push(c),
  });
  return { clock, consumer, sub, received, resyncs, changes };
}

const commands = (ws: FakeWebSocket) => ws.sent.map((s) => JSON.parse(String(s)) as Record<string, unknown>);
const say = (ws: FakeWebSocket, msg: Record<string, unknown>) => ws.serverMessage(JSON.stringify(msg));

/** Open as a server with the extensions, welcome, confirm with `streams`. */
function accept(streams: Record<string, unknown> = {}, features = ["acks", "history", "presence"]): FakeWebSocket {
  const ws = FakeWebSocket.last;
  ws.serverOpen(EXT);
  say(ws, { type: "welcome", features });
  say(ws, { identifier: ROOM, type: "confirm_subscription", streams });
  return ws;
}

describe("consumer extensions: resumable streams", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("resubscribes with the last positions; drops duplicates; reject_history -> resync", () => {
    const { clock, consumer, received, resyncs } = setup();
    const ws = accept({ "room:1": { epoch: "e1", offset: 4 } });
    say(ws, { identifier: ROOM, message: { n: 5 }, stream_id: "room:1", epoch: "e1", offset: 5 });
    say(ws, { identifier: ROOM, message: { n: 5 }, stream_id: "room:1", epoch: "e1", offset: 5 }); // duplicate
    say(ws, { identifier: ROOM, message: { n: 6 }, stream_id: "room:1", epoch: "e1", offset: 6 });
    assert.deepEqual(received, [{ n: 5 }, { n: 6 }]);
    assert.deepEqual(consumer.position(ROOM, "room:1"), { epoch: "e1", offset: 6 });

    ws.serverClose(1006);
    clock.advance(10_000);
    const again = FakeWebSocket.last;
    assert.notEqual(again, ws);
    again.serverOpen(EXT);
    say(again, { type: "welcome", features: ["acks", "history"] });
    assert.deepEqual(commands(again)[0], {
      command: "subscribe",
      identifier: ROOM,
      history: { streams: { "room:1": { epoch: "e1", offset: 6 } } },
    });
    say(again, { identifier: ROOM, type: "confirm_subscription", streams: {} });
    say(again, { identifier: ROOM, message: { n: 6 }, stream_id: "room:1", epoch: "e1", offset: 6 }); // had it
    say(again, { identifier: ROOM, message: { n: 7 }, stream_id: "room:1", epoch: "e1", offset: 7 });
    say(again, { identifier: ROOM, type: "confirm_history" });
    assert.deepEqual(received, [{ n: 5 }, { n: 6 }, { n: 7 }]);
    assert.deepEqual(resyncs, []);

    const streams = { "room:1": { epoch: "e2", offset: 0, reason: "epoch" } };
    say(again, { identifier: ROOM, type: "reject_history", streams });
    assert.deepEqual(resyncs, [{ streams }]);
    assert.deepEqual(consumer.position(ROOM, "room:1"), { epoch: "e2", offset: 0 });
    assert.deepEqual(received.length, 3, "control messages are not data");
    consumer.disconnect();
  });

  it("without the extensions (a Rails server): Rails' protocol, no history sent", () => {
    const { consumer, received } = setup();
    const ws = FakeWebSocket.last;
    ws.serverOpen("actioncable-v1-json");
    say(ws, { type: "welcome" });
    assert.deepEqual(commands(ws), [{ command: "subscribe", identifier: ROOM }]);
    say(ws, { identifier: ROOM, type: "confirm_subscription" });
    // what @rails/actioncable does with a type it does not know: hand `message` to received
    say(ws, { identifier: ROOM, type: "presence", message: { type: "info" } });
    assert.deepEqual(received, [{ type: "info" }]);
    consumer.disconnect();
  });
});

describe("consumer extensions: acknowledged performs", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("sent after the confirmation with an id, resolved by its ack; errors reject with the code", async () => {
    const { consumer, sub } = setup();
    const pending = sub.perform("add", { a: 1 }, { ack: true });
    const failing = sub.perform("add", { a: 2 }, { ack: true });
    const ws = accept();
    const sent = commands(ws).filter((c) => c.command === "message");
    assert.equal(sent.length, 2);
    assert.deepEqual(JSON.parse(String(sent[0]!.data)), { a: 1, action: "add" });
    assert.match(String(sent[0]!.id), /^[a-z0-9]+-1$/);
    say(ws, { identifier: ROOM, type: "ack", id: sent[0]!.id, reply: { sum: 1 } });
    say(ws, { identifier: ROOM, type: "ack", id: sent[1]!.id, error: { code: "NOPE", message: "no" } });
    assert.deepEqual(await pending, { sum: 1 });
    await assert.rejects(failing, (e: unknown) => e instanceof AckError && e.code === "NOPE" && e.message === "no");
    consumer.disconnect();
  });

  it("re-sent while unanswered and after a reconnection; TIMEOUT at the end", async () => {
    const { clock, consumer, sub } = setup({ ackTimeout: 10_000, ackRetryInterval: 2000 });
    const ws = accept();
    const reply = sub.perform("slow", {}, { ack: true });
    const first = commands(ws).filter((c) => c.command === "message");
    assert.equal(first.length, 1);
    clock.advance(2000);
    const retried = commands(ws).filter((c) => c.command === "message");
    assert.equal(retried.length, 2);
    assert.equal(retried[1]!.id, first[0]!.id, "the same id: the server runs it once");
    ws.serverClose(1006);
    clock.advance(1000);
    const again = accept();
    const resent = commands(again).filter((c) => c.command === "message");
    assert.deepEqual(
      resent.map((c) => c.id),
      [first[0]!.id],
    );
    clock.advance(10_000);
    await assert.rejects(reply, (e: unknown) => e instanceof AckError && e.code === "TIMEOUT");
    consumer.disconnect();
  });

  it("UNSUPPORTED from a server without the extensions; CLOSED when unsubscribed", async () => {
    const { consumer, sub } = setup();
    const early = sub.perform("x", {}, { ack: true });
    const ws = FakeWebSocket.last;
    ws.serverOpen("actioncable-v1-json");
    say(ws, { type: "welcome" });
    await assert.rejects(early, (e: unknown) => e instanceof AckError && e.code === "UNSUPPORTED");
    await assert.rejects(
      sub.perform("x", {}, { ack: true }),
      (e: unknown) => e instanceof AckError && e.code === "UNSUPPORTED",
    );
    consumer.disconnect();

    FakeWebSocket.reset();
    const other = setup();
    const ext = accept();
    const waiting = other.sub.perform("x", {}, { ack: true });
    other.sub.unsubscribe();
    await assert.rejects(waiting, (e: unknown) => e instanceof AckError && e.code === "CLOSED");
    assert.ok(commands(ext).some((c) => c.command === "unsubscribe"));
    other.consumer.disconnect();
  });
});

describe("consumer extensions: presence", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("info sets the members, update applies joins and leaves", () => {
    const { consumer, sub, changes } = setup();
    const ws = accept();
    say(ws, {
      identifier: ROOM,
      type: "presence",
      message: {
        type: "info",
        total: 2,
        records: [
          { id: "a", info: { name: "A" } },
          { id: "b", info: null },
        ],
      },
    });
    say(ws, {
      identifier: ROOM,
      type: "presence",
      message: { type: "update", total: 2, joins: [{ id: "c", info: 3 }], leaves: [{ id: "a", info: { name: "A" } }] },
    });
    assert.deepEqual(
      changes.map((c) => [c.type, c.total, c.joins.map((j) => j.id), c.leaves.map((l) => l.id)]),
      [
        ["info", 2, ["a", "b"], []],
        ["update", 2, ["c"], ["a"]],
      ],
    );
    assert.deepEqual(
      [...sub.members],
      [
        ["b", null],
        ["c", 3],
      ],
    );
    consumer.disconnect();
  });
});
