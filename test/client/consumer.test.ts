// The ActionCable consumer against scripted sockets: subprotocols, welcome/ping/confirm/reject/
// disconnect, resubscribe after reconnect, retry of unconfirmed subscribes, perform ordering.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { type ConsumerOptions, createConsumer, createWebSocketURL } from "../../src/client/index.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { FakeWebSocket } from "./helpers/fake-websocket.js";

const CHAT = JSON.stringify({ channel: "ChatChannel", room: 1 });

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
  return { clock, consumer };
}

/** Open the current socket as an ActionCable server would. */
function serverAccepts(welcome = true): FakeWebSocket {
  const ws = FakeWebSocket.last;
  ws.serverOpen("actioncable-v1-json");
  if (welcome) ws.serverMessage(JSON.stringify({ type: "welcome" }));
  return ws;
}

const sentCommands = (ws: FakeWebSocket) => ws.sent.map((s) => JSON.parse(String(s)));

describe("channels consumer", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("connects lazily on the first subscription, offering the extensions, then actioncable-v1-json", () => {
    const { consumer } = setup();
    assert.equal(FakeWebSocket.instances.length, 0);
    consumer.subscriptions.create("ChatChannel");
    assert.equal(FakeWebSocket.instances.length, 1);
    assert.equal(FakeWebSocket.last.url, "ws://cable.test/cable");
    const offer = ["actioncable-v1-ext-json", "actioncable-v1-json", "actioncable-unsupported"];
    assert.deepEqual(FakeWebSocket.last.protocols, offer);
    consumer.disconnect();
    consumer.addSubProtocol("token.abc");
    consumer.connect();
    assert.deepEqual(FakeWebSocket.last.protocols, [...offer, "token.abc"]);
    consumer.disconnect();
  });

  it("with `extensions: false`, offers exactly what @rails/actioncable offers", () => {
    const consumer = createConsumer("ws://cable.test/cable", {
      WebSocket: FakeWebSocket,
      transports: ["websocket"],
      extensions: false,
    });
    consumer.subscriptions.create("ChatChannel");
    assert.deepEqual(FakeWebSocket.last.protocols, ["actioncable-v1-json", "actioncable-unsupported"]);
    consumer.disconnect();
  });

  it("subscribes after welcome, calls connected on confirmation, received for broadcasts", () => {
    const { consumer } = setup();
    const log: string[] = [];
    const sub = consumer.subscriptions.create(
      { channel: "ChatChannel", room: 1 },
      {
        initialized() {
          log.push("initialized");
        },
        connected(d) {
          log.push(`connected ${d.reconnected}`);
          this.perform("speak", { text: "hi" });
        },
        received(data) {
          log.push(`received ${JSON.stringify(data)}`);
        },
      },
    );
    assert.equal(sub.identifier, CHAT);
    const ws = serverAccepts(false);
    assert.deepEqual(ws.sent, [], "nothing before welcome");
    ws.serverMessage(JSON.stringify({ type: "welcome" }));
    assert.deepEqual(sentCommands(ws), [{ command: "subscribe", identifier: CHAT }]);
    ws.serverMessage(JSON.stringify({ type: "ping", message: 1700000000 }));
    ws.serverMessage(JSON.stringify({ identifier: CHAT, type: "confirm_subscription" }));
    ws.serverMessage(JSON.stringify({ identifier: CHAT, message: { text: "hello" } }));
    ws.serverMessage(JSON.stringify({ identifier: "other", message: { text: "not mine" } }));
    assert.deepEqual(log, ["initialized", "connected false", 'received {"text":"hello"}']);
    assert.deepEqual(sentCommands(ws)[1], {
      command: "message",
      identifier: CHAT,
      data: JSON.stringify({ text: "hi", action: "speak" }),
    });
    consumer.disconnect();
  });

  it("performs before confirmation wait and go out, in order, right after it", () => {
    const { consumer } = setup();
    const sub = consumer.subscriptions.create({ channel: "ChatChannel", room: 1 });
    assert.equal(sub.perform("a"), "queued");
    const ws = serverAccepts();
    assert.equal(sub.perform("b", { x: 1 }), "queued");
    ws.serverMessage(JSON.stringify({ identifier: CHAT, type: "confirm_subscription" }));
    assert.equal(sub.perform("c"), "sent");
    assert.deepEqual(
      sentCommands(ws)
        .slice(1)
        .map((c) => JSON.parse(c.data).action),
      ["a", "b", "c"],
    );
    consumer.disconnect();
  });

  it("re-sends an unconfirmed subscribe after subscribeRetryInterval, until confirmed", () => {
    const { consumer, clock } = setup({ subscribeRetryInterval: 500 });
    consumer.subscriptions.create({ channel: "ChatChannel", room: 1 });
    const ws = serverAccepts();
    clock.advance(499);
    assert.equal(ws.sent.length, 1);
    clock.advance(1);
    assert.equal(ws.sent.length, 2);
    clock.advance(500);
    assert.equal(ws.sent.length, 3);
    assert.deepEqual(new Set(sentCommands(ws).map((c) => c.command)), new Set(["subscribe"]));
    ws.serverMessage(JSON.stringify({ identifier: CHAT, type: "confirm_subscription" }));
    clock.advance(5000);
    assert.equal(ws.sent.length, 3, "no retry after confirmation");
    consumer.disconnect();
  });

  it("rejection: rejected() called, subscription removed, not resubscribed", () => {
    const { consumer, clock } = setup();
    let rejected = 0;
    const sub = consumer.subscriptions.create(
      { channel: "ChatChannel", room: 1 },
      {
        rejected() {
          rejected++;
        },
      },
    );
    const ws = serverAccepts();
    ws.serverMessage(JSON.stringify({ identifier: CHAT, type: "reject_subscription" }));
    assert.equal(rejected, 1);
    assert.equal(consumer.subscriptions.all.length, 0);
    assert.equal(sub.perform("x"), "closed");
    clock.advance(5000);
    assert.equal(ws.sent.length, 1, "no retry of a rejected subscription");
    consumer.disconnect();
  });

  it("resubscribes after a reconnect; disconnected and connected(reconnected) are called", () => {
    const { consumer, clock } = setup();
    const log: string[] = [];
    const sub = consumer.subscriptions.create(
      { channel: "ChatChannel", room: 1 },
      {
        connected(d) {
          log.push(`connected ${d.reconnected}`);
        },
        disconnected(d) {
          log.push(`disconnected ${d.willAttemptReconnect}`);
        },
      },
    );
    const first = serverAccepts();
    first.serverMessage(JSON.stringify({ identifier: CHAT, type: "confirm_subscription" }));
    first.serverClose(1006);
    assert.equal(sub.confirmed, false);
    assert.equal(sub.perform("while-down"), "queued");
    clock.advance(1000);
    const second = serverAccepts();
    assert.notEqual(second, first);
    assert.deepEqual(sentCommands(second), [{ command: "subscribe", identifier: CHAT }]);
    second.serverMessage(JSON.stringify({ identifier: CHAT, type: "confirm_subscription" }));
    assert.equal(JSON.parse(sentCommands(second)[1].data).action, "while-down");
    assert.deepEqual(log, ["connected false", "disconnected true", "connected true"]);
    consumer.disconnect();
    assert.deepEqual(log.at(-1), "disconnected false");
  });

  it("disconnect with reconnect: false stops for good", () => {
    const { consumer, clock } = setup();
    const log: string[] = [];
    consumer.subscriptions.create("ChatChannel", {
      disconnected(d) {
        log.push(`disconnected ${d.willAttemptReconnect}`);
      },
    });
    const ws = serverAccepts();
    ws.serverMessage(JSON.stringify({ type: "disconnect", reason: "unauthorized", reconnect: false }));
    assert.equal(consumer.client.state, "closed");
    assert.deepEqual(log, ["disconnected false"]);
    clock.advance(600_000);
    assert.equal(FakeWebSocket.instances.length, 1);
  });

  it("disconnect with reconnect: true (server_restart) reconnects after a jittered delay", () => {
    const { consumer, clock } = setup();
    clock.randoms = [0.7];
    consumer.subscriptions.create("ChatChannel");
    const delays: number[] = [];
    consumer.client.on("reconnecting", (e) => delays.push(e.delay));
    const ws = serverAccepts();
    ws.serverMessage(JSON.stringify({ type: "disconnect", reason: "server_restart", reconnect: true }));
    assert.equal(consumer.client.state, "reconnecting");
    assert.deepEqual(delays, [700]);
    clock.advance(700);
    assert.equal(FakeWebSocket.instances.length, 2);
    consumer.disconnect();
  });

  it("a server that does not pick actioncable-v1-json is left for good", () => {
    const { consumer, clock } = setup();
    consumer.subscriptions.create("ChatChannel");
    FakeWebSocket.last.serverOpen("");
    assert.equal(consumer.client.state, "closed");
    clock.advance(600_000);
    assert.equal(FakeWebSocket.instances.length, 1);
  });

  it("missed pings: the connection is stale after 6 s and reopened", () => {
    const { consumer, clock } = setup();
    consumer.subscriptions.create("ChatChannel");
    const ws = serverAccepts();
    for (let i = 0; i < 4; i++) {
      clock.advance(3000);
      ws.serverMessage(JSON.stringify({ type: "ping", message: i }));
    }
    assert.equal(consumer.client.state, "open");
    clock.advance(5999);
    assert.equal(consumer.client.state, "open");
    clock.advance(1); // stale, then the retry (jitter 0) fires at once
    assert.equal(ws.closeCalls.length, 1, "the stale socket is closed");
    assert.equal(FakeWebSocket.instances.length, 2);
    assert.equal(consumer.client.state, "connecting");
    consumer.disconnect();
  });

  it("unsubscribe sends the command once no subscription shares the identifier", () => {
    const { consumer } = setup();
    const a = consumer.subscriptions.create({ channel: "ChatChannel", room: 1 });
    const b = consumer.subscriptions.create({ channel: "ChatChannel", room: 1 });
    const ws = serverAccepts();
    assert.equal(sentCommands(ws).length, 1, "one subscribe per identifier");
    ws.serverMessage(JSON.stringify({ identifier: CHAT, type: "confirm_subscription" }));
    assert.ok(a.confirmed && b.confirmed);
    a.unsubscribe();
    assert.equal(sentCommands(ws).length, 1);
    b.unsubscribe();
    assert.deepEqual(sentCommands(ws)[1], { command: "unsubscribe", identifier: CHAT });
    assert.equal(b.perform("x"), "closed");
    const c = consumer.subscriptions.create({ channel: "ChatChannel", room: 1 });
    assert.deepEqual(sentCommands(ws)[2], { command: "subscribe", identifier: CHAT });
    assert.equal(c.confirmed, false);
    consumer.disconnect();
  });

  it("a throwing callback is reported and does not stop other subscriptions", () => {
    const { consumer } = setup();
    const errors: string[] = [];
    consumer.client.on("error", (e) => errors.push(`${e.kind} ${e.error.message}`));
    let other = 0;
    consumer.subscriptions.create("A", {
      received() {
        throw new Error("bug in A");
      },
    });
    consumer.subscriptions.create("A", {
      received() {
        other++;
      },
    });
    const ws = serverAccepts();
    ws.serverMessage(JSON.stringify({ identifier: JSON.stringify({ channel: "A" }), message: 1 }));
    assert.equal(other, 1);
    assert.deepEqual(errors, ["listener bug in A"]);
    consumer.disconnect();
  });

  it("an async URL provider (fresh token per attempt)", async () => {
    const clock = new FakeClock();
    let n = 0;
    const consumer = createConsumer(async () => `ws://cable.test/cable?token=${++n}`, {
      WebSocket: FakeWebSocket,
      transports: ["websocket"],
      clock,
      environment: null,
    });
    consumer.connect();
    await new Promise((r) => setImmediate(r));
    assert.equal(FakeWebSocket.last.url, "ws://cable.test/cable?token=1");
    consumer.disconnect();
  });
});

describe("createWebSocketURL", () => {
  it("turns http(s) into ws(s) and keeps ws(s)", () => {
    assert.equal(createWebSocketURL("https://example.test/cable"), "wss://example.test/cable");
    assert.equal(createWebSocketURL("http://example.test/cable?x=1"), "ws://example.test/cable?x=1");
    assert.equal(createWebSocketURL("ws://example.test/cable"), "ws://example.test/cable");
  });
});

describe("channels consumer after disconnect()", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("performs are refused while disconnected; a new subscription reconnects (as @rails/actioncable)", () => {
    const { consumer } = setup();
    const a = consumer.subscriptions.create("A");
    serverAccepts();
    consumer.disconnect();
    assert.equal(a.perform("x"), "closed");
    consumer.subscriptions.create("B");
    assert.equal(FakeWebSocket.instances.length, 2);
    const ws = serverAccepts();
    assert.deepEqual(
      sentCommands(ws).map((c) => JSON.parse(c.identifier).channel),
      ["A", "B"],
      "both resubscribed",
    );
    consumer.disconnect();
  });
});
