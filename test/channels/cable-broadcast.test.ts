import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { createBroadcaster } from "../../src/channels/broadcaster.js";
import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { sleep } from "../helpers/time.js";
import { chatId, events, makeCore } from "./channels-fixture.js";
import { flush, performCmd, subscribeCmd } from "./fakes.js";

beforeEach(() => {
  events.length = 0;
});

describe("broadcasting and streams", () => {
  it("frames once per (broadcast, identifier) and shares the frame between sockets", async () => {
    const { connect, core } = makeCore();
    const a = await connect();
    const b = await connect();
    const c = await connect();
    a.connection.receive(subscribeCmd(chatId("1")));
    b.connection.receive(subscribeCmd(chatId("1")));
    // same stream, another identifier (key order differs): needs its own frame
    const other = JSON.stringify({ room: "1", channel: "ChatChannel" });
    c.connection.receive(subscribeCmd(other));
    await flush();
    await core.broadcast("chat_1", { text: "hello" });
    assert.equal(core.hub.framesPrepared, 2);
    assert.equal(core.hub.deliveries, 3);
    const frameA = a.transport.sent.at(-1);
    assert.equal(frameA, b.transport.sent.at(-1), "the very same prepared frame");
    assert.notEqual(frameA, c.transport.sent.at(-1));
    assert.deepEqual(a.transport.replies.at(-1), { identifier: chatId("1"), message: { text: "hello" } });
    assert.deepEqual(c.transport.replies.at(-1), { identifier: other, message: { text: "hello" } });
    await core.broadcast("chat_1", { text: "again" });
    assert.equal(core.hub.framesPrepared, 4, "the cache lives for one broadcast");
  });

  it("stream names match exactly (no prefix match, Faye CVE-2020-11020)", async () => {
    const { connect, core } = makeCore();
    const a = await connect();
    a.connection.receive(subscribeCmd(chatId("1")));
    await flush();
    const before = a.transport.sent.length;
    for (const stream of ["chat_10", "chat_", "chat", "chat_1 ", "CHAT_1", "chat_*"]) await core.broadcast(stream, 1);
    assert.equal(a.transport.sent.length, before);
    await core.broadcast("chat_1", 1);
    assert.equal(a.transport.sent.length, before + 1);
  });

  it("an action can broadcast to its room, identity attached", async () => {
    const { connect } = makeCore({ authenticate: () => ({ name: "ann" }) });
    const a = await connect();
    const b = await connect();
    a.connection.receive(subscribeCmd(chatId("1")));
    b.connection.receive(subscribeCmd(chatId("1")));
    await flush();
    a.connection.receive(performCmd(chatId("1"), { action: "speak", text: "hi" }));
    await flush();
    for (const { transport } of [a, b]) {
      assert.deepEqual(transport.replies.at(-1), { identifier: chatId("1"), message: { text: "hi", user: "ann" } });
    }
  });

  it("streamFor and broadcastTo name model streams like Rails (channel:gid_param)", async () => {
    const { connect, core } = makeCore();
    const a = await connect();
    const id = JSON.stringify({ channel: "PostChannel", id: 7 });
    a.connection.receive(subscribeCmd(id));
    await flush();
    assert.equal(core.hub.listenerCount(`post:${Buffer.from("gid://app/Post/7").toString("base64url")}`), 1);
    await core.broadcastTo("PostChannel", { toGlobalId: () => "gid://app/Post/7" }, { title: "x" });
    assert.deepEqual(a.transport.replies.at(-1), { identifier: id, message: { title: "x" } });
  });

  it("a stream callback gets the decoded message instead of the default relay", async () => {
    const { connect, core } = makeCore();
    const a = await connect();
    const id = '{"channel":"ObjectChannel"}';
    a.connection.receive(subscribeCmd(id));
    await flush();
    await core.broadcast("objects", { n: 1 });
    assert.deepEqual(a.transport.replies.at(-1), { identifier: id, message: { relayed: { n: 1 } } });
  });

  it("a process with no sockets broadcasts through the shared broker", async () => {
    const broker = new MemoryBroker();
    const one = makeCore({ broker });
    const two = makeCore({ broker });
    const a = await one.connect();
    const b = await two.connect();
    a.connection.receive(subscribeCmd(chatId("1")));
    b.connection.receive(subscribeCmd(chatId("1")));
    await flush();
    const broadcaster = createBroadcaster({ broker });
    await broadcaster.broadcast("chat_1", { from: "worker" });
    for (const { transport } of [a, b]) {
      assert.deepEqual(transport.replies.at(-1), { identifier: chatId("1"), message: { from: "worker" } });
    }
  });

  it("a broker payload that is not JSON is dropped and reported, never spliced", async () => {
    const broker = new MemoryBroker();
    const { connect, errors } = makeCore({ broker });
    const a = await connect();
    a.connection.receive(subscribeCmd(chatId("1")));
    await flush();
    const before = a.transport.sent.length;
    await broker.publish("chat_1", '{"x":1}, "identifier": "forged"');
    assert.equal(a.transport.sent.length, before);
    assert.equal(errors[0].code, "BROKER_ERROR");
  });

  it("unsubscribing the last listener releases the broker subscription", async () => {
    const { connect, core } = makeCore();
    const a = await connect();
    const b = await connect();
    a.connection.receive(subscribeCmd(chatId("1")));
    b.connection.receive(subscribeCmd(chatId("1")));
    await flush();
    await a.connection.closed();
    assert.equal(core.hub.listenerCount("chat_1"), 1);
    await b.connection.closed();
    assert.equal(core.hub.streamCount, 0);
  });
});

describe("heartbeat", () => {
  it("ping() sends one shared frame with unix seconds to every open connection", async () => {
    const { connect, core } = makeCore();
    const a = await connect();
    const b = await connect();
    core.ping(1_700_000_000_999);
    assert.equal(a.transport.sent.at(-1), b.transport.sent.at(-1));
    assert.deepEqual(a.transport.messages.at(-1), { type: "ping", message: 1_700_000_000 });
  });

  it("one timer pings every interval while connections are open, and stops with them", async () => {
    const { connect, core } = makeCore({ pingInterval: 20 });
    const a = await connect();
    const started = Date.now();
    const pings = () => a.transport.messages.filter((m) => m.type === "ping").length;
    while (pings() < 3 && Date.now() - started < 3000) await sleep(10);
    assert.ok(pings() >= 3, "pings keep coming");
    assert.ok(pings() <= (Date.now() - started) / 20 + 1, "never more than one per interval");
    await a.connection.closed();
    const after = a.transport.sent.length;
    await sleep(60);
    assert.equal(a.transport.sent.length, after);
    await core.shutdown();
  });
});

describe("broker failures inside channels", () => {
  it("a broadcast from an action never rejects when the broker fails: reported instead", async () => {
    const broker = new MemoryBroker();
    const { connect, errors } = makeCore({ broker });
    const a = await connect();
    a.connection.receive(subscribeCmd(chatId("1")));
    await flush();
    broker.publish = () => Promise.reject(new Error("redis down"));
    a.connection.receive(performCmd(chatId("1"), { action: "speak", text: "lost" })); // speak does `void this.broadcast(…)`
    await flush();
    assert.deepEqual(
      errors.map((e) => e.code),
      ["BROKER_UNAVAILABLE"],
    );
  });
});
