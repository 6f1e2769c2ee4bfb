import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { UnauthorizedError } from "../../src/cable/errors.js";
import { chatId, events, makeCore } from "./channels-fixture.js";
import { flush, performCmd, subscribeCmd, unsubscribeCmd } from "./fakes.js";

beforeEach(() => {
  events.length = 0;
});

describe("connection and identification", () => {
  it("welcomes a connection", async () => {
    const { connect } = makeCore();
    const { transport } = await connect();
    assert.deepEqual(transport.texts, ['{"type":"welcome"}']);
  });

  it("authenticate's result is the identity; commands sent meanwhile are buffered, then run", async () => {
    let release!: (v: unknown) => void;
    const { core } = makeCore({ authenticate: () => new Promise((r) => (release = r)) });
    const { FakeTransport } = await import("./fakes.js");
    const transport = new FakeTransport();
    const connection = core.accept(transport, { headers: { cookie: "u=ann" } });
    connection.receive(subscribeCmd(chatId("1")));
    connection.receive(performCmd(chatId("1"), { action: "whoami" }));
    await flush();
    assert.deepEqual(transport.texts, []);
    release({ name: "ann" });
    await flush();
    assert.deepEqual(transport.messages, [
      { type: "welcome" },
      { identifier: chatId("1"), type: "confirm_subscription" },
      { identifier: chatId("1"), message: { identity: { name: "ann" } } },
    ]);
  });

  it("an UnauthorizedError refuses: disconnect unauthorized without reconnect, then close", async () => {
    const { connect, errors } = makeCore({
      authenticate: () => {
        throw new UnauthorizedError();
      },
    });
    const { transport, connection } = await connect();
    assert.deepEqual(transport.texts, ['{"type":"disconnect","reason":"unauthorized","reconnect":false}']);
    assert.deepEqual(transport.closedWith, { code: 1000, reason: "" });
    connection.receive(subscribeCmd(chatId("1")));
    await flush();
    assert.equal(transport.sent.length, 1, "nothing handled after the refusal");
    assert.deepEqual(errors, []);
  });

  it("any other authenticate failure also refuses, and is reported", async () => {
    const { connect, errors } = makeCore({ authenticate: async () => Promise.reject(new Error("db down")) });
    const { transport } = await connect();
    assert.equal(transport.messages[0].reason, "unauthorized");
    assert.equal(errors[0].code, "AUTHENTICATION_ERROR");
  });
});

describe("subscribe", () => {
  it("confirms, echoing the identifier byte for byte", async () => {
    const { connect } = makeCore();
    const { transport, connection } = await connect();
    const id = '{ "room" : "é\\u2028", "channel":"ChatChannel" }';
    connection.receive(subscribeCmd(id));
    await flush();
    assert.deepEqual(transport.replies, [{ identifier: id, type: "confirm_subscription" }]);
    assert.ok(transport.texts[1].includes(JSON.stringify(id)));
    assert.deepEqual(events, ["subscribed:é\u2028"]);
  });

  it("rejects an unknown channel, including Object.prototype names", async () => {
    const { connect, errors } = makeCore();
    const { transport, connection } = await connect();
    for (const channel of ["NopeChannel", "constructor", "__proto__", "toString", "hasOwnProperty"]) {
      connection.receive(subscribeCmd(JSON.stringify({ channel })));
    }
    await flush();
    assert.deepEqual(
      transport.replies.map((m) => m.type),
      Array(5).fill("reject_subscription"),
    );
    assert.deepEqual(
      errors.map((e) => e.code),
      Array(5).fill("CHANNEL_NOT_FOUND"),
    );
  });

  it("reject() in subscribed: reject_subscription, unsubscribed runs, no stream left", async () => {
    const { connect, core } = makeCore();
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("secret")));
    await flush();
    assert.deepEqual(transport.replies, [{ identifier: chatId("secret"), type: "reject_subscription" }]);
    assert.deepEqual(events, ["subscribed:secret", "unsubscribed:secret"]);
    assert.equal(core.hub.streamCount, 0);
    assert.deepEqual(connection.identifiers, []);
  });

  it("a duplicate subscribe is ignored and reported (Rails: AlreadySubscribedError)", async () => {
    const { connect, errors } = makeCore();
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    connection.receive(subscribeCmd(chatId("1")));
    await flush();
    assert.equal(transport.replies.length, 1);
    assert.deepEqual(events, ["subscribed:1"]);
    assert.deepEqual(
      errors.map((e) => e.code),
      ["ALREADY_SUBSCRIBED"],
    );
  });

  it("the same channel with other params is another subscription", async () => {
    const { connect } = makeCore();
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    connection.receive(subscribeCmd(chatId("2")));
    await flush();
    assert.equal(transport.replies.filter((m) => m.type === "confirm_subscription").length, 2);
  });

  it("params validation: refused params reject; accepted ones may be transformed", async () => {
    const { connect, errors } = makeCore();
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(JSON.stringify({ channel: "PostChannel", id: "1; DROP" })));
    connection.receive(subscribeCmd(JSON.stringify({ channel: "PostChannel", id: 5 })));
    await flush();
    assert.deepEqual(
      transport.replies.map((m) => m.type),
      ["reject_subscription", "confirm_subscription"],
    );
    assert.equal(errors[0].code, "INVALID_PARAMS");
    assert.deepEqual(events, ['post:{"channel":"PostChannel","id":5,"checked":true}']);
  });

  it("subscribed throwing: reported, and the client gets a rejection", async () => {
    const { connect, errors } = makeCore();
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd('{"channel":"BrokenChannel"}'));
    await flush();
    assert.deepEqual(
      transport.replies.map((m) => m.type),
      ["reject_subscription"],
    );
    assert.equal(errors[0].code, "HANDLER_ERROR");
  });
});

describe("message (perform)", () => {
  it("dispatches on `action` with the whole data, and falls back to receive", async () => {
    const { connect } = makeCore();
    const { connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    connection.receive(performCmd(chatId("1"), { action: "speak", text: "hi" }));
    connection.receive(performCmd(chatId("1"), { text: "no action" }));
    connection.receive(performCmd(chatId("1"), { action: "", text: "empty action" }));
    await flush();
    assert.deepEqual(events, [
      "subscribed:1",
      'speak:{"action":"speak","text":"hi"}',
      'receive:{"text":"no action"}',
      'receive:{"action":"","text":"empty action"}',
    ]);
  });

  it("only the channel's own public methods are actions", async () => {
    const { connect, errors } = makeCore();
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    const notActions = [
      "_hidden",
      "subscribed",
      "unsubscribed",
      "transmit",
      "streamFrom",
      "reject",
      "broadcast",
      "constructor",
      "toString",
      "__proto__",
      "nope",
    ];
    for (const action of notActions) connection.receive(performCmd(chatId("1"), { action }));
    await flush();
    assert.deepEqual(
      errors.map((e) => e.code),
      Array(notActions.length).fill("ACTION_NOT_FOUND"),
    );
    assert.deepEqual(events, ["subscribed:1"]);
    assert.equal(transport.replies.length, 1);
  });

  it("transmit sends {identifier, message} to this subscriber", async () => {
    const { connect } = makeCore();
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    connection.receive(performCmd(chatId("1"), { action: "echo", value: [1, "two"] }));
    await flush();
    assert.deepEqual(transport.replies[1], { identifier: chatId("1"), message: { echo: [1, "two"] } });
  });

  it("a message for an identifier not subscribed is reported and ignored", async () => {
    const { connect, errors } = makeCore();
    const { transport, connection } = await connect();
    connection.receive(performCmd(chatId("9"), { action: "speak" }));
    await flush();
    assert.deepEqual(transport.replies, []);
    assert.equal(errors[0].code, "UNKNOWN_SUBSCRIPTION");
  });

  it("an action that throws is reported; the connection goes on", async () => {
    const { connect, errors } = makeCore();
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    connection.receive(performCmd(chatId("1"), { action: "fail" }));
    connection.receive(performCmd(chatId("1"), { action: "echo", value: 1 }));
    await flush();
    assert.equal(errors[0].code, "HANDLER_ERROR");
    assert.deepEqual(transport.replies[1], { identifier: chatId("1"), message: { echo: 1 } });
    assert.equal(transport.closedWith, undefined);
  });

  it("plain-object channels work like classes", async () => {
    const { connect } = makeCore();
    const { transport, connection } = await connect();
    const id = '{"channel":"ObjectChannel"}';
    connection.receive(subscribeCmd(id));
    connection.receive(performCmd(id, { action: "ping" }));
    await flush();
    assert.deepEqual(transport.replies, [
      { identifier: id, type: "confirm_subscription" },
      { identifier: id, message: "pong" },
    ]);
  });
});

describe("unsubscribe and disconnect", () => {
  it("unsubscribe runs unsubscribed and stops the streams", async () => {
    const { connect, core } = makeCore();
    const { connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    await flush();
    assert.equal(core.hub.listenerCount("chat_1"), 1);
    connection.receive(unsubscribeCmd(chatId("1")));
    await flush();
    assert.deepEqual(events, ["subscribed:1", "unsubscribed:1"]);
    assert.equal(core.hub.streamCount, 0);
    assert.deepEqual(connection.identifiers, []);
  });

  it("unsubscribing an unknown identifier is reported and ignored", async () => {
    const { connect, errors } = makeCore();
    const { connection } = await connect();
    connection.receive(unsubscribeCmd(chatId("1")));
    await flush();
    assert.equal(errors[0].code, "UNKNOWN_SUBSCRIPTION");
  });

  it("a closed socket unsubscribes everything, once", async () => {
    const { connect, core } = makeCore();
    const { connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    connection.receive(subscribeCmd(chatId("2")));
    await flush();
    await Promise.all([connection.closed(), connection.closed()]);
    assert.deepEqual(events, ["subscribed:1", "subscribed:2", "unsubscribed:1", "unsubscribed:2"]);
    assert.equal(core.hub.streamCount, 0);
    assert.equal(core.connections.size, 0);
  });

  it("shutdown tells every client server_restart with reconnect, and closes", async () => {
    const { connect, core } = makeCore();
    const a = await connect();
    const b = await connect();
    a.connection.receive(subscribeCmd(chatId("1")));
    await flush();
    await core.shutdown();
    for (const { transport } of [a, b]) {
      assert.deepEqual(transport.messages.at(-1), { type: "disconnect", reason: "server_restart", reconnect: true });
      assert.deepEqual(transport.closedWith, { code: 1000, reason: "" });
    }
    assert.ok(events.includes("unsubscribed:1"));
  });

  it("disconnect(match) closes the connections of an identity with reason remote", async () => {
    const { connect, core } = makeCore({ authenticate: (req) => ({ name: req.headers["x-user"] }) });
    const ann = await connect({ headers: { "x-user": "ann" } });
    const bob = await connect({ headers: { "x-user": "bob" } });
    assert.equal(
      core.disconnect((id) => (id as { name: string }).name === "ann"),
      1,
    );
    assert.deepEqual(ann.transport.messages.at(-1), { type: "disconnect", reason: "remote", reconnect: true });
    assert.equal(bob.transport.closedWith, undefined);
  });
});

describe("malformed input is reported and ignored, never fatal", () => {
  it("each bad command yields one error and no reply; the connection still works", async () => {
    const { connect, errors } = makeCore();
    const { transport, connection } = await connect();
    const bad = [
      "garbage",
      "",
      "[]",
      "{}",
      '{"command":"subscribe"}',
      '{"command":"subscribe","identifier":"{\\"room\\":1}"}',
      '{"command":"message","identifier":"{\\"channel\\":\\"ChatChannel\\"}","data":7}',
      '{"command":"launch","identifier":"{\\"channel\\":\\"ChatChannel\\"}"}',
      "\u0000\uffff",
    ];
    for (const text of bad) connection.receive(text);
    await flush();
    assert.equal(errors.length, bad.length);
    assert.equal(transport.replies.length, 0);
    connection.receive(subscribeCmd(chatId("1")));
    await flush();
    assert.equal(transport.replies[0].type, "confirm_subscription");
    assert.equal(transport.closedWith, undefined);
  });
});
